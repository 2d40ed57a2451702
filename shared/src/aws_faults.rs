//! Injected AWS faults: the failures AWS has and emulators never produce, on a seeded,
//! replayable schedule. For the simulation and reliability tests; never on AWS.
//!
//! The layer is an HTTP connector wrapped around the SDK's own, so a fault happens where it
//! happens on AWS, between the SDK and the service: the SDK's retries, its error
//! classification and every caller's handling run exactly as they would against AWS. What it
//! can do to one call (one HTTP attempt; the SDK's retries are attempts of their own):
//!
//! | fault | sent? | what the caller sees |
//! |---|---|---|
//! | `error_before_send` | no | a connection error |
//! | `commit_then_lose` | yes, applied | a 500, a timeout or a reset connection (`lose_as`, or the seed picks) |
//! | `throttle` | no | `ProvisionedThroughputExceededException` (DynamoDB), `ThrottlingException` (EventBridge, SQS), `Throttling` (SNS) |
//! | `transaction_conflict` | no | `TransactionCanceledException` with a `TransactionConflict` reason (TransactWriteItems only) |
//! | `slow` | yes, applied | the real answer, `delay_ms` (default 250) later |
//! | `partial_failure` | yes, applied | PutEvents answered with its first entry failed |
//!
//! Off unless the process environment names a plan file in `FINFLOW_FAULTS` (the local runner
//! sets it for the functions it runs; template.yaml never does). The file is read again when it
//! changes, so a long-running platform is armed and disarmed by rewriting it; a missing file
//! means no faults. The plan:
//!
//! ```json
//! {"seed": 42, "rules": [{"operation": "dynamodb:TransactWriteItems", "fault": "commit_then_lose",
//!   "probability": 0.2, "max": 3}]}
//! ```
//!
//! `operation` is `service:Operation` (service: dynamodb, events, sqs, sns), either side may be
//! `*`; an optional `function` names the function whose calls the rule targets (its name, or
//! a prefix ending in `*`; locally the template's logical id). Whether call number *n* of an
//! operation in this process meets a rule is a pure function of (seed, rule, operation, n), so
//! a sequential workload replays its faults exactly. `max` caps how often a rule fires in one
//! process. Every injected fault is logged as "aws fault injected" with the function, the
//! operation and the fault.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde::{Deserialize, Serialize};

use crate::aws_http::{Operation, http_client_of};

/// The environment variable that names the plan file.
pub const ENV: &str = "FINFLOW_FAULTS";

const DEFAULT_SLOW: Duration = Duration::from_millis(250);

/// What to do to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    ErrorBeforeSend,
    CommitThenLose,
    Throttle,
    TransactionConflict,
    Slow,
    PartialFailure,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::ErrorBeforeSend => "error_before_send",
            Fault::CommitThenLose => "commit_then_lose",
            Fault::Throttle => "throttle",
            Fault::TransactionConflict => "transaction_conflict",
            Fault::Slow => "slow",
            Fault::PartialFailure => "partial_failure",
        }
    }

    /// Faults that only make sense for one operation.
    fn applies_to(self, operation: &Operation) -> bool {
        match self {
            Fault::TransactionConflict => {
                operation.service == "dynamodb" && operation.name == "TransactWriteItems"
            }
            Fault::PartialFailure => operation.service == "events" && operation.name == "PutEvents",
            _ => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The function whose calls it targets; every function when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub operation: String,
    pub fault: Fault,
    /// Chance per call, 0 to 1.
    pub probability: f64,
    /// At most this many firings per process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// How `commit_then_lose` loses the answer; the seed picks when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lose_as: Option<LostAnswer>,
}

/// How an applied call's answer is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostAnswer {
    /// The service answers 500 after applying the request.
    InternalError,
    /// No answer comes before the client's timeout.
    Timeout,
    /// The connection is reset before the answer arrives.
    Reset,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    pub seed: u64,
    pub rules: Vec<FaultRule>,
}

/// A decision for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decision {
    fault: Fault,
    lost_as: LostAnswer,
    delay: Duration,
}

fn function_matches(pattern: Option<&str>, function: Option<&str>) -> bool {
    match (pattern, function) {
        (None | Some("*"), _) => true,
        (Some(pattern), Some(function)) => match pattern.strip_suffix('*') {
            Some(prefix) => function.starts_with(prefix),
            None => pattern == function,
        },
        (Some(_), None) => false,
    }
}

