//! Event consumers behind SQS. Each queue message is an EventBridge event whose `detail` is an
//! `EventEnvelope`. A batch reports exactly the messages that failed, so SQS redelivers only
//! those and moves a message that keeps failing to the queue's DLQ after maxReceiveCount.
//! Consumers are idempotent by event id through the inbox: a marker written in the same
//! transaction as the consumer's own change.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::Deserialize;
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

use crate::contracts::EventRead;
use crate::dynamo::{number, text};
use crate::events::EventEnvelope;
use crate::transaction::Witness;

/// How long a consumer remembers an event id. SQS keeps a message at most 14 days, and an
/// archive replay is told apart by its replay name, so 30 days covers every redelivery.
const INBOX_RETENTION: time::Duration = time::Duration::days(30);

/// The EventBridge event as a rule delivers it to SQS.
#[derive(Debug, Deserialize)]
pub struct BusMessage {
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    /// Set by EventBridge when the event comes from an archive replay.
    #[serde(rename = "replay-name")]
    pub replay_name: Option<String>,
    pub detail: EventEnvelope,
}

impl BusMessage {
    pub fn parse(body: &str) -> Result<Self, ConsumeError> {
        serde_json::from_str(body).map_err(|error| ConsumeError::Malformed(error.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// The message can never be processed; it will end in the DLQ.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Processing failed and may succeed on redelivery.
    #[error("processing failed: {0}")]
    Failed(String),
}

impl ConsumeError {
    /// A failure worth retrying, from any error.
    pub fn failed(error: impl std::fmt::Display) -> Self {
        ConsumeError::Failed(error.to_string())
    }
}

/// Which deliveries of an event a consumer acts on. A live consumer changes the world once per
/// event, so an archive replay must not reach it twice: EventBridge delivers replays only to
/// the rules a replay names (`FilterArns`), and should one still arrive (an emulator that
/// ignores the filter, a rule added by hand), the live consumer acknowledges it untouched.
/// A rebuild consumer is the reverse: it projects replays only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Live,
    Replay,
}

impl Delivery {
    fn of(message: &BusMessage) -> Self {
        match message.replay_name {
            Some(_) => Delivery::Replay,
            None => Delivery::Live,
        }
    }
}

/// What a consumer did with one event, for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before (a redelivery); nothing was changed.
    Duplicate,
    /// Older than what the consumer already holds, or not for this consumer.
    Ignored,
}

#[async_trait]
pub trait EventConsumer: Send + Sync {
    /// Names the consumer in the inbox and the logs.
    fn name(&self) -> &'static str;

    /// The events and fields of their data this consumer reads: its contract with their
    /// producers, declared next to its code. tests/contracts_consumers.rs checks it against
    /// events/schemas and the template.yaml rules that feed the consumer's queue, and schema
    /// changes are classified by who reads what (`finflow_contracts::compat`).
    fn reads(&self) -> &'static [EventRead];

    /// The deliveries it acts on; every other one is acknowledged as `Outcome::Ignored`.
    fn delivery(&self) -> Delivery {
        Delivery::Live
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError>;
}

/// Processes one SQS batch and reports the messages that failed.
pub async fn consume_batch(consumer: &dyn EventConsumer, batch: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in batch.records {
        if let Err(error) = consume_message(consumer, &message).await {
            let message_id = message.message_id.clone().unwrap_or_default();
            tracing::warn!(consumer = consumer.name(), %message_id, %error, "message failed");
            crate::telemetry::metrics::consumer_failed(consumer.name());
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn consume_message(
    consumer: &dyn EventConsumer,
    message: &SqsMessage,
) -> Result<(), ConsumeError> {
    let body = message.body.as_deref().unwrap_or_default();
    let bus_message = BusMessage::parse(body)?;
    let envelope = &bus_message.detail;
    let span = tracing::info_span!(
        "event",
        traceId = %envelope.trace_id,
        event_id = %envelope.event_id,
        event_type = %envelope.event_type,
        consumer = consumer.name(),
        replay_name = bus_message.replay_name.as_deref(),
    );
    async {
        let outcome = if Delivery::of(&bus_message) == consumer.delivery() {
            consumer.consume(&bus_message).await?
        } else {
            Outcome::Ignored
        };
        tracing::info!(?outcome, "event consumed");
        // A replayed event's age is the archive's, not a cascade's.
        if outcome == Outcome::Applied && bus_message.replay_name.is_none() {
            let lag = OffsetDateTime::now_utc() - envelope.occurred_at;
            crate::telemetry::metrics::event_applied(
                consumer.name(),
                &envelope.event_type,
                lag.try_into().unwrap_or_default(),
            );
        }
        Ok(())
    }
    .instrument(span)
    .await
}

/// A consumer's claim on an event it processes, stored with the consumer's change so that a
/// redelivered event is recognised and acts once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxMarker {
    pub consumer: &'static str,
    pub event_id: Uuid,
}

/// `marker`'s item, to write in the same transaction as the consumer's change: the
/// transaction's witness, so a redelivery, a retried call or a re-plan meets
/// [`TransactError::AlreadyCommitted`](crate::transaction::TransactError::AlreadyCommitted)
/// once the event was applied.
pub fn inbox_claim(table: &str, marker: InboxMarker) -> Witness {
    let InboxMarker { consumer, event_id } = marker;
    let now = OffsetDateTime::now_utc();
    let pk = text(format!("INBOX#{consumer}#{event_id}"));
    let put = Put::builder()
        .table_name(table)
        .item("pk", pk.clone())
        .item("processed_at", number(now.unix_timestamp()))
        .item(
            "expires_at",
            number((now + INBOX_RETENTION).unix_timestamp()),
        )
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("table, item and condition are set");
    Witness::created(
        TransactWriteItem::builder().put(put).build(),
        table,
        HashMap::from([("pk".to_owned(), pk)]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{AccountTier, KycStatus};
    use crate::events::{Causality, user::UserCreated, user::UserSnapshot};
    use crate::ids::UserId;
    use crate::trace::TraceId;
    use std::sync::Mutex;

    struct Recorder {
        seen: Mutex<Vec<Uuid>>,
    }

    #[async_trait]
    impl EventConsumer for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn reads(&self) -> &'static [EventRead] {
            crate::user_projection::READS
        }
        async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
            self.seen.lock().unwrap().push(message.detail.event_id);
            Ok(Outcome::Applied)
        }
    }

    fn replayed(body: &str, replay_name: &str) -> String {
        let mut message: serde_json::Value = serde_json::from_str(body).unwrap();
        message["replay-name"] = replay_name.into();
        message.to_string()
    }

    fn sqs_message(id: &str, body: String) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.into());
        message.body = Some(body);
        message
    }

