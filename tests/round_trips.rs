//! How many AWS calls a request waits for, one after another, counted exactly: every function
//! logs its calls on the request's `request handled` line (`finflow_shared::round_trips`). On
//! AWS each call costs milliseconds, so this count, not an emulator's timing, is the latency
//! a user would see. A transfer reads what it decides on and takes its payment id together,
//! then commits: two round trips, three with an idempotency key (claimed first).
//!
//! The emulator answers in about a millisecond, no longer than a debug build takes to prepare
//! a request, so calls sent together would not always overlap; AWS takes milliseconds per call.
//! The test gives payment's DynamoDB calls AWS's order of latency (the fault layer's `slow`,
//! 25 ms each), so what counts is only which calls wait for which.

use finflow_system_tests::faults;
use finflow_system_tests::payments::{funded_wallet, transfer};
use finflow_system_tests::{Platform, eventually, expect_json, log_field};
use serde_json::{Value, json};
use std::time::Duration;

/// The `request handled` line of the request whose trace id is `trace_id`.
async fn handled(platform: &Platform, trace_id: &str) -> Value {
    let (line, _) = eventually(
        "the request's log line",
        Duration::from_secs(10),
        || async {
            platform.runner_log().into_iter().find(|line| {
                line["message"] == "request handled" && log_field(line, "traceId") == Some(trace_id)
            })
        },
    )
    .await;
    line
}

async fn round_trips(platform: &Platform, response: reqwest::Response) -> (u64, Vec<String>) {
    let trace_id = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    expect_json(response, 201).await;
    let line = handled(platform, &trace_id).await;
    // `operation@start+duration` each, in the order they started.
    let operations = line["aws_timeline"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(|call| call.split('@').next().unwrap_or(call).to_owned())
        .collect();
    (line["aws_sequential"].as_u64().unwrap(), operations)
}

#[tokio::test]
async fn a_transfer_waits_for_two_aws_round_trips_and_three_with_an_idempotency_key() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "trips-payer", "USD", "100").await;
    let (_, to) = funded_wallet(&platform, "trips-payee", "USD", "0").await;

    faults::arm(
        &platform,
        json!({ "seed": 1, "rules": [{
            "function": "PaymentApiFunction", "operation": "dynamodb:*", "fault": "slow",
            "probability": 1.0, "delay_ms": 25,
        }]}),
    )
    .await;
    let unkeyed = transfer(&platform, &payer, from, to, json!("1.00"), None).await;
    let key = uuid::Uuid::new_v4().to_string();
    let keyed = transfer(&platform, &payer, from, to, json!("1.00"), Some(&key)).await;
    faults::disarm(&platform).await;

    let commits = |operations: &[String]| {
        operations
            .iter()
            .filter(|o| *o == "dynamodb:TransactWriteItems")
            .count()
    };
    let (sequential, operations) = round_trips(&platform, unkeyed).await;
    assert!(
        sequential <= 2,
        "{sequential} sequential calls: {operations:?}"
    );
    assert_eq!(commits(&operations), 1, "{operations:?}");
    let (sequential, operations) = round_trips(&platform, keyed).await;
    assert!(
        sequential <= 3,
        "{sequential} sequential calls: {operations:?}"
    );
    assert_eq!(commits(&operations), 1, "{operations:?}");
}
