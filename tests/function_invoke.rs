//! Every function of template.yaml, invoked with its payload from `events/invoke/` as
//! `finflow invoke <LogicalId> -e events/invoke/<LogicalId>.json` does: its own bootstrap
//! under the Runtime Interface Emulator, with its manifest environment, against the running
//! platform's emulator. Each answer is checked; a function without a payload fails the test.

use std::path::{Path, PathBuf};

use aws_lambda_events::sqs::SqsBatchResponse;
use aws_lambda_events::streams::DynamoDbEventResponse;
use finflow_system_tests::Platform;
use serde_json::Value;

const PAYLOADS: &str = "events/invoke";

/// The status each HTTP payload gets: health routes answer 200; the others are requests
/// without a token (401), except the public ones.
fn expected_status(logical_id: &str) -> u16 {
    match logical_id {
        id if id.ends_with("HealthFunction") => 200,
        // GET /api/wallet/config/precision and GET /dashboard are public.
        "WalletApiFunction" | "ReportingApiFunction" => 200,
        // AuthSessionFunction's is a multipart (`-F`) login of an unknown user: 401 once its
        // base64 body reached the handler (a body it could not read would be a 4xx of its own).
        _ => 401,
    }
}

/// Whether the consumer reports its payload's one message as failed: the events about a
/// user or payment the platform does not know fail (and would be redelivered), which proves
/// the partial batch response travels through the runtime with the message's id.
fn expected_item_failure(logical_id: &str) -> bool {
    matches!(
        logical_id,
        "AuthKycEventsFunction" | "PaymentAmlEventsFunction"
    )
}

fn manifest_path() -> PathBuf {
    std::env::var("FINFLOW_MANIFEST")
        .unwrap_or_else(|_| "infra/.state/stack.json".into())
        .into()
}

#[tokio::test]
async fn every_function_answers_its_invocation_payload() {
    let platform = Platform::connect().await;
    let mut missing = Vec::new();
    for logical_id in platform.manifest.functions.keys() {
        if !Path::new(PAYLOADS)
            .join(format!("{logical_id}.json"))
            .is_file()
        {
            missing.push(logical_id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "functions of template.yaml without a payload in {PAYLOADS}/: {missing:?}"
    );
    for entry in std::fs::read_dir(PAYLOADS).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let logical_id = name.trim_end_matches(".json");
        assert!(
            platform.manifest.functions.contains_key(logical_id),
            "{PAYLOADS}/{name} names no function of template.yaml"
        );
    }

    let mut wrong = Vec::new();
    for (logical_id, function) in &platform.manifest.functions {
        let path = Path::new(PAYLOADS).join(format!("{logical_id}.json"));
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let answer = match finflow_local::lambda::invoke_once(
            &manifest_path(),
            logical_id,
            &event,
            Path::new("infra/.sam-venv"),
        )
        .await
        {
            Ok(answer) => answer,
            Err(error) => {
                wrong.push(format!("{logical_id}: {error}"));
                continue;
            }
        };
        println!("{logical_id}: {answer}");
        if let Err(problem) = check(logical_id, function, &event, &answer) {
            wrong.push(format!("{logical_id}: {problem}: {answer}"));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}

/// Whether `answer` is what `logical_id` should answer to its payload `event`.
fn check(
    logical_id: &str,
    function: &finflow_system_tests::Function,
    event: &Value,
    answer: &Value,
) -> Result<(), String> {
    if !function.http_routes.is_empty() {
        let status = answer["statusCode"].as_u64().unwrap_or_default();
        let expected = u64::from(expected_status(logical_id));
        if status != expected {
            return Err(format!("status {status}, expected {expected}"));
        }
        if !answer["headers"]["content-type"].is_string() {
            return Err("no content-type".into());
        }
    } else if !function.sqs_sources.is_empty() {
        let response: SqsBatchResponse = serde_json::from_value(answer.clone())
            .map_err(|e| format!("not an SQS batch response: {e}"))?;
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        let expected: Vec<String> = if expected_item_failure(logical_id) {
            vec![
                event["Records"][0]["messageId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ]
        } else {
            Vec::new()
        };
        if failed != expected {
            return Err(format!(
                "batchItemFailures {failed:?}, expected {expected:?}"
            ));
        }
    } else if function.authorizer {
        // A token that does not verify: let through (the function answers 401), no role.
        if answer["isAuthorized"] != true || answer["context"].get("role").is_some() {
            return Err("expected isAuthorized without a role".into());
        }
    } else if event.get("Records").is_some() {
        let response: DynamoDbEventResponse = serde_json::from_value(answer.clone())
            .map_err(|e| format!("not a stream batch response: {e}"))?;
        if !response.batch_item_failures.is_empty() {
            return Err("the relay failed its records".into());
        }
    } else {
        // The sweeper's report.
        for figure in ["swept", "unreadable", "failed"] {
            if !answer[figure].is_u64() {
                return Err(format!("no {figure} in the sweep report"));
            }
        }
    }
    Ok(())
}

/// The runner starts one environment of every function before it reports ready (its first,
/// `<LogicalId>#1`), and each cold start's `REPORT` line carries Lambda's `Init Duration`.
#[tokio::test]
async fn every_function_started_cold_once_when_the_platform_started_and_logged_its_init() {
    let platform = Platform::connect().await;
    let log = platform.runner_log();
    assert!(
        log.iter().any(|line| line["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("every function has one warm execution environment"))),
        "the runner logs when every function has started"
    );
    let mut not_reported = Vec::new();
    for logical_id in platform.manifest.functions.keys() {
        let first = format!("{logical_id}#1");
        let reported = log.iter().any(|line| {
            line["environment"] == first.as_str()
                && line["init_duration_ms"].as_f64().is_some_and(|ms| ms > 0.0)
                && line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Init Duration:"))
        });
        if !reported {
            not_reported.push(first);
        }
    }
    assert!(
        not_reported.is_empty(),
        "no cold start with its Init Duration in the log for {not_reported:?}"
    );
}
