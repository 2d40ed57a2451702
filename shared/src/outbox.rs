//! The transactional outbox. A service writes its events into the outbox table in the same
//! DynamoDB transaction as the state change they describe; the relay, fed by the outbox
//! table's stream, publishes them to EventBridge and marks each row published. A commit
//! therefore always yields its events, and an aborted transaction yields none.
//!
//! The stream is the fast path, not the only one: a stream keeps records for 24 hours, so an
//! event whose publishing fails for longer (or whose record is lost) would never go out. Every
//! row is written with an `unpublished` attribute, the key of a sparse index that the relay's
//! mark removes; the scheduled [`OutboxSweeper`] publishes what that index still holds after a
//! grace period.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use futures_util::future::join_all;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{ConfigError, Env};
use crate::dynamo::{Item, StoreError, is_condition_failure, number, text};
use crate::events::{EventEnvelope, EventPublisher};
use crate::transaction::Witness;

/// Published events stay a week for diagnosis, then expire.
const RETENTION: time::Duration = time::Duration::days(7);

/// The outbox table's sparse index of rows not yet marked published, by age
/// (template.yaml `OutboxTable`).
pub const UNPUBLISHED_INDEX: &str = "unpublished-by-age";

/// Unpublished rows are spread over this many index partitions, so that a burst of writes is
/// not all on one index key. The sweeper queries each.
const UNPUBLISHED_SHARDS: u8 = 4;

/// Events per EventBridge PutEvents call.
const PUBLISH_CHUNK: usize = 10;

fn outbox_key(event_id: Uuid) -> String {
    format!("EVENT#{event_id}")
}

/// The index partition of an unpublished row (v7 ids end in random bits).
fn unpublished_shard(event_id: Uuid) -> String {
    (event_id.as_bytes()[15] % UNPUBLISHED_SHARDS).to_string()
}

/// The transaction item that records `event` for publication.
pub fn outbox_put(table: &str, event: &EventEnvelope) -> TransactWriteItem {
    let now = OffsetDateTime::now_utc();
    let expires_at = (now + RETENTION).unix_timestamp();
    let put = Put::builder()
        .table_name(table)
        .item("pk", text(outbox_key(event.event_id)))
        .item("event_type", text(&event.event_type))
        .item("trace_id", text(event.trace_id.as_str()))
        .item(
            "envelope",
            text(serde_json::to_string(event).expect("envelopes serialize")),
        )
        .item("expires_at", number(expires_at))
        // The sparse index's keys: the relay removes `unpublished` once the event is out.
        .item("unpublished", text(unpublished_shard(event.event_id)))
        .item("created_at", number(unix_millis(now)))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("table, item and condition are set");
    TransactWriteItem::builder().put(put).build()
}

/// The event's outbox row as the [`Witness`] of the transaction that records it, for a write
/// planned once: only that plan carries this event id, so a row that exists after a lost
/// answer is this very write, committed.
pub fn outbox_witness(table: &str, event: &EventEnvelope) -> Witness {
    Witness::created(
        outbox_put(table, event),
        table,
        HashMap::from([("pk".to_owned(), text(outbox_key(event.event_id)))]),
    )
}

fn unix_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// An outbox row the sparse index still lists as unpublished.
#[derive(Debug, Clone)]
pub struct UnpublishedRow {
    pub pk: String,
    /// When the row was written, in Unix milliseconds.
    pub created_at: i64,
    /// The envelope, or why it cannot be read.
    pub envelope: Result<EventEnvelope, String>,
}

/// The outbox rows' publication bookkeeping.
#[async_trait]
pub trait OutboxRows: Send + Sync {
    /// Marks the row of `event_id` published. `Ok(false)` when the row no longer exists (it
    /// expired): the mark never brings a row back.
    async fn mark_published(&self, event_id: Uuid) -> Result<bool, StoreError>;

    /// Up to `limit` rows not marked published and written before `cutoff`, oldest first
    /// within each index partition.
    async fn unpublished_before(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<UnpublishedRow>, StoreError>;
}

/// [`OutboxRows`] on the outbox table and its sparse index.
pub struct DynamoOutboxRows {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoOutboxRows {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoOutboxRows {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl OutboxRows for DynamoOutboxRows {
    async fn mark_published(&self, event_id: Uuid) -> Result<bool, StoreError> {
        let now = number(unix_millis(OffsetDateTime::now_utc()));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", text(outbox_key(event_id)))
            // The first publication's time stays when the sweeper and the relay both publish.
            .update_expression(
                "SET published_at = if_not_exists(published_at, :now) REMOVE unpublished",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", now)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(StoreError::sdk(error)),
        }
    }

