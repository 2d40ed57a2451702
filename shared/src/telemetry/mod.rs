//! What a function sets up before anything else: its logs ([`logs`]) and its metrics
//! ([`metrics`]), both written to stdout, where Lambda hands them to CloudWatch Logs.

pub mod logs;
pub mod metrics;

pub use self::metrics::Metrics;

/// Logs and metrics of a Lambda function of `service`; `crate::runtime` takes the result.
pub fn init(service: &'static str) -> Metrics {
    logs::init(service);
    metrics::init(service)
}
