//! The runner's fault switches: AWS faults in the functions' calls (`/faults/aws`, see
//! `finflow_shared::aws_faults`) and consumer crashes (`/faults/consumers`).

use serde_json::{Value, json};

use crate::Platform;

/// Arms `plan` for every function; the faults go on until [`disarm`].
pub async fn arm(platform: &Platform, plan: Value) {
    let response = platform
        .http
        .put(format!("{}/faults/aws", platform.control_url))
        .json(&plan)
        .send()
        .await
        .expect("the runner's control port answers");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

pub async fn disarm(platform: &Platform) {
    let response = platform
        .http
        .delete(format!("{}/faults/aws", platform.control_url))
        .send()
        .await
        .expect("the runner's control port answers");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// One rule aimed at one function's calls of one operation, firing on every call until it has
/// fired `times` times.
pub fn only(function: &str, operation: &str, fault: &str, times: u64) -> Value {
    json!({
        "seed": 1,
        "rules": [{
            "function": function,
            "operation": operation,
            "fault": fault,
            "probability": 1.0,
            "max": times,
        }],
    })
}

/// The faults the functions logged as injected: (function, operation, fault).
pub fn injected(platform: &Platform) -> Vec<(String, String, String)> {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "aws fault injected")
        .map(|line| {
            let field = |name: &str| line[name].as_str().unwrap_or_default().to_owned();
            (field("function"), field("operation"), field("fault"))
        })
        .collect()
}

/// How many faults `function` met in `operation` so far.
pub fn injected_into(platform: &Platform, function: &str, operation: &str) -> usize {
    injected(platform)
        .iter()
        .filter(|(f, o, _)| f == function && o == operation)
        .count()
}

/// Consumers crash after running a batch with `crash_probability` (the runner discards their
/// answer and deletes nothing, so the batch is delivered again), on `seed`'s schedule.
pub async fn crash_consumers(platform: &Platform, seed: u64, crash_probability: f64) {
    let response = platform
        .http
        .put(format!("{}/faults/consumers", platform.control_url))
        .json(&json!({ "seed": seed, "crash_probability": crash_probability }))
        .send()
        .await
        .expect("the runner's control port answers");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

pub async fn stop_crashing_consumers(platform: &Platform) {
    let response = platform
        .http
        .delete(format!("{}/faults/consumers", platform.control_url))
        .send()
        .await
        .expect("the runner's control port answers");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// How many consumer crashes the runner injected so far.
pub fn consumer_crashes(platform: &Platform) -> usize {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "consumer crash injected")
        .count()
}