    async fn unpublished_before(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<UnpublishedRow>, StoreError> {
        let cutoff = unix_millis(cutoff);
        // Each partition gets its share, so one backlogged partition does not starve the rest.
        let per_shard = limit.div_ceil(UNPUBLISHED_SHARDS as usize);
        let mut rows = Vec::new();
        for shard in 0..UNPUBLISHED_SHARDS {
            let mut start: Option<Item> = None;
            let mut taken = 0;
            while taken < per_shard {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(UNPUBLISHED_INDEX)
                    .key_condition_expression("unpublished = :shard AND created_at < :cutoff")
                    .expression_attribute_values(":shard", text(shard.to_string()))
                    .expression_attribute_values(":cutoff", number(cutoff))
                    .limit((per_shard - taken).min(100) as i32)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(StoreError::sdk)?;
                taken += page.items().len();
                rows.extend(page.items().iter().map(unpublished_row));
                start = page.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        rows.truncate(limit);
        Ok(rows)
    }
}

fn unpublished_row(item: &Item) -> UnpublishedRow {
    let string = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    UnpublishedRow {
        pk: string("pk").unwrap_or_default(),
        created_at: match item.get("created_at") {
            Some(AttributeValue::N(value)) => value.parse().unwrap_or_default(),
            _ => 0,
        },
        envelope: string("envelope")
            .ok_or_else(|| "no envelope attribute".to_owned())
            .and_then(|json| serde_json::from_str(&json).map_err(|e| e.to_string())),
    }
}

/// Marks published events' rows, concurrently. A failed mark is logged and otherwise ignored:
/// the event is out, and the worst outcome is the sweeper publishing it once more later.
async fn mark_all(rows: &dyn OutboxRows, events: &[EventEnvelope]) {
    let marks = join_all(events.iter().map(|e| rows.mark_published(e.event_id))).await;
    for (event, mark) in events.iter().zip(marks) {
        match mark {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(event_id = %event.event_id, "published event's outbox row already expired")
            }
            Err(error) => tracing::warn!(
                event_id = %event.event_id,
                %error,
                "cannot mark the event published; the sweeper may publish it again"
            ),
        }
    }
}

/// Drains outbox stream records to the bus, in stream order.
pub struct OutboxRelay {
    publisher: Arc<dyn EventPublisher>,
    rows: Arc<dyn OutboxRows>,
}

impl OutboxRelay {
    pub fn new(publisher: Arc<dyn EventPublisher>, rows: Arc<dyn OutboxRows>) -> Self {
        OutboxRelay { publisher, rows }
    }

    /// Publishes the envelopes of newly inserted outbox items and marks their rows published.
    /// On failure it reports the first unpublished record, so the stream retries from there
    /// and nothing after it is skipped.
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
        for chunk in pending.chunks(PUBLISH_CHUNK) {
            let envelopes: Vec<EventEnvelope> = chunk.iter().map(|(_, e)| e.clone()).collect();
            match self.publisher.publish(&envelopes).await {
                Ok(()) => {
                    for envelope in &envelopes {
                        tracing::info!(
                            traceId = %envelope.trace_id,
                            event_id = %envelope.event_id,
                            event_type = %envelope.event_type,
                            causation_id = envelope.causation_id.map(|id| id.to_string()),
                            producer = %envelope.producer,
                            "event published"
                        );
                    }
                    mark_all(self.rows.as_ref(), &envelopes).await;
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

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Events published (and marked) by this sweep.
    pub swept: usize,
    /// Overdue rows that hold no readable envelope; they stay, logged on every sweep.
    pub unreadable: usize,
    /// Overdue events whose publishing failed; the next sweep tries again.
    pub failed: usize,
}

/// The sweeper's grace period: `OUTBOX_SWEEP_GRACE_SECONDS` (template parameter
/// OutboxSweepGraceSeconds), 10 minutes when unset. The stream publishes within seconds, so
/// only a row older than this is overdue.
pub fn sweep_grace(env: &Env) -> Result<time::Duration, ConfigError> {
    const NAME: &str = "OUTBOX_SWEEP_GRACE_SECONDS";
    match env.optional(NAME) {
        None => Ok(time::Duration::minutes(10)),
        Some(text) => text
            .parse::<u32>()
            .map(|seconds| time::Duration::seconds(seconds.into()))
            .map_err(|e| ConfigError::Invalid {
                name: NAME.into(),
                reason: e.to_string(),
            }),
    }
}

/// Publishes the events the stream did not: rows still unpublished after a grace period.
///
/// Double publication is possible and harmless: the relay may publish an overdue event while
/// the sweeper does (a stream retrying for longer than the grace period), and a mark that
/// failed leaves a published row listed. Consumers are idempotent by event id (their inbox
/// marker), so a second copy is acknowledged without effect.
pub struct OutboxSweeper {
    publisher: Arc<dyn EventPublisher>,
    rows: Arc<dyn OutboxRows>,
    grace: time::Duration,
    max_per_run: usize,
}

impl OutboxSweeper {
    /// Rows at most this many per run; the rest wait for the next scheduled run.
    pub const MAX_PER_RUN: usize = 500;

    pub fn new(
        publisher: Arc<dyn EventPublisher>,
        rows: Arc<dyn OutboxRows>,
        grace: time::Duration,
    ) -> Self {
        OutboxSweeper {
            publisher,
            rows,
            grace,
            max_per_run: Self::MAX_PER_RUN,
        }
    }

    /// Rows written before this are overdue at `now`.
    pub fn cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        now - self.grace
    }

    /// Publishes every overdue event, then marks its row.
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<SweepReport, StoreError> {
        let cutoff = self.cutoff(now);
        let rows = self
            .rows
            .unpublished_before(cutoff, self.max_per_run)
            .await?;
        let mut report = SweepReport::default();
        let mut overdue = Vec::new();
        for row in rows {
            // The index query already bounds the age; this keeps a store that returns more
            // from publishing an event the stream may still be about to deliver.
            if row.created_at >= unix_millis(cutoff) {
                continue;
            }
            match row.envelope {
                Ok(envelope) => overdue.push(envelope),
                Err(error) => {
                    report.unreadable += 1;
                    tracing::error!(pk = %row.pk, %error, "unreadable outbox row not swept");
                }
            }
        }
        for chunk in overdue.chunks(PUBLISH_CHUNK) {
            match self.publisher.publish(chunk).await {
                Ok(()) => {
                    for envelope in chunk {
                        tracing::warn!(
                            traceId = %envelope.trace_id,
                            event_id = %envelope.event_id,
                            event_type = %envelope.event_type,
                            causation_id = envelope.causation_id.map(|id| id.to_string()),
                            producer = %envelope.producer,
                            "event swept"
                        );
                    }
                    report.swept += chunk.len();
                    mark_all(self.rows.as_ref(), chunk).await;
                }
                Err(error) => {
                    tracing::warn!(%error, events = chunk.len(), "sweeper publish failed; the next sweep retries");
                    report.failed += chunk.len();
                }
            }
        }
        tracing::info!(
            swept = report.swept,
            unreadable = report.unreadable,
            failed = report.failed,
            grace_seconds = self.grace.whole_seconds(),
            "outbox sweep finished"
        );
        // Any swept event means the stream path lost one (the backlog alarm in template.yaml).
        crate::telemetry::metrics::outbox_swept(
            report.swept as u64,
            report.unreadable as u64,
            report.failed as u64,
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::events::PublishError;

    #[derive(Default)]
    struct FakePublisher {
        published: Mutex<Vec<Uuid>>,
        fail: bool,
    }

    #[async_trait]
    impl EventPublisher for FakePublisher {
        async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
            if self.fail {
                return Err(PublishError("down".into()));
            }
            let mut published = self.published.lock().unwrap();
            published.extend(events.iter().map(|e| e.event_id));
            Ok(())
        }
    }

    #[derive(Default)]
    struct FakeRows {
        rows: Vec<UnpublishedRow>,
        asked_cutoff: Mutex<Option<OffsetDateTime>>,
        marked: Mutex<Vec<Uuid>>,
    }

    #[async_trait]
    impl OutboxRows for FakeRows {
        async fn mark_published(&self, event_id: Uuid) -> Result<bool, StoreError> {
            self.marked.lock().unwrap().push(event_id);
            Ok(true)
        }

        async fn unpublished_before(
            &self,
            cutoff: OffsetDateTime,
            limit: usize,
        ) -> Result<Vec<UnpublishedRow>, StoreError> {
            *self.asked_cutoff.lock().unwrap() = Some(cutoff);
            Ok(self.rows.iter().take(limit).cloned().collect())
        }
    }

    fn envelope() -> EventEnvelope {
        serde_json::from_value(serde_json::json!({
            "event_id": Uuid::now_v7(),
            "event_type": "user.created",
            "schema_version": 1,
            "occurred_at": "2026-01-01T00:00:00Z",
            "producer": "auth",
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "causation_id": null,
            "data": {}
        }))
        .expect("a test envelope")
    }

    fn row(envelope: &EventEnvelope, created_at: OffsetDateTime) -> UnpublishedRow {
        UnpublishedRow {
            pk: outbox_key(envelope.event_id),
            created_at: unix_millis(created_at),
            envelope: Ok(envelope.clone()),
        }
    }

    fn sweeper(publisher: &Arc<FakePublisher>, rows: &Arc<FakeRows>) -> OutboxSweeper {
        OutboxSweeper::new(publisher.clone(), rows.clone(), time::Duration::minutes(10))
    }

    #[tokio::test]
    async fn the_sweeper_publishes_and_marks_only_rows_older_than_the_grace_period() {
        let now = OffsetDateTime::now_utc();
        let (old, just_overdue, young) = (envelope(), envelope(), envelope());
        let rows = Arc::new(FakeRows {
            rows: vec![
                row(&old, now - time::Duration::hours(30)),
                row(
                    &just_overdue,
                    now - time::Duration::minutes(10) - time::Duration::milliseconds(1),
                ),
                // Younger than the grace period: the stream may still deliver it.
                row(&young, now - time::Duration::minutes(9)),
            ],
            ..FakeRows::default()
        });
        let publisher = Arc::new(FakePublisher::default());

        let report = sweeper(&publisher, &rows).sweep(now).await.unwrap();

        assert_eq!(
            *rows.asked_cutoff.lock().unwrap(),
            Some(now - time::Duration::minutes(10))
        );
        let expected = vec![old.event_id, just_overdue.event_id];
        assert_eq!(*publisher.published.lock().unwrap(), expected);
        assert_eq!(*rows.marked.lock().unwrap(), expected);
        assert_eq!(
            report,
            SweepReport {
                swept: 2,
                ..SweepReport::default()
            }
        );
    }

    #[tokio::test]
    async fn a_failed_sweep_publish_marks_nothing_and_unreadable_rows_stay() {
        let now = OffsetDateTime::now_utc();
        let event = envelope();
        let rows = Arc::new(FakeRows {
            rows: vec![
                row(&event, now - time::Duration::hours(1)),
                UnpublishedRow {
                    pk: "EVENT#broken".into(),
                    created_at: unix_millis(now - time::Duration::hours(1)),
                    envelope: Err("not JSON".into()),
                },
            ],
            ..FakeRows::default()
        });
        let publisher = Arc::new(FakePublisher {
            fail: true,
            ..FakePublisher::default()
        });

        let report = sweeper(&publisher, &rows).sweep(now).await.unwrap();

        assert!(rows.marked.lock().unwrap().is_empty());
        assert_eq!(
            report,
            SweepReport {
                swept: 0,
                unreadable: 1,
                failed: 1
            }
        );
    }

    #[tokio::test]
    async fn the_relay_marks_what_it_published_and_nothing_after_a_failure() {
        let events = [envelope(), envelope()];
        let records: Vec<serde_json::Value> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                serde_json::json!({
                    "eventID": i.to_string(),
                    "eventName": "INSERT",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "SequenceNumber": format!("{}", 100 + i),
                        "NewImage": { "envelope": { "S": serde_json::to_string(e).unwrap() } },
                        "StreamViewType": "NEW_IMAGE",
                        "SizeBytes": 1
                    }
                })
            })
            .collect();
        let batch: StreamEvent =
            serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();

        let rows = Arc::new(FakeRows::default());
        let relay = OutboxRelay::new(Arc::new(FakePublisher::default()), rows.clone());
        let response = relay.relay(batch.clone()).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            *rows.marked.lock().unwrap(),
            events.iter().map(|e| e.event_id).collect::<Vec<_>>()
        );

        let rows = Arc::new(FakeRows::default());
        let failing = Arc::new(FakePublisher {
            fail: true,
            ..FakePublisher::default()
        });
        let response = OutboxRelay::new(failing, rows.clone()).relay(batch).await;
        assert_eq!(
            response.batch_item_failures[0].item_identifier.as_deref(),
            Some("100")
        );
        assert!(rows.marked.lock().unwrap().is_empty());
    }

    #[test]
    fn rows_are_written_for_the_sparse_index_and_read_back_from_it() {
        let event = envelope();
        let item = outbox_put("outbox", &event).put.expect("a put").item;
        let shard = item["unpublished"].as_s().unwrap().parse::<u8>().unwrap();
        assert!(shard < UNPUBLISHED_SHARDS);
        let row = unpublished_row(&item);
        assert_eq!(row.pk, outbox_key(event.event_id));
        assert!(row.created_at > 0);
        assert_eq!(row.envelope.unwrap(), event);
    }
}
