//! The AWS round trips of a platform's requests, per route, from the functions' JSON logs:
//! each function logs the calls a request made on its `request handled` line
//! (`finflow_shared::round_trips`), so the counts are exact. The same line gives the time the
//! handler took and the time it spent waiting on AWS (the emulator, locally): what is left of
//! a client's latency beyond the handler is the gateway's, the authorizer's and the Runtime
//! API's.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// What the requests of one route made and took.
#[derive(Default)]
struct Route {
    calls: Vec<u64>,
    sequential: Vec<u64>,
    handler_ms: Vec<f64>,
    on_aws_ms: Vec<f64>,
}

/// One line per route (ids in the path become `{id}`): how many requests; the AWS calls each
/// made, in all and one after another (median and most); the handler's time and the part of it
/// with an AWS call in flight (medians).
pub fn table(log: &str) -> String {
    let mut routes: BTreeMap<String, Route> = BTreeMap::new();
    for line in log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        if line["message"] != "request handled" {
            continue;
        }
        let (Some(calls), Some(sequential)) =
            (line["aws_calls"].as_u64(), line["aws_sequential"].as_u64())
        else {
            continue;
        };
        let field = |name: &str| line[name].as_str().unwrap_or_default().to_owned();
        let route = format!("{} {}", field("method"), route_of(&field("path")));
        let figures = routes.entry(route).or_default();
        figures.calls.push(calls);
        figures.sequential.push(sequential);
        figures
            .handler_ms
            .push(line["latency_ms"].as_f64().unwrap_or_default());
        figures.on_aws_ms.push(time_on_aws(
            line["aws_timeline"].as_str().unwrap_or_default(),
        ));
    }
    let mut out = String::from(
        "AWS round trips and time per request (counted and timed by the functions)\n  request                                          n   calls p50/max   sequential p50/max   handler p50   on AWS p50\n",
    );
    for (route, mut figures) in routes {
        figures.calls.sort_unstable();
        figures.sequential.sort_unstable();
        figures.handler_ms.sort_unstable_by(f64::total_cmp);
        figures.on_aws_ms.sort_unstable_by(f64::total_cmp);
        let (all, chain) = (&figures.calls, &figures.sequential);
        let _ = writeln!(
            out,
            "  {route:<44} {:>5}   {:>5}/{:<5}   {:>5}/{:<12} {:>8.1} ms  {:>8.1} ms",
            all.len(),
            median(all),
            all[all.len() - 1],
            median(chain),
            chain[chain.len() - 1],
            median(&figures.handler_ms),
            median(&figures.on_aws_ms),
        );
    }
    out
}

fn median<T: Copy>(sorted: &[T]) -> T {
    sorted[(sorted.len() - 1) / 2]
}

/// The milliseconds during which at least one call of an `aws_timeline`
/// (`operation@start+duration ...`) was in flight: calls made at once count once.
fn time_on_aws(timeline: &str) -> f64 {
    let mut spans: Vec<(f64, f64)> = timeline
        .split_whitespace()
        .filter_map(|call| {
            let (start, duration) = call.rsplit_once('@')?.1.split_once('+')?;
            let start: f64 = start.parse().ok()?;
            Some((start, start + duration.parse::<f64>().ok()?))
        })
        .collect();
    spans.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut reach = f64::NEG_INFINITY;
    for (start, end) in spans {
        total += (end - start.max(reach)).max(0.0);
        reach = reach.max(end);
    }
    total
}

/// `path` with every segment of digits as `{id}`.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_grouped_by_route_with_their_calls() {
        let line = |path: &str, calls: u64, sequential: u64| {
            serde_json::json!({
                "message": "request handled", "aws_calls": calls, "aws_sequential": sequential,
                "method": "POST", "path": path,
            })
            .to_string()
        };
        let log = [
            line("/api/wallet/7/deposit", 4, 2),
            line("/api/wallet/12/deposit", 6, 3),
            line("/api/payment/transfer", 7, 3),
            "not json".to_owned(),
            r#"{"message": "event consumed"}"#.to_owned(),
        ]
        .join("\n");
        let table = table(&log);
        let deposit: Vec<&str> = table
            .lines()
            .find(|line| line.contains("POST /api/wallet/{id}/deposit"))
            .expect("the deposits' line")
            .split_whitespace()
            .collect();
        assert_eq!(deposit[2..5], ["2", "4/6", "2/3"], "{table}");
        assert!(table.contains("POST /api/payment/transfer"), "{table}");
    }

    #[test]
    fn calls_in_flight_together_count_once() {
        let timeline = "dynamodb:PutItem@0.0+2.0 dynamodb:GetItem@3.0+5.0 \
                        dynamodb:Query@4.0+2.0 dynamodb:GetItem@6.0+4.0 \
                        dynamodb:TransactWriteItems@12.5+3.5";
        // 0–2, then 3–10 (three calls overlapping), then 12.5–16.
        assert_eq!(time_on_aws(timeline), 2.0 + 7.0 + 3.5);
        assert_eq!(time_on_aws(""), 0.0);
    }
}
