//! The transactional outbox. A service writes its events into the outbox table in the same
//! DynamoDB transaction as the state change they describe; the relay, fed by the outbox
//! table's stream, publishes them to EventBridge. A commit therefore always yields its events,
//! and an aborted transaction yields none.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use time::OffsetDateTime;

use crate::dynamo::{n, s};
use crate::events::{EventEnvelope, EventPublisher};

/// Published events stay a week for diagnosis, then expire.
const RETENTION: time::Duration = time::Duration::days(7);

/// The transaction item that records `event` for publication.
pub fn outbox_put(table: &str, event: &EventEnvelope) -> TransactWriteItem {
    let expires_at = (OffsetDateTime::now_utc() + RETENTION).unix_timestamp();
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(format!("EVENT#{}", event.event_id)))
        .item("event_type", s(&event.event_type))
        .item("trace_id", s(event.trace_id.as_str()))
        .item(
            "envelope",
            s(serde_json::to_string(event).expect("envelopes serialize")),
        )
        .item("expires_at", n(expires_at))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("table, item and condition are set");
    TransactWriteItem::builder().put(put).build()
}

/// Drains outbox stream records to the bus, in stream order.
pub struct OutboxRelay {
    publisher: Arc<dyn EventPublisher>,
}

impl OutboxRelay {
    pub fn new(publisher: Arc<dyn EventPublisher>) -> Self {
        OutboxRelay { publisher }
    }

    /// Publishes the envelopes of newly inserted outbox items. On failure it reports the first
    /// unpublished record, so the stream retries from there and nothing after it is skipped.
    pub async fn relay(&self, batch: StreamEvent) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        let mut pending: Vec<(String, EventEnvelope)> = Vec::new();
        for record in batch.records {
            if record.event_name != "INSERT" {
                continue;
            }
            let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
            let envelope = match record.change.new_image.inner().get("envelope") {
                Some(serde_dynamo::AttributeValue::S(json)) => {
                    serde_json::from_str::<EventEnvelope>(json)
                }
                _ => continue,
            };
            match envelope {
                Ok(envelope) => pending.push((sequence_number, envelope)),
                // An outbox row that is not an envelope can never be published; retrying it
                // forever would block the stream, so it is logged loudly and skipped.
                Err(error) => {
                    tracing::error!(%sequence_number, %error, "unreadable outbox record skipped")
                }
            }
        }
        for chunk in pending.chunks(10) {
            let envelopes: Vec<EventEnvelope> = chunk.iter().map(|(_, e)| e.clone()).collect();
            match self.publisher.publish(&envelopes).await {
                Ok(()) => {
                    for envelope in &envelopes {
                        tracing::info!(
                            trace_id = %envelope.trace_id,
                            event_id = %envelope.event_id,
                            event_type = %envelope.event_type,
                            causation_id = envelope.causation_id.map(|id| id.to_string()),
                            producer = %envelope.producer,
                            "event published"
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "publish failed; the stream will retry");
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = Some(chunk[0].0.clone());
                    response.batch_item_failures.push(failure);
                    break;
                }
            }
        }
        response
    }
}
