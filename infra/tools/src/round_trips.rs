//! The AWS round trips of a platform's requests, per route, from the functions' JSON logs:
//! each function logs the calls a request made on its `request handled` line
//! (`finflow_shared::round_trips`), so the figures are counts, not timings.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// One line per route (ids in the path become `{id}`): how many requests, and the AWS calls
/// each made, in all and one after another (median and most).
pub fn table(log: &str) -> String {
    let mut routes: BTreeMap<String, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
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
        let (all, chain) = routes.entry(route).or_default();
        all.push(calls);
        chain.push(sequential);
    }
    let mut out = String::from(
        "AWS round trips per request (counted by the functions)\n  request                                          n   calls p50/max   sequential p50/max\n",
    );
    for (route, (mut all, mut chain)) in routes {
        all.sort_unstable();
        chain.sort_unstable();
        let median = |v: &[u64]| v[(v.len() - 1) / 2];
        let _ = writeln!(
            out,
            "  {route:<44} {:>5}   {:>5}/{:<5}   {:>5}/{}",
            all.len(),
            median(&all),
            all[all.len() - 1],
            median(&chain),
            chain[chain.len() - 1],
        );
    }
    out
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
        assert_eq!(deposit[2..], ["2", "4/6", "2/3"], "{table}");
        assert!(table.contains("POST /api/payment/transfer"), "{table}");
    }
}
