//! What every system test needs: where the platform runs, AWS clients for looking behind the
//! API, bounded polling for cascades, and helpers for problem+json answers.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod accounts;
pub mod browser;
pub mod contracts;
pub mod events;
pub mod faults;
pub mod openapi;
pub mod payments;
pub mod services;
pub mod wallets;

pub use accounts::{Account, register, register_and_login, staff_account, unique_email};

/// The local platform as `infra/test` started it.
pub struct Platform {
    pub http: reqwest::Client,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub manifest: Manifest,
    pub control_url: String,
}

pub use finflow_local::manifest::{Function, Manifest, Queue};
pub use services::AUTH;

impl Platform {
    /// Connects to the platform named by `FINFLOW_MANIFEST`; fails loudly when the tests were
    /// started without it, since a system test that silently skips proves nothing.
    pub async fn connect() -> Platform {
        let path = std::env::var("FINFLOW_MANIFEST")
            .expect("FINFLOW_MANIFEST is not set: run system tests through infra/test");
        let manifest = Manifest::load(std::path::Path::new(&path))
            .unwrap_or_else(|e| panic!("the stack manifest: {e}"));
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(finflow_shared::aws_http::https_client())
            .load()
            .await;
        Platform {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client builds"),
            dynamo: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            manifest,
            control_url: std::env::var("FINFLOW_CONTROL_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:4599".into()),
        }
    }

    pub fn table(&self, logical_id: &str) -> &str {
        self.manifest
            .tables
            .get(logical_id)
            .unwrap_or_else(|| panic!("no table {logical_id} in the manifest"))
    }

    /// Logical ids of the queues a function consumes.
    pub fn consumer_queues(&self) -> Vec<&str> {
        let mut queues: Vec<&str> = self
            .manifest
            .functions
            .values()
            .flat_map(|f| f.sqs_sources.iter().map(|s| s.queue.as_str()))
            .collect();
        queues.sort_unstable();
        queues.dedup();
        queues
    }

    /// The account id the emulator gives its resources, read from a queue's ARN
    /// (`arn:aws:sqs:<region>:<account>:<name>`): emulators differ.
    pub fn account(&self) -> &str {
        let arn = &self
            .manifest
            .queues
            .values()
            .next()
            .expect("the manifest has queues")
            .arn;
        arn.split(':').nth(4).expect("a queue ARN has an account")
    }

    pub fn queue(&self, logical_id: &str) -> &Queue {
        self.manifest
            .queues
            .get(logical_id)
            .unwrap_or_else(|| panic!("no queue {logical_id} in the manifest"))
    }

    /// One item of a table, read consistently.
    pub async fn item(
        &self,
        table: &str,
        pk: &str,
        sk: Option<&str>,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let mut request = self
            .dynamo
            .get_item()
            .table_name(self.table(table))
            .key("pk", S(pk.into()))
            .consistent_read(true);
        if let Some(sk) = sk {
            request = request.key("sk", S(sk.into()));
        }
        request.send().await.expect("get_item succeeds").item
    }

    /// Lines of the runner's JSON log, for tests that follow what functions did; read a line's
    /// fields with [`log_field`].
    pub fn runner_log(&self) -> Vec<Value> {
        let path =
            std::env::var("FINFLOW_RUNNER_LOG").expect("FINFLOW_RUNNER_LOG is set by infra/test");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Polls `probe` until it yields a value or `timeout` passes; cascades are asynchronous, and a
/// fixed sleep would be either flaky or slow. Returns the value and how long it took.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return (value, started.elapsed());
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Asserts an RFC 9457 problem response with `status` and returns its body.
pub async fn expect_problem(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.expect("a problem body is JSON");
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], status, "body: {body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:finflow:problem:")),
        "body: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "body: {body}"
    );
    body
}

/// Asserts a successful JSON response with `status` and returns its body.
pub async fn expect_json(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

/// A text field of a JSON log line; the fields of the spans it was written in (a request's, a
/// consumed event's, the invocation's) are on the line itself (`finflow_shared::telemetry::logs`).
pub fn log_field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line[name].as_str()
}