    fn bus_body(envelope: &EventEnvelope) -> String {
        serde_json::json!({
            "version": "0", "id": "e1", "detail-type": envelope.event_type,
            "source": envelope.source(), "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail": envelope,
        })
        .to_string()
    }

    fn user_created() -> UserCreated {
        UserCreated {
            user: UserSnapshot {
                user_id: UserId::new(1),
                kyc_status: KycStatus::Pending,
                account_tier: AccountTier::Bronze,
                version: 1,
            },
            email: "a@b.c".into(),
            name: "A".into(),
        }
    }

    #[tokio::test]
    async fn a_poison_message_fails_alone() {
        let envelope = EventEnvelope::new(
            &user_created(),
            &Causality::from_request(TraceId::generate()),
        );
        let mut batch = SqsEvent::default();
        batch.records = vec![
            sqs_message("good-1", bus_body(&envelope)),
            sqs_message("poison", "{not json".into()),
            sqs_message("good-2", bus_body(&envelope)),
        ];
        let recorder = Recorder {
            seen: Mutex::new(Vec::new()),
        };
        let response = consume_batch(&recorder, batch).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["poison"]);
        assert_eq!(recorder.seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_live_consumer_acknowledges_a_replay_without_acting_on_it() {
        let envelope = EventEnvelope::new(
            &user_created(),
            &Causality::from_request(TraceId::generate()),
        );
        let live = bus_body(&envelope);
        let mut batch = SqsEvent::default();
        batch.records = vec![
            sqs_message("replayed", replayed(&live, "reporting-rebuild-1")),
            sqs_message("live", live),
        ];
        let recorder = Recorder {
            seen: Mutex::new(Vec::new()),
        };
        let response = consume_batch(&recorder, batch).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(*recorder.seen.lock().unwrap(), [envelope.event_id]);
    }

    #[tokio::test]
    async fn a_rebuild_consumer_acts_on_replays_only() {
        struct Rebuild(Recorder);
        #[async_trait]
        impl EventConsumer for Rebuild {
            fn name(&self) -> &'static str {
                "rebuild"
            }
            fn reads(&self) -> &'static [EventRead] {
                self.0.reads()
            }
            fn delivery(&self) -> Delivery {
                Delivery::Replay
            }
            async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
                self.0.consume(message).await
            }
        }
        let envelope = EventEnvelope::new(
            &user_created(),
            &Causality::from_request(TraceId::generate()),
        );
        let live = bus_body(&envelope);
        let mut batch = SqsEvent::default();
        batch.records = vec![
            sqs_message("live", live.clone()),
            sqs_message("replayed", replayed(&live, "reporting-rebuild-1")),
        ];
        let rebuild = Rebuild(Recorder {
            seen: Mutex::new(Vec::new()),
        });
        let response = consume_batch(&rebuild, batch).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(*rebuild.0.seen.lock().unwrap(), [envelope.event_id]);
    }
}
