//! `finflow trace <trace id>`: one request's cascade as a tree with timings, read from the
//! functions' JSON logs. Every line carries the trace id; events carry their causation id, so
//! the tree is rebuilt exactly: request → events it emitted → each consumer → events caused.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Line {
    at: OffsetDateTime,
    json: Value,
}

/// A text field of a line; span fields are on the line itself (`finflow_shared::telemetry::logs`).
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line[name].as_str()
}

/// Renders the cascade of `trace_id` found in `log` (JSON lines), or says it found nothing.
pub fn render(log: &str, trace_id: &str) -> Result<String, String> {
    let mut lines: Vec<Line> = log
        .lines()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|json| field(json, "traceId") == Some(trace_id))
        .filter_map(|json| {
            let at = OffsetDateTime::parse(json["timestamp"].as_str()?, &Rfc3339).ok()?;
            Some(Line { at, json })
        })
        .collect();
    lines.sort_by_key(|line| line.at);
    let start = lines
        .first()
        .ok_or_else(|| format!("no log line carries trace id {trace_id}"))?
        .at;
    let offset = |at: OffsetDateTime| format!("+{:.1} ms", (at - start).as_seconds_f64() * 1000.0);
    let mut out = format!("trace {trace_id}\n");
    for request in lines
        .iter()
        .filter(|l| l.json["message"] == "request handled")
    {
        out.push_str(&format!(
            "{} {} → {} ({:.1} ms) at {}\n",
            field(&request.json, "method").unwrap_or("?"),
            field(&request.json, "path").unwrap_or("?"),
            request.json["status"],
            request.json["latency_ms"].as_f64().unwrap_or_default(),
            offset(request.at)
        ));
    }
    // The relay publishes an event as soon as it is committed; the outbox sweeper publishes
    // one whose stream record was lost, late.
    let published: Vec<&Line> = lines
        .iter()
        .filter(|l| l.json["message"] == "event published" || l.json["message"] == "event swept")
        .collect();
    let roots: Vec<&&Line> = published
        .iter()
        .filter(|l| l.json["causation_id"].is_null())
        .collect();
    for (index, root) in roots.iter().enumerate() {
        render_event(
            &mut out,
            root,
            &published,
            &lines,
            "",
            index + 1 == roots.len(),
            &offset,
        );
    }
    Ok(out)
}

fn render_event(
    out: &mut String,
    event: &Line,
    published: &[&Line],
    lines: &[Line],
    indent: &str,
    last: bool,
    offset: &dyn Fn(OffsetDateTime) -> String,
) {
    let event_id = field(&event.json, "event_id").unwrap_or_default();
    let how = if event.json["message"] == "event swept" {
        "swept from the outbox of"
    } else {
        "published by"
    };
    out.push_str(&format!(
        "{indent}{} {} {how} {} at {} [{}]\n",
        if last { "└─" } else { "├─" },
        field(&event.json, "event_type").unwrap_or("?"),
        field(&event.json, "producer").unwrap_or("?"),
        offset(event.at),
        event_id
    ));
    let inner = format!("{indent}{}", if last { "   " } else { "│  " });
    let consumed: Vec<&Line> = lines
        .iter()
        .filter(|l| {
            l.json["message"] == "event consumed" && field(&l.json, "event_id") == Some(event_id)
        })
        .collect();
    let caused: Vec<&&Line> = published
        .iter()
        .filter(|l| l.json["causation_id"].as_str() == Some(event_id))
        .collect();
    for (index, consumption) in consumed.iter().enumerate() {
        let is_last = index + 1 == consumed.len() && caused.is_empty();
        out.push_str(&format!(
            "{inner}{} {}: {} at {}\n",
            if is_last { "└─" } else { "├─" },
            field(&consumption.json, "consumer").unwrap_or("?"),
            consumption.json["outcome"].as_str().unwrap_or("?"),
            offset(consumption.at)
        ));
    }
    for (index, child) in caused.iter().enumerate() {
        render_event(
            out,
            child,
            published,
            lines,
            &inner,
            index + 1 == caused.len(),
            offset,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"timestamp":"2026-11-24T16:46:47.400000Z","message":"request handled","status":201,"latency_ms":12.5,"method":"POST","path":"/api/kyc/submit","traceId":"t1"}
{"timestamp":"2026-11-24T16:46:47.450000Z","message":"event published","event_id":"e1","event_type":"kyc.decision_recorded","causation_id":null,"producer":"kyc","traceId":"t1"}
{"timestamp":"2026-11-24T16:46:47.470000Z","message":"event consumed","outcome":"Applied","consumer":"auth.kyc_decisions","event_id":"e1","traceId":"t1"}
{"timestamp":"2026-11-24T16:46:47.520000Z","message":"event published","event_id":"e2","event_type":"user.kyc_updated","causation_id":"e1","producer":"auth","traceId":"t1"}
{"timestamp":"2026-11-24T16:46:47.540000Z","message":"event consumed","outcome":"Applied","consumer":"wallet.customers","event_id":"e2","traceId":"t1"}
{"timestamp":"2026-11-24T16:46:47.900000Z","message":"request handled","status":200,"latency_ms":1.0,"method":"GET","path":"/health","traceId":"other"}"#;

    #[test]
    fn rebuilds_the_cascade_from_causation_ids() {
        let tree = render(LOG, "t1").unwrap();
        let expected = "trace t1
POST /api/kyc/submit → 201 (12.5 ms) at +0.0 ms
└─ kyc.decision_recorded published by kyc at +50.0 ms [e1]
   ├─ auth.kyc_decisions: Applied at +70.0 ms
   └─ user.kyc_updated published by auth at +120.0 ms [e2]
      └─ wallet.customers: Applied at +140.0 ms
";
        assert_eq!(tree, expected);
        assert!(render(LOG, "missing").is_err());
    }

    #[test]
    fn an_event_the_sweeper_published_late_is_in_the_tree() {
        let log = r#"{"timestamp":"2026-11-24T16:46:47.400000Z","message":"request handled","status":201,"latency_ms":3.0,"method":"POST","path":"/api/auth/register","traceId":"t2"}
{"timestamp":"2026-11-24T16:46:57.400000Z","message":"event swept","event_id":"e9","event_type":"user.created","causation_id":null,"producer":"auth","traceId":"t2"}
{"timestamp":"2026-11-24T16:46:57.450000Z","message":"event consumed","outcome":"Applied","consumer":"wallet.customers","event_id":"e9","traceId":"t2"}"#;
        let tree = render(log, "t2").unwrap();
        assert!(
            tree.contains("└─ user.created swept from the outbox of auth at +10000.0 ms [e9]\n   └─ wallet.customers: Applied"),
            "{tree}"
        );
    }
}
