//! Metrics in CloudWatch's embedded metric format (EMF): JSON lines in the function's log
//! that CloudWatch Logs turns into metrics, with no API call on the request's path. The
//! `metrics` facade records them wherever the figure is known; `metrics_cloudwatch_embedded`
//! (the recorder) writes them out after each invocation, one line per set of dimensions, with
//! the invocation's `requestId` and `xrayTraceId` as properties, and counts cold starts.
//!
//! Namespace `FinFlow`; every metric has the dimensions `Service` and `Stage` (two stages in one
//! account must not add into one alarm), and its own labels as further dimensions. A service's
//! metrics are named where they are recorded (`finflow_payment::metrics`); the platform's own
//! are here. The README's "Logs and metrics" section lists them all and how to read them
//! locally.
//!
//! Failure modes: a line CloudWatch cannot parse is kept as a log line and yields no metric; a
//! function that crashes mid-invocation loses that invocation's figures (its log says why); a
//! histogram keeps at most 100 values between flushes (one invocation records far fewer).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

pub const NAMESPACE: &str = "FinFlow";

/// Counted once per execution environment, on its first invocation.
pub const COLD_START: &str = "ColdStart";
/// Event time (the envelope's `occurred_at`) to the moment a consumer applied it, per consumer
/// and event type: how long a cascade takes to reach each service.
pub const CASCADE_LAG: &str = "CascadeLag";
/// Messages a consumer failed (each returns to its queue, and after its retries to the DLQ).
pub const CONSUMER_FAILURES: &str = "ConsumerFailures";
/// Outbox rows the sweeper had to publish because the stream path did not.
pub const OUTBOX_EVENTS_SWEPT: &str = "OutboxEventsSwept";
pub const OUTBOX_ROWS_UNREADABLE: &str = "OutboxRowsUnreadable";
pub const OUTBOX_SWEEP_PUBLISH_FAILURES: &str = "OutboxSweepPublishFailures";

/// The function's recorder, installed once per cold start by [`init`] and flushed after each
/// invocation by `crate::runtime`.
#[derive(Clone, Copy)]
pub struct Metrics(&'static Collector);

impl Metrics {
    pub(crate) fn collector(self) -> &'static Collector {
        self.0
    }
}

/// Installs the recorder, once per process: `service` and the stage (`FINFLOW_STAGE`) become
/// the dimensions of every metric, the function's name a property of every line.
pub fn init(service: &'static str) -> Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    *METRICS.get_or_init(|| {
        let stage = std::env::var("FINFLOW_STAGE").unwrap_or_else(|_| "dev".into());
        let collector = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .with_dimension("Service", service)
            .with_dimension("Stage", stage)
            .lambda_cold_start_metric(COLD_START)
            .with_lambda_request_id("requestId")
            .with_lambda_xray_trace_id("xrayTraceId")
            .init()
            .expect("the metrics recorder is installed once, here");
        if let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
            collector.set_property("function", function);
        }
        describe();
        Metrics(collector)
    })
}

fn describe() {
    metrics::describe_histogram!(CASCADE_LAG, Unit::Milliseconds, "event time to effect");
    metrics::describe_counter!(CONSUMER_FAILURES, Unit::Count, "messages a consumer failed");
    metrics::describe_counter!(
        OUTBOX_EVENTS_SWEPT,
        Unit::Count,
        "events the sweeper published"
    );
    metrics::describe_counter!(
        OUTBOX_ROWS_UNREADABLE,
        Unit::Count,
        "outbox rows unreadable"
    );
    metrics::describe_counter!(
        OUTBOX_SWEEP_PUBLISH_FAILURES,
        Unit::Count,
        "events the sweeper failed to publish"
    );
}

/// A consumer applied an event `lag` after it occurred.
pub fn event_applied(consumer: &'static str, event_type: &str, lag: Duration) {
    metrics::histogram!(CASCADE_LAG, "Consumer" => consumer, "EventType" => event_type.to_owned())
        .record(lag.as_secs_f64() * 1000.0);
}

pub fn consumer_failed(consumer: &'static str) {
    metrics::counter!(CONSUMER_FAILURES, "Consumer" => consumer).increment(1);
}

pub fn outbox_swept(swept: u64, unreadable: u64, failed: u64) {
    metrics::counter!(OUTBOX_EVENTS_SWEPT).increment(swept);
    metrics::counter!(OUTBOX_ROWS_UNREADABLE).increment(unreadable);
    metrics::counter!(OUTBOX_SWEEP_PUBLISH_FAILURES).increment(failed);
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[test]
    fn cascade_lag_is_recorded_per_consumer_and_event_type_in_milliseconds() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            describe();
            event_applied(
                "wallet.customers",
                "user.kyc_updated",
                Duration::from_millis(40),
            );
        });
        let recorded = snapshotter.snapshot().into_vec();
        let (key, unit, _, value) = &recorded[0];
        assert_eq!(key.key().name(), CASCADE_LAG);
        let labels: Vec<(&str, &str)> = key.key().labels().map(|l| (l.key(), l.value())).collect();
        assert_eq!(
            labels,
            [
                ("Consumer", "wallet.customers"),
                ("EventType", "user.kyc_updated")
            ]
        );
        assert_eq!(*unit, Some(Unit::Milliseconds));
        assert!(matches!(value, DebugValue::Histogram(values) if values[0].into_inner() == 40.0));
    }
}
