//! Logs as Lambda's advanced logging controls expect them. `LoggingConfig` in template.yaml
//! makes Lambda set `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`) and, with JSON,
//! `AWS_LAMBDA_LOG_LEVEL`, by which CloudWatch also filters the lines it keeps; the local
//! runner sets them from the same template, and `RUST_LOG` still refines the level where Lambda
//! sets none (as `lambda_runtime`'s own default subscriber does).
//!
//! The filter is `Targets` (`RUST_LOG=info,finflow_payment=debug`: a level per target), not
//! `EnvFilter`: the span and field matching `EnvFilter` adds is never used here, and its regex
//! engine was about 190 KiB of every bootstrap (README, "Artifact size").
//!
//! A JSON line carries `timestamp`, `level` and `message` (Lambda's names), the event's fields,
//! and the fields of every span it was written in, each at the top level, so that a query finds
//! every line of one invocation (`requestId`, from the runtime's span), of one request across
//! functions (`traceId`, from FinFlow's request and event spans, `crate::trace`), and of one
//! money movement (`idempotencyKey`, when the client sent one). Span and event field names must
//! therefore differ: a field written twice would make the line carry the key twice.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How a function's lines are written: Lambda's JSON, or readable text for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// `AWS_LAMBDA_LOG_FORMAT` as Lambda sets it; unset, Lambda's default (text).
    pub fn from_env() -> Self {
        match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(format) if format.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Lambda's level names (`AWS_LAMBDA_LOG_LEVEL`) as a tracing filter; FATAL has no tracing
/// level of its own and keeps errors.
fn level_filter(lambda_level: &str) -> Targets {
    let level = match lambda_level.to_ascii_uppercase().as_str() {
        "FATAL" => LevelFilter::ERROR,
        other => other.parse().unwrap_or(LevelFilter::INFO),
    };
    Targets::new().with_default(level)
}

/// `RUST_LOG`'s directives; unset or unreadable, INFO.
fn rust_log_filter(directives: Option<&str>) -> Targets {
    directives
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

fn filter() -> Targets {
    match std::env::var("AWS_LAMBDA_LOG_LEVEL") {
        Ok(level) => level_filter(&level),
        Err(_) => rust_log_filter(std::env::var("RUST_LOG").ok().as_deref()),
    }
}

/// Installs the process's subscriber once; later calls keep the first.
pub fn init(service: &str) {
    let installed = match LogFormat::from_env() {
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter())
            .with(json_layer(service))
            .try_init()
            .is_ok(),
        LogFormat::Text => tracing_subscriber::registry()
            .with(filter())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .compact(),
            )
            .try_init()
            .is_ok(),
    };
    if installed {
        tracing::info!("logging initialised");
    }
}

fn json_layer<S>(service: &str) -> json_subscriber::JsonLayer<S>
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
{
    let mut layer = json_subscriber::JsonLayer::stdout();
    layer
        .with_timer("timestamp", SystemTime)
        .with_level("level")
        .with_flattened_event()
        .with_top_level_flattened_span_list();
    layer.add_static_field("service", serde_json::Value::String(service.to_owned()));
    layer
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_line_carries_every_enclosing_spans_fields_at_the_top_level() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(json_layer("payment").with_writer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let invocation = tracing::info_span!("Lambda runtime invoke", requestId = "r-1");
            let _invocation = invocation.enter();
            let request = tracing::info_span!(
                "request",
                traceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                idempotencyKey = "k-1"
            );
            let _request = request.enter();
            tracing::info!(payment_id = 7, "transfer recorded");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        for (field, value) in [
            ("message", "transfer recorded"),
            ("level", "INFO"),
            ("service", "payment"),
            ("requestId", "r-1"),
            ("traceId", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("idempotencyKey", "k-1"),
        ] {
            assert_eq!(line[field], value, "{field} in {line}");
        }
        assert_eq!(line["payment_id"], 7);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
    }

    #[test]
    fn lambda_levels_become_tracing_filters() {
        let max = |level: &str| level_filter(level).default_level();
        assert_eq!(max("WARN"), Some(LevelFilter::WARN));
        assert_eq!(max("FATAL"), Some(LevelFilter::ERROR));
        assert_eq!(max("nonsense"), Some(LevelFilter::INFO));
    }

    #[test]
    fn rust_log_sets_a_level_per_target_and_falls_back_to_info() {
        let filter = rust_log_filter(Some("warn,finflow_payment=debug"));
        assert!(filter.would_enable("finflow_payment::store", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
        for unusable in [None, Some("finflow=loud")] {
            let filter = rust_log_filter(unusable);
            assert!(
                filter.would_enable("anything", &tracing::Level::INFO),
                "{unusable:?}"
            );
            assert!(
                !filter.would_enable("anything", &tracing::Level::DEBUG),
                "{unusable:?}"
            );
        }
    }
}
