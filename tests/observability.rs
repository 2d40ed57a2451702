//! What an operator reads in CloudWatch, read here from the functions' own output (the
//! runner's log holds every function's stdout, as CloudWatch Logs would):
//! - every line a function writes while handling a request is Lambda's JSON format with the
//!   invocation's `requestId`, the request's `traceId` and, on a money movement, the client's
//!   `idempotencyKey`, each at the top level (`finflow_shared::telemetry::logs`);
//! - the embedded-metric lines (`finflow_shared::telemetry::metrics`) are valid EMF and carry
//!   transfers by currency and status, refusals by reason, cascade lag and cold starts, each
//!   attributable to the invocation that recorded it.

use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::payments::{funded_wallet, transfer};
use finflow_system_tests::{Platform, eventually, expect_json, expect_problem, log_field};
use serde_json::{Value, json};

fn trace_id_of(response: &reqwest::Response) -> String {
    response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The invocation that handled the request traced `trace_id`, by its `request handled` line.
async fn request_id_of(platform: &Platform, trace_id: &str) -> String {
    let (request_id, _) = eventually("the request's log line", CASCADE_TIMEOUT, || async {
        platform.runner_log().into_iter().find_map(|line| {
            (line["message"] == "request handled" && log_field(&line, "traceId") == Some(trace_id))
                .then(|| log_field(&line, "requestId").map(str::to_owned))
                .flatten()
        })
    })
    .await;
    request_id
}

/// Holds what CloudWatch needs of an EMF line: every metric named has a value, every dimension
/// a text value, in namespace FinFlow with Service and Stage first.
fn assert_valid_emf(line: &Value) {
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert!(line["_aws"]["Timestamp"].is_u64(), "{line}");
    assert_eq!(directive["Namespace"], "FinFlow", "{line}");
    let dimensions = directive["Dimensions"][0]
        .as_array()
        .expect("one dimension set");
    assert_eq!(
        &dimensions[..2],
        &[json!("Service"), json!("Stage")],
        "{line}"
    );
    for dimension in dimensions {
        assert!(
            line[dimension.as_str().unwrap()].is_string(),
            "{dimension} in {line}"
        );
    }
    for metric in directive["Metrics"].as_array().expect("metrics") {
        let name = metric["Name"].as_str().unwrap();
        assert!(
            line[name].is_number() || line[name].is_array(),
            "{name} in {line}"
        );
    }
}

/// The EMF lines an invocation wrote that record `metric`.
fn metric_lines(platform: &Platform, request_id: &str, metric: &str) -> Vec<Value> {
    platform
        .runner_log()
        .into_iter()
        .filter(|line| line.get("_aws").is_some() && line[metric] != Value::Null)
        .filter(|line| line["requestId"] == request_id)
        .collect()
}

#[tokio::test]
async fn every_line_of_a_transfer_carries_its_request_id_trace_id_and_idempotency_key() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "logged-payer", "USD", "50").await;
    let (_, to) = funded_wallet(&platform, "logged-payee", "USD", "0").await;
    let key = format!("logged-{}", uuid::Uuid::new_v4());
    let response = transfer(&platform, &payer, from, to, json!("12.50"), Some(&key)).await;
    let trace_id = trace_id_of(&response);
    expect_json(response, 201).await;
    let request_id = request_id_of(&platform, &trace_id).await;

    let lines: Vec<Value> = platform
        .runner_log()
        .into_iter()
        .filter(|line| log_field(line, "requestId") == Some(request_id.as_str()))
        .filter(|line| line.get("_aws").is_none())
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages.contains(&"transfer recorded") && messages.contains(&"request handled"),
        "the invocation's lines: {messages:?}"
    );
    for line in &lines {
        assert_eq!(
            log_field(line, "traceId"),
            Some(trace_id.as_str()),
            "{line}"
        );
        assert_eq!(
            log_field(line, "idempotencyKey"),
            Some(key.as_str()),
            "{line}"
        );
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
        assert_eq!(line["service"], "payment", "{line}");
    }
}

#[tokio::test]
async fn transfers_refusals_and_cascade_lag_are_embedded_metrics_of_the_invocation_that_saw_them() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "metered-payer", "USD", "30").await;
    let (_, to) = funded_wallet(&platform, "metered-payee", "USD", "0").await;

    let completed = transfer(&platform, &payer, from, to, json!("10.25"), None).await;
    let trace_id = trace_id_of(&completed);
    expect_json(completed, 201).await;
    let request_id = request_id_of(&platform, &trace_id).await;
    let (transfers, _) = eventually("the transfer's metrics", CASCADE_TIMEOUT, || async {
        metric_lines(&platform, &request_id, "Transfers")
            .into_iter()
            .next()
    })
    .await;
    assert_valid_emf(&transfers);
    assert_eq!(
        (
            &transfers["Service"],
            &transfers["Currency"],
            &transfers["Status"]
        ),
        (&json!("payment"), &json!("USD"), &json!("COMPLETED")),
        "{transfers}"
    );
    assert_eq!(transfers["Transfers"], 1, "{transfers}");
    assert_eq!(transfers["TransferAmount"], json!([10.25]), "{transfers}");

    let refused = transfer(&platform, &payer, from, to, json!("500"), None).await;
    let refused_trace = trace_id_of(&refused);
    expect_problem(refused, 400).await;
    let refused_request = request_id_of(&platform, &refused_trace).await;
    let (refusal, _) = eventually("the refusal's metric", CASCADE_TIMEOUT, || async {
        metric_lines(&platform, &refused_request, "TransferRefusals")
            .into_iter()
            .next()
    })
    .await;
    assert_valid_emf(&refusal);
    assert_eq!(refusal["Reason"], "insufficient_funds", "{refusal}");

    // Reporting applies payment.completed under the transfer's trace id, in its own invocation.
    let (lag, _) = eventually("reporting's cascade lag", CASCADE_TIMEOUT, || async {
        let consumed = platform.runner_log().into_iter().find(|line| {
            line["message"] == "event consumed"
                && log_field(line, "traceId") == Some(trace_id.as_str())
                && log_field(line, "consumer") == Some("reporting.projector")
                && log_field(line, "event_type") == Some("payment.completed")
        })?;
        let invocation = log_field(&consumed, "requestId")?;
        metric_lines(&platform, invocation, "CascadeLag")
            .into_iter()
            .find(|line| line["Consumer"] == "reporting.projector")
    })
    .await;
    assert_valid_emf(&lag);
    assert_eq!(lag["EventType"], "payment.completed", "{lag}");
    let millis = lag["CascadeLag"].as_array().expect("a histogram")[0]
        .as_f64()
        .unwrap();
    assert!(
        (0.0..CASCADE_TIMEOUT.as_millis() as f64).contains(&millis),
        "{lag}"
    );

    let cold_starts: Vec<Value> = platform
        .runner_log()
        .into_iter()
        .filter(|line| line["ColdStart"] == 1 && line["Service"] == "payment")
        .collect();
    assert!(!cold_starts.is_empty(), "payment's functions started cold");
    cold_starts.iter().for_each(assert_valid_emf);
}
