//! Publishing envelopes to the event bus. Only the outbox relay calls this: services never
//! publish directly, so what they commit and what they publish cannot diverge.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::envelope::EventEnvelope;

#[derive(Debug, thiserror::Error)]
#[error("publishing to the event bus failed: {0}")]
pub struct PublishError(pub String);

#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes every envelope or fails; a failure may have published some of them, which is
    /// why consumers are idempotent by event id.
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError>;
}

pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgePublisher {
    /// PutEvents accepts at most ten entries per call.
    const MAX_BATCH: usize = 10;

    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBridgePublisher {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        for chunk in events.chunks(Self::MAX_BATCH) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(event.source())
                        .detail_type(&event.event_type)
                        .detail(serde_json::to_string(event).expect("envelopes serialize"))
                        .build()
                })
                .collect::<Vec<_>>();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| {
                    PublishError(aws_sdk_eventbridge::error::DisplayErrorContext(error).to_string())
                })?;
            if output.failed_entry_count() > 0 {
                let reasons = output
                    .entries()
                    .iter()
                    .filter_map(|entry| entry.error_message())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(PublishError(format!(
                    "{} of {} entries rejected: {reasons}",
                    output.failed_entry_count(),
                    chunk.len()
                )));
            }
        }
        Ok(())
    }
}
