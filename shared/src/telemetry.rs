//! Structured logs. On Lambda every line is JSON carrying the trace id of the span it was
//! written in, so one trace can be followed across functions; `FINFLOW_LOG_FORMAT=text` gives
//! readable lines for a terminal.

use tracing_subscriber::EnvFilter;

pub fn init(service: &str) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("FINFLOW_LOG_FORMAT").is_ok_and(|format| format == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let installed = if text {
        builder.compact().try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .try_init()
    };
    if installed.is_ok() {
        tracing::info!(service, "logging initialised");
    }
}