/// The plan and what this process (or function) has done with it.
#[derive(Debug, Default)]
struct Schedule {
    plan: FaultPlan,
    function: Option<String>,
    calls: HashMap<String, u64>,
    fired: HashMap<usize, u64>,
}

impl Schedule {
    fn new(plan: FaultPlan, function: Option<String>) -> Self {
        Schedule {
            plan,
            function,
            ..Schedule::default()
        }
    }

    /// Whether this call meets a fault: the first rule, in order, whose draw falls under its
    /// probability and which has firings left.
    fn decide(&mut self, operation: &Operation) -> Option<Decision> {
        let key = operation.to_string();
        let call = {
            let count = self.calls.entry(key.clone()).or_default();
            *count += 1;
            *count
        };
        for (index, rule) in self.plan.rules.iter().enumerate() {
            if !operation.matches(&rule.operation)
                || !rule.fault.applies_to(operation)
                || !function_matches(rule.function.as_deref(), self.function.as_deref())
            {
                continue;
            }
            let draw = mix(&[self.plan.seed, index as u64, hash_str(&key), call]);
            if unit(draw) >= rule.probability {
                continue;
            }
            let fired = self.fired.entry(index).or_default();
            if rule.max.is_some_and(|max| *fired >= max) {
                continue;
            }
            *fired += 1;
            let lost_as = rule.lose_as.unwrap_or(match mix(&[draw, 1]) % 3 {
                0 => LostAnswer::InternalError,
                1 => LostAnswer::Timeout,
                _ => LostAnswer::Reset,
            });
            return Some(Decision {
                fault: rule.fault,
                lost_as,
                delay: rule.delay_ms.map_or(DEFAULT_SLOW, Duration::from_millis),
            });
        }
        None
    }
}

/// SplitMix64 over a few words: a stable, well-spread hash (no std hasher, whose output may
/// change between Rust releases and would break replays).
fn mix(words: &[u64]) -> u64 {
    words.iter().fold(0x9E37_79B9_7F4A_7C15, |state, word| {
        let mut z = state ^ word.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

fn hash_str(text: &str) -> u64 {
    // FNV-1a: stable across releases.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A draw in [0, 1).
fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// Draw number `n` for `label` under `seed`, in [0, 1): the same schedule the AWS faults use,
/// for other injected faults (the local runner's consumer crashes).
pub fn draw(seed: u64, label: &str, n: u64) -> f64 {
    unit(mix(&[seed, hash_str(label), n]))
}

/// The plan file, read again whenever it changes.
#[derive(Debug)]
struct PlanFile {
    path: PathBuf,
    function: Option<String>,
    state: Mutex<(Option<SystemTime>, Schedule)>,
}

impl PlanFile {
    fn new(path: PathBuf, function: Option<String>) -> Self {
        PlanFile {
            path,
            function,
            state: Mutex::new((None, Schedule::default())),
        }
    }

    fn decide(&self, operation: &Operation) -> Option<Decision> {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 != modified {
            state.0 = modified;
            state.1 = Schedule::new(read_plan(&self.path), self.function.clone());
        }
        state.1.decide(operation)
    }
}

fn read_plan(path: &Path) -> FaultPlan {
    let Ok(text) = std::fs::read_to_string(path) else {
        return FaultPlan::default();
    };
    serde_json::from_str(&text).unwrap_or_else(|error| {
        tracing::error!(path = %path.display(), %error, "unreadable fault plan; no faults");
        FaultPlan::default()
    })
}

/// `config` with every AWS call of `function` going through the plan in `plan_file`.
pub fn inject(config: SdkConfig, plan_file: PathBuf, function: Option<String>) -> SdkConfig {
    let inner = http_client_of(&config);
    let client = FaultyHttpClient {
        inner,
        plan: Arc::new(PlanFile::new(plan_file, function)),
    };
    config
        .into_builder()
        .http_client(SharedHttpClient::new(client))
        .build()
}

#[derive(Debug)]
struct FaultyHttpClient {
    inner: SharedHttpClient,
    plan: Arc<PlanFile>,
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: Arc<PlanFile>,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(operation) = Operation::of(&request) else {
            return self.inner.call(request);
        };
        let Some(decision) = self.plan.decide(&operation) else {
            return self.inner.call(request);
        };
        tracing::warn!(
            function = self.plan.function.as_deref().unwrap_or(""),
            operation = %operation,
            fault = decision.fault.name(),
            "aws fault injected"
        );
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move { inflict(decision, &operation, inner, request).await })
    }
}

async fn inflict(
    decision: Decision,
    operation: &Operation,
    inner: SharedHttpConnector,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    match decision.fault {
        Fault::ErrorBeforeSend => Err(ConnectorError::io(
            std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "injected: connection refused before sending",
            )
            .into(),
        )),
        Fault::Throttle => Ok(throttled(operation)),
        Fault::TransactionConflict => Ok(transaction_conflict(&request)),
        Fault::Slow => {
            tokio::time::sleep(decision.delay).await;
            inner.call(request).await
        }
        Fault::CommitThenLose => {
            inner.call(request).await?;
            Err(match decision.lost_as {
                LostAnswer::InternalError => return Ok(internal_error(operation)),
                LostAnswer::Timeout => ConnectorError::timeout(
                    "injected: the answer timed out after the request was applied".into(),
                ),
                LostAnswer::Reset => ConnectorError::io(
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected: connection reset after the request was applied",
                    )
                    .into(),
                ),
            })
        }
        Fault::PartialFailure => {
            let entries = request_json(&request)
                .and_then(|body| body.get("Entries")?.as_array().map(Vec::len))
                .unwrap_or(1);
            let response = inner.call(request).await?;
            if !response.status().is_success() {
                return Ok(response);
            }
            let entries: Vec<serde_json::Value> = (0..entries)
                .map(|index| match index {
                    0 => serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "injected: entry failed"}),
                    _ => serde_json::json!({"EventId": uuid::Uuid::new_v4().to_string()}),
                })
                .collect();
            Ok(json_response(
                200,
                "application/x-amz-json-1.1",
                serde_json::json!({"FailedEntryCount": 1, "Entries": entries}),
            ))
        }
    }
}

