//! Scheduled functions (SAM `Schedule` events) run as EventBridge would run them: every period
//! of their `rate(...)` expression, the first one a period after start. The control port runs
//! one now for tests (`POST /schedules/<binary>/run`). Runs of one function never overlap
//! here, so a test's run and a timed one cannot race each other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub type JobFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;
/// One invocation of a scheduled function; its answer is what the Lambda would return.
pub type Job = Arc<dyn Fn() -> JobFuture + Send + Sync>;

pub struct ScheduledFunction {
    pub binary: String,
    job: Job,
    running: tokio::sync::Mutex<()>,
}

impl ScheduledFunction {
    pub fn new(binary: String, job: Job) -> Self {
        ScheduledFunction {
            binary,
            job,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs the function once, after any run still under way. `trigger` is for the log.
    pub async fn run(&self, trigger: &str) -> Result<Value, String> {
        let _one_at_a_time = self.running.lock().await;
        let result = (self.job)().await;
        match &result {
            Ok(answer) => {
                tracing::info!(binary = %self.binary, trigger, %answer, "scheduled function ran")
            }
            Err(error) => {
                tracing::warn!(binary = %self.binary, trigger, %error, "scheduled function failed")
            }
        }
        result
    }
}

/// Runs `function` every `period`, forever.
pub async fn every(function: Arc<ScheduledFunction>, expression: String, period: Duration) {
    tracing::info!(binary = %function.binary, %expression, "scheduled");
    loop {
        tokio::time::sleep(period).await;
        // A failure is logged; the next period runs again, as the schedule would.
        let _ = function.run(&expression).await;
    }
}

/// The period of a `rate(N unit)` schedule expression. Units are EventBridge's (minute(s),
/// hour(s), day(s)), plus second(s) for local experiments; `cron(...)` is not run locally.
pub fn rate(expression: &str) -> Result<Duration, String> {
    let invalid = || format!("schedule {expression:?} is not rate(N minutes|hours|days|seconds)");
    let inner = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(invalid)?;
    let (value, unit) = inner.trim().split_once(' ').ok_or_else(invalid)?;
    let value: u64 = value.parse().map_err(|_| invalid())?;
    let unit_seconds = match (unit.trim(), value) {
        ("second", 1) | ("seconds", 2..) => 1,
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(value * unit_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_parse_like_eventbridge() {
        assert_eq!(rate("rate(5 minutes)"), Ok(Duration::from_secs(300)));
        assert_eq!(rate("rate(1 minute)"), Ok(Duration::from_secs(60)));
        assert_eq!(rate("rate(2 hours)"), Ok(Duration::from_secs(7200)));
        assert_eq!(rate("rate(1 day)"), Ok(Duration::from_secs(86_400)));
        assert_eq!(rate("rate(30 seconds)"), Ok(Duration::from_secs(30)));
        // EventBridge's singular/plural rule, zero and cron are refused.
        for bad in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(minutes)",
            "cron(0 12 * * ? *)",
        ] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }
}
