//! The one conflict-retry loop of optimistic writes: re-read, decide, write; on a conflict
//! (someone else wrote first) wait a little and try again, a bounded number of times.
//!
//! A use case keeps only its decision; the attempts come from its [`RetryPolicy`]:
//!
//! ```ignore
//! let mut attempts = WRITES.attempts();
//! while attempts.next().await.is_some() {
//!     let wallet = store.wallet(id).await?;          // re-read
//!     let updated = wallet.decide(...)?;             // decide
//!     match store.save(&wallet, &updated).await {    // write
//!         Ok(()) => return Ok(updated),
//!         Err(WriteError::Conflict) => continue,     // read again after a short wait
//!         Err(other) => return Err(other.into()),
//!     }
//! }
//! Err(busy()) // every attempt met a conflict: the caller's own give-up error
//! ```
//!
//! State that must survive an attempt (an id allocated once, a part of the write left out
//! after the first refusal) is an ordinary local before the loop. [`Attempts::next`] counts the
//! attempts, sleeps a small jittered, exponentially growing delay before every attempt after
//! the first, so writers contending for one record spread out ([`RetryPolicy::max_total_delay`]
//! bounds the total), and traces each retry and the give-up at debug level.
//!
//! (An `AsyncFnMut` closure run by a helper would read the same, but today's compiler cannot
//! prove the futures of such closures `Send` inside `#[async_trait]` consumers and axum
//! handlers: "implementation of `Send` is not general enough".)

use std::time::Duration;

/// How often to attempt, and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Names the retried write in the debug log.
    name: &'static str,
    attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl RetryPolicy {
    /// `attempts` attempts (at least one) of the write `name`, with the default backoff: about
    /// 2 ms before the second attempt, doubling up to 20 ms.
    pub const fn new(name: &'static str, attempts: u32) -> Self {
        RetryPolicy {
            name,
            attempts: if attempts == 0 { 1 } else { attempts },
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
        }
    }

    /// The same attempts with another backoff: `base` before the second attempt, doubling up to
    /// `max`.
    pub const fn with_backoff(self, base: Duration, max: Duration) -> Self {
        RetryPolicy {
            base_delay: base,
            max_delay: max,
            ..self
        }
    }

    /// How many attempts a write gets.
    pub const fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// A fresh run of attempts under this policy.
    pub fn attempts(&self) -> Attempts {
        Attempts {
            policy: *self,
            started: 0,
        }
    }

    /// The delay ceiling after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`,
    /// at most `max`.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait after failed attempt `attempt`: half the ceiling plus `jitter` (in `0.0..=1.0`)
    /// of the other half, so it is never zero and never above the ceiling.
    fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        ceiling / 2 + (ceiling / 2).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The most all waits of one exhausted run can add up to.
    pub fn max_total_delay(&self) -> Duration {
        (1..self.attempts)
            .map(|attempt| self.ceiling(attempt))
            .sum()
    }
}

/// The attempts of one retried write, from [`RetryPolicy::attempts`].
#[derive(Debug)]
pub struct Attempts {
    policy: RetryPolicy,
    /// How many attempts have started.
    started: u32,
}

impl Attempts {
    /// Starts the next attempt and returns its 1-based number, or `None` once all attempts
    /// have been made: the caller then gives up with its own error. Every attempt after the
    /// first means the one before met a conflict, so it first waits the jittered backoff.
    pub async fn next(&mut self) -> Option<u32> {
        let policy = &self.policy;
        if self.started >= policy.attempts {
            tracing::debug!(
                write = policy.name,
                attempts = policy.attempts,
                "write conflict on every attempt; giving up"
            );
            return None;
        }
        if self.started > 0 {
            let delay = policy.delay(self.started, rand::random::<f64>());
            tracing::debug!(
                write = policy.name,
                attempt = self.started + 1,
                of = policy.attempts,
                delay_ms = delay.as_secs_f64() * 1000.0,
                "write conflict; retrying"
            );
            tokio::time::sleep(delay).await;
        }
        self.started += 1;
        Some(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    const POLICY: RetryPolicy = RetryPolicy::new("test", 5);

    /// A write that meets `conflicts` conflicts, then succeeds; the attempts it was given.
    async fn write_with(policy: RetryPolicy, conflicts: u32) -> (Option<u32>, Vec<u32>) {
        let mut seen = Vec::new();
        let mut attempts = policy.attempts();
        while let Some(attempt) = attempts.next().await {
            seen.push(attempt);
            if attempt > conflicts {
                return (Some(attempt), seen);
            }
        }
        (None, seen)
    }

    #[tokio::test(start_paused = true)]
    async fn counts_attempts_until_one_succeeds() {
        assert_eq!(write_with(POLICY, 0).await, (Some(1), vec![1]));
        assert_eq!(write_with(POLICY, 2).await, (Some(3), vec![1, 2, 3]));
        assert_eq!(write_with(POLICY, 4).await, (Some(5), vec![1, 2, 3, 4, 5]));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_policys_attempts() {
        assert_eq!(write_with(POLICY, 5).await, (None, vec![1, 2, 3, 4, 5]));
        let mut attempts = RetryPolicy::new("test", 2).attempts();
        assert_eq!(attempts.next().await, Some(1));
        assert_eq!(attempts.next().await, Some(2));
        assert_eq!(attempts.next().await, None);
        assert_eq!(attempts.next().await, None, "stays exhausted");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_attempt_does_not_wait() {
        let start = Instant::now();
        assert_eq!(write_with(POLICY, 0).await.0, Some(1));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_between_attempts_within_the_bound() {
        let policy = RetryPolicy::new("test", 8);
        let start = Instant::now();
        let mut last = start;
        let mut waits = Vec::new();
        let mut attempts = policy.attempts();
        while attempts.next().await.is_some() {
            waits.push(last.elapsed());
            last = Instant::now();
        }
        let total = start.elapsed();
        assert_eq!(waits.len(), 8);
        assert_eq!(waits[0], Duration::ZERO);
        for (i, wait) in waits.iter().enumerate().skip(1) {
            let ceiling = policy.ceiling(i as u32);
            assert!(*wait >= ceiling / 2 && *wait <= ceiling, "{i}: {wait:?}");
        }
        assert!(total <= policy.max_total_delay(), "{total:?}");
        assert!(policy.max_total_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn the_backoff_grows_jittered_and_capped() {
        let policy = RetryPolicy::new("test", 8);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        assert_eq!(ms(policy.delay(1, 0.0)), 1.0);
        assert_eq!(ms(policy.delay(1, 1.0)), 2.0);
        assert_eq!(ms(policy.delay(3, 0.5)), 6.0);
        assert_eq!(ms(policy.delay(7, 1.0)), 20.0);
        assert_eq!(ms(policy.delay(40, 1.0)), 20.0);
        assert_eq!(ms(policy.delay(2, 7.0)), 4.0, "jitter is clamped");
        // 2 + 4 + 8 + 16 + 20 + 20 + 20
        assert_eq!(policy.max_total_delay(), Duration::from_millis(90));
        assert_eq!(
            RetryPolicy::new("test", 1).max_total_delay(),
            Duration::ZERO
        );
        assert_eq!(RetryPolicy::new("test", 0).max_attempts(), 1);
        let slow = policy.with_backoff(Duration::from_millis(10), Duration::from_millis(40));
        assert_eq!(ms(slow.delay(2, 1.0)), 20.0);
        assert_eq!(slow.max_attempts(), 8);
    }
}
