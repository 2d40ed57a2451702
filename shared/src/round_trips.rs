//! AWS round trips per request, counted exactly rather than guessed from a timer: on AWS every
//! call costs milliseconds, so how many calls a request makes one after another is most of
//! its latency.
//!
//! An HTTP client wrapped around the SDK's (every client built from
//! [`aws_sdk_config`](crate::config::aws_sdk_config) has it) records each attempt made inside
//! [`recorded`]: its operation and when it started and ended. An attempt is one HTTP request
//! to AWS; the SDK's retries are attempts of their own, and so are calls that fail. From those,
//! [`RoundTrips`] says how many calls were made and how many were *sequential*: the longest
//! chain of calls each started after the one before it ended, which is what the caller waited
//! for. Calls that overlap, like the reads `tokio::try_join!` sends together, count once.
//!
//! What it does not see: calls made outside `recorded` (at init, or in a task spawned from
//! the request), which stay uncounted rather than counted against another request. The trace
//! layer records every HTTP request and logs the figures on its `request handled` line.
//! Always on: a call costs one clock read and one push more.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::aws_http::{Operation, http_client_of};

tokio::task_local! {
    static CALLS: Arc<Mutex<Vec<Call>>>;
}

/// One attempt of an AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `service:Operation`, e.g. `dynamodb:TransactWriteItems`.
    pub operation: String,
    pub started: Instant,
    pub ended: Instant,
}

/// The AWS calls one request made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// Every attempt.
    pub calls: usize,
    /// The longest chain of attempts made one after another.
    pub sequential: usize,
    /// Each attempt as `operation@start+duration` (milliseconds from the first start), in the
    /// order they started.
    pub timeline: Vec<String>,
}

impl RoundTrips {
    pub fn of(calls: &[Call]) -> RoundTrips {
        let mut by_start: Vec<&Call> = calls.iter().collect();
        by_start.sort_by_key(|call| call.started);
        // The most calls that do not overlap: take the call that ends first, then the one
        // ending first among those starting after it, and so on.
        let mut by_end = by_start.clone();
        by_end.sort_by_key(|call| call.ended);
        let mut sequential = 0;
        let mut free_from: Option<Instant> = None;
        for call in by_end {
            if free_from.is_none_or(|end| call.started >= end) {
                sequential += 1;
                free_from = Some(call.ended);
            }
        }
        let origin = by_start.first().map(|call| call.started);
        let ms =
            |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64() * 1e3;
        RoundTrips {
            calls: calls.len(),
            sequential,
            timeline: by_start
                .iter()
                .map(|c| {
                    let origin = origin.unwrap_or(c.started);
                    format!(
                        "{}@{:.1}+{:.1}",
                        c.operation,
                        ms(origin, c.started),
                        ms(c.started, c.ended)
                    )
                })
                .collect(),
        }
    }
}

/// Runs `future` and answers its output with the AWS calls made while it ran.
pub async fn recorded<F: Future>(future: F) -> (F::Output, RoundTrips) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let output = CALLS.scope(calls.clone(), future).await;
    let calls = calls.lock().expect("not poisoned");
    (output, RoundTrips::of(&calls))
}

/// `config` with its HTTP client recording the calls made inside [`recorded`].
pub(crate) fn record(config: SdkConfig) -> SdkConfig {
    let inner = http_client_of(&config);
    config
        .into_builder()
        .http_client(SharedHttpClient::new(RecordingHttpClient { inner }))
        .build()
}

#[derive(Debug)]
struct RecordingHttpClient {
    inner: SharedHttpClient,
}

impl HttpClient for RecordingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = Operation::of(&request);
        if let Some(operation) = &operation {
            crate::aws_access::note(operation, &request);
        }
        let Ok(calls) = CALLS.try_with(Arc::clone) else {
            return self.inner.call(request);
        };
        let operation = operation.map_or_else(
            || "aws:unknown".to_owned(),
            |operation| operation.to_string(),
        );
        let started = Instant::now();
        let answer = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let result = answer.await;
            calls.lock().expect("not poisoned").push(Call {
                operation,
                started,
                ended: Instant::now(),
            });
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(operation: &str, base: Instant, from_ms: u64, to_ms: u64) -> Call {
        Call {
            operation: operation.into(),
            started: base + Duration::from_millis(from_ms),
            ended: base + Duration::from_millis(to_ms),
        }
    }

    #[test]
    fn calls_sent_together_count_once_in_the_chain() {
        let t = Instant::now();
        let trips = RoundTrips::of(&[
            call("dynamodb:TransactWriteItems", t, 20, 30),
            call("dynamodb:GetItem", t, 0, 5),
            call("dynamodb:GetItem", t, 0, 9),
            call("dynamodb:UpdateItem", t, 1, 8),
            call("dynamodb:Query", t, 9, 15),
        ]);
        assert_eq!(trips.calls, 5);
        assert_eq!(trips.sequential, 3);
        assert!(trips.timeline[4].starts_with("dynamodb:TransactWriteItems@20.0+10.0"));
    }

    #[test]
    fn nothing_called_is_zero() {
        assert_eq!(RoundTrips::of(&[]), RoundTrips::default());
    }

    #[tokio::test]
    async fn only_calls_inside_recorded_are_counted() {
        let (answer, trips) = recorded(async { 42 }).await;
        assert_eq!((answer, trips.calls), (42, 0));
    }
}