fn request_json(request: &HttpRequest) -> Option<serde_json::Value> {
    serde_json::from_slice(request.body().bytes()?).ok()
}

fn content_type(operation: &Operation) -> &'static str {
    match operation.service {
        "dynamodb" | "dynamodbstreams" | "sqs" => "application/x-amz-json-1.0",
        _ => "application/x-amz-json-1.1",
    }
}

fn json_response(status: u16, content_type: &str, body: serde_json::Value) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    response
        .headers_mut()
        .insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    response
}

fn query_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        uuid::Uuid::new_v4()
    );
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("content-type", "text/xml".to_owned());
    response
}

fn throttled(operation: &Operation) -> HttpResponse {
    let message = "injected: rate exceeded";
    match operation.service {
        "sns" => query_error(400, "Throttling", message),
        "dynamodb" => json_response(
            400,
            content_type(operation),
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": message,
            }),
        ),
        _ => json_response(
            400,
            content_type(operation),
            serde_json::json!({"__type": "ThrottlingException", "message": message}),
        ),
    }
}

fn internal_error(operation: &Operation) -> HttpResponse {
    let message = "injected: internal error after the request was applied";
    match operation.service {
        "sns" => query_error(500, "InternalError", message),
        _ => json_response(
            500,
            content_type(operation),
            serde_json::json!({"__type": "InternalServerError", "message": message}),
        ),
    }
}

