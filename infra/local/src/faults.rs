//! Fault injection for reliability tests: make the relay's next publishes fail after the
//! outbox commit, to prove no event is lost between commit and publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use finflow_shared::events::{EventEnvelope, EventPublisher, PublishError};

#[derive(Default)]
pub struct FaultSwitch {
    fail_next_publishes: AtomicU32,
    injected: AtomicU32,
}

impl FaultSwitch {
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
