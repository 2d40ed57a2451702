//! Fault injection for reliability tests, never for anything else: make the relay's next
//! publishes fail after the outbox commit, to prove no event is lost between commit and
//! publish; or drop the next outbox stream records before the relay sees them, as a stream
//! that lost them (or outlived its 24 h retention) would, for the outbox sweeper's test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use finflow_shared::events::{EventEnvelope, EventPublisher, PublishError};

#[derive(Default)]
pub struct FaultSwitch {
    fail_next_publishes: AtomicU32,
    injected: AtomicU32,
    drop_next_stream_records: AtomicU32,
    /// Keys (`pk`) of the stream records dropped so far.
    dropped: Mutex<Vec<String>>,
}

impl FaultSwitch {
    pub fn drop_next_stream_records(&self, count: u32) {
        self.drop_next_stream_records.store(count, Ordering::SeqCst);
    }

    /// (still armed, keys dropped so far)
    pub fn stream_status(&self) -> (u32, Vec<String>) {
        (
            self.drop_next_stream_records.load(Ordering::SeqCst),
            self.dropped.lock().expect("not poisoned").clone(),
        )
    }

    /// Whether to drop the new stream record of `key`; each armed drop is taken once.
    pub fn take_stream_drop(&self, key: &str) -> bool {
        let took = self
            .drop_next_stream_records
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if took {
            self.dropped
                .lock()
                .expect("not poisoned")
                .push(key.to_owned());
        }
        took
    }

    pub fn fail_next_publishes(&self, count: u32) {
        self.fail_next_publishes.store(count, Ordering::SeqCst);
    }

    pub fn status(&self) -> (u32, u32) {
        (
            self.fail_next_publishes.load(Ordering::SeqCst),
            self.injected.load(Ordering::SeqCst),
        )
    }

    fn take_failure(&self) -> bool {
        let took = self
            .fail_next_publishes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if took {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        took
    }
}

/// A publisher that fails while the switch says so, and otherwise publishes for real.
pub struct FaultyPublisher {
    pub inner: Arc<dyn EventPublisher>,
    pub switch: Arc<FaultSwitch>,
}

#[async_trait]
impl EventPublisher for FaultyPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        if self.switch.take_failure() {
            return Err(PublishError("fault injected by the local runner".into()));
        }
        self.inner.publish(events).await
    }
}
