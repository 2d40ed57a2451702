//! One trace id follows a request through every event hop: a KYC submission started with a
//! caller's `traceparent` is found, by that id, in every service's log lines down to wallet,
//! payment and reporting, each event linked to the one that caused it.

use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::wallets::KYC;
use finflow_system_tests::{Platform, eventually, expect_json, log_field, register_and_login};
use serde_json::{Value, json};

#[tokio::test]
async fn a_kyc_submission_is_followed_by_its_trace_id_through_every_hop() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "traced").await;
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let response = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&account.access_token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "user_id": account.id, "document_type": "passport", "document_url": "https://example.com/passport.jpg" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-trace-id"], trace_id.as_str());
    expect_json(response, 201).await;

    let consumed_by = |lines: &[Value], event_id: &str, consumer: &str| {
        lines.iter().any(|l| {
            l["message"] == "event consumed"
                && log_field(l, "event_id") == Some(event_id)
                && log_field(l, "consumer") == Some(consumer)
        })
    };
    let (lines, lag) = eventually(
        "the cascade to reach wallet, payment and reporting under one trace id",
        CASCADE_TIMEOUT,
        || async {
            let lines: Vec<Value> = platform
                .runner_log()
                .into_iter()
                .filter(|l| log_field(l, "traceId") == Some(trace_id.as_str()))
                .collect();
            let updated = lines.iter().find(|l| {
                l["message"] == "event published" && l["event_type"] == "user.kyc_updated"
            })?;
            let id = updated["event_id"].as_str()?;
            [
                "wallet.customers",
                "payment.customers",
                "reporting.projector",
            ]
            .iter()
            .all(|consumer| consumed_by(&lines, id, consumer))
            .then_some(lines)
        },
    )
    .await;
    println!(
        "trace {trace_id} crossed kyc → auth → wallet, payment, reporting in {lag:?} ({} log lines)",
        lines.len()
    );

    let published = |event_type: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "event published" && l["event_type"] == event_type)
            .unwrap_or_else(|| panic!("{event_type} is logged under the trace"))
    };
    let decision = published("kyc.decision_recorded");
    assert!(
        decision["causation_id"].is_null(),
        "the request starts the chain: {decision}"
    );
    let decision_id = decision["event_id"].as_str().unwrap();
    assert!(consumed_by(&lines, decision_id, "auth.kyc_decisions"));
    assert!(
        consumed_by(&lines, decision_id, "reporting.projector"),
        "reporting counts the decision in its KYC funnel"
    );
    let updated = published("user.kyc_updated");
    assert_eq!(
        updated["causation_id"], decision_id,
        "auth's event names the decision that caused it"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "request handled"
            && log_field(l, "path") == Some("/api/kyc/submit"))
    );
}