/// One reason per item, as DynamoDB answers: the conflict on the first item.
fn transaction_conflict(request: &HttpRequest) -> HttpResponse {
    let items = request_json(request)
        .and_then(|body| body.get("TransactItems")?.as_array().map(Vec::len))
        .unwrap_or(1);
    let reasons: Vec<serde_json::Value> = (0..items)
        .map(|index| match index {
            0 => serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}),
            _ => serde_json::json!({"Code": "None"}),
        })
        .collect();
    json_response(
        400,
        "application/x-amz-json-1.0",
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
            "CancellationReasons": reasons,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(service: &'static str, name: &str) -> Operation {
        Operation {
            service,
            name: name.into(),
        }
    }

    fn plan(rules: Vec<FaultRule>) -> Schedule {
        Schedule::new(
            FaultPlan { seed: 7, rules },
            Some("PaymentApiFunction".into()),
        )
    }

    fn rule(operation: &str, fault: Fault, probability: f64, max: Option<u64>) -> FaultRule {
        FaultRule {
            function: None,
            operation: operation.into(),
            fault,
            probability,
            max,
            delay_ms: None,
            lose_as: None,
        }
    }

    #[test]
    fn patterns_match_service_and_operation() {
        let transact = operation("dynamodb", "TransactWriteItems");
        assert!(transact.matches("dynamodb:TransactWriteItems"));
        assert!(transact.matches("dynamodb:*"));
        assert!(transact.matches("*"));
        assert!(transact.matches("*:TransactWriteItems"));
        assert!(!transact.matches("dynamodb:GetItem"));
        assert!(!transact.matches("events:*"));
    }

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let rules = vec![rule("*", Fault::Throttle, 0.3, None)];
        let run = || {
            let mut schedule = plan(rules.clone());
            (0..200)
                .map(|_| schedule.decide(&operation("dynamodb", "GetItem")).is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let fired = first.iter().filter(|f| **f).count();
        assert!((30..90).contains(&fired), "about 30% of 200: {fired}");
        let mut other = Schedule::new(
            FaultPlan {
                seed: 8,
                rules: rules.clone(),
            },
            None,
        );
        let other: Vec<bool> = (0..200)
            .map(|_| other.decide(&operation("dynamodb", "GetItem")).is_some())
            .collect();
        assert_ne!(first, other, "another seed, another schedule");
    }

    #[test]
    fn max_caps_a_rule_and_operation_bound_faults_stay_bound() {
        let mut schedule = plan(vec![
            rule("*", Fault::TransactionConflict, 1.0, None),
            rule("dynamodb:*", Fault::CommitThenLose, 1.0, Some(2)),
        ]);
        let get = operation("dynamodb", "GetItem");
        let transact = operation("dynamodb", "TransactWriteItems");
        assert_eq!(
            schedule.decide(&transact).map(|d| d.fault),
            Some(Fault::TransactionConflict)
        );
        // A conflict cannot happen to a GetItem: the next rule applies, twice at most.
        assert_eq!(
            schedule.decide(&get).map(|d| d.fault),
            Some(Fault::CommitThenLose)
        );
        assert_eq!(
            schedule.decide(&get).map(|d| d.fault),
            Some(Fault::CommitThenLose)
        );
        assert_eq!(schedule.decide(&get), None);
    }

    #[test]
    fn a_rule_can_target_one_function() {
        let targeted = |function: &str| FaultRule {
            function: Some(function.into()),
            ..rule("*", Fault::Throttle, 1.0, None)
        };
        let get = operation("dynamodb", "GetItem");
        assert!(
            plan(vec![targeted("PaymentApiFunction")])
                .decide(&get)
                .is_some()
        );
        assert!(plan(vec![targeted("Payment*")]).decide(&get).is_some());
        assert!(
            plan(vec![targeted("WalletApiFunction")])
                .decide(&get)
                .is_none()
        );
        let mut anonymous = Schedule::new(
            FaultPlan {
                seed: 7,
                rules: vec![targeted("PaymentApiFunction")],
            },
            None,
        );
        assert!(anonymous.decide(&get).is_none());
    }

    #[test]
    fn a_plan_reads_as_documented() {
        let plan: FaultPlan = serde_json::from_str(
            r#"{"seed": 42, "rules": [{"operation": "dynamodb:TransactWriteItems",
                "fault": "commit_then_lose", "probability": 0.2, "max": 3}]}"#,
        )
        .unwrap();
        assert_eq!(plan.seed, 42);
        assert_eq!(plan.rules[0].fault, Fault::CommitThenLose);
        assert_eq!(plan.rules[0].max, Some(3));
    }

    #[test]
    fn operations_are_read_from_the_target_header_or_the_query_action() {
        let mut request = HttpRequest::new(SdkBody::from("{}"));
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.TransactWriteItems");
        assert_eq!(
            Operation::of(&request),
            Some(operation("dynamodb", "TransactWriteItems"))
        );
        let mut put_events = HttpRequest::new(SdkBody::from("{}"));
        put_events
            .headers_mut()
            .insert("x-amz-target", "AWSEvents.PutEvents");
        assert_eq!(
            Operation::of(&put_events),
            Some(operation("events", "PutEvents"))
        );
        let publish = HttpRequest::new(SdkBody::from("Action=Publish&Version=2010-03-31"));
        assert_eq!(Operation::of(&publish), Some(operation("sns", "Publish")));
    }
}
