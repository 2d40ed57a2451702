//! Where notification keeps its state: the port, and its DynamoDB adapter.
//!
//! Notification table layout (pk, sk):
//! - `USER#<user>`, `PREFERENCES`: the user's channel × category matrix (absent: defaults)
//! - `USER#<user>`, `NOTIFICATION#<event id>#<channel>`: one notification and its delivery.
//!   Event ids are UUIDv7, which sort by time, so a user's notifications list newest first
//!   by a reverse query of their partition.
//!
//! The consumer's inbox marker lives in the idempotency table, written in the same
//! transaction as the notifications of the event.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use finflow_shared::UserId;
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::dynamo::{
    Item, ItemExt, ListError, StoreError, fetch_page, get_item, number, page_query, text, timestamp,
};
use finflow_shared::transaction::{TransactError, transact};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Category, Channel, Delivery, Notification, Preferences, Record};

/// A user's stored preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreferences {
    pub preferences: Preferences,
    pub updated_at: OffsetDateTime,
}

/// One page of a user's notifications, newest first.
#[derive(Debug, Clone)]
pub struct RecordPage {
    pub records: Vec<Record>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded,
    /// The inbox already held the event: another delivery recorded it.
    AlreadyRecorded,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn preferences(&self, user_id: UserId) -> Result<Option<StoredPreferences>, StoreError>;
    async fn save_preferences(
        &self,
        user_id: UserId,
        preferences: &StoredPreferences,
    ) -> Result<(), StoreError>;
    /// Whether the notification of `event_id` to `user_id` on `channel` is recorded.
    async fn is_recorded(
        &self,
        user_id: UserId,
        event_id: Uuid,
        channel: Channel,
    ) -> Result<bool, StoreError>;
    /// Records an event's notifications and the consumer's inbox marker for it, atomically.
    async fn record(
        &self,
        inbox: InboxMarker,
        records: &[Record],
    ) -> Result<RecordOutcome, StoreError>;
    /// A page of the user's notifications, newest first.
    async fn list(
        &self,
        user_id: UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<RecordPage, ListError>;
}

const PREFERENCES: &str = "PREFERENCES";
const NOTIFICATION_PREFIX: &str = "NOTIFICATION#";

fn user_pk(user_id: UserId) -> String {
    format!("USER#{user_id}")
}

fn notification_sk(event_id: Uuid, channel: Channel) -> String {
    format!("{NOTIFICATION_PREFIX}{event_id}#{}", channel.as_str())
}

fn uuid_of(item: &Item, attribute: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&item.string(attribute)?).map_err(|_| item.corrupt(attribute))
}

fn preferences_item(user_id: UserId, stored: &StoredPreferences) -> Item {
    let mut channels: HashMap<String, HashMap<String, AttributeValue>> = HashMap::new();
    for (channel, category, enabled) in stored.preferences.cells() {
        channels
            .entry(channel.as_str().to_owned())
            .or_default()
            .insert(category.as_str().to_owned(), AttributeValue::Bool(enabled));
    }
    Item::from([
        ("pk".into(), text(user_pk(user_id))),
        ("sk".into(), text(PREFERENCES)),
        ("user_id".into(), number(user_id)),
        (
            "channels".into(),
            AttributeValue::M(
                channels
                    .into_iter()
                    .map(|(channel, cells)| (channel, AttributeValue::M(cells)))
                    .collect(),
            ),
        ),
        ("updated_at".into(), timestamp(stored.updated_at)),
    ])
}

fn preferences_of(item: &Item) -> Result<StoredPreferences, StoreError> {
    let channels = item
        .get("channels")
        .and_then(|v| v.as_m().ok())
        .ok_or_else(|| item.corrupt("channels"))?;
    let mut cells = Vec::new();
    for (channel, categories) in channels {
        let categories = categories.as_m().map_err(|_| item.corrupt("channels"))?;
        for (category, enabled) in categories {
            let enabled = *enabled.as_bool().map_err(|_| item.corrupt("channels"))?;
            cells.push((channel.clone(), category.clone(), enabled));
        }
    }
    Ok(StoredPreferences {
        preferences: Preferences::from_stored(cells),
        updated_at: item.timestamp("updated_at")?,
    })
}

fn record_item(record: &Record) -> Item {
    let notification = &record.notification;
    let mut item = Item::from([
        ("pk".into(), text(user_pk(notification.user_id))),
        (
            "sk".into(),
            text(notification_sk(notification.event_id, notification.channel)),
        ),
        ("notification_id".into(), text(notification.id.to_string())),
        ("user_id".into(), number(notification.user_id)),
        ("channel".into(), text(notification.channel.as_str())),
        ("category".into(), text(notification.category.as_str())),
        ("event_id".into(), text(notification.event_id.to_string())),
        ("event_type".into(), text(&notification.event_type)),
        ("trace_id".into(), text(&notification.trace_id)),
        ("occurred_at".into(), timestamp(notification.occurred_at)),
        ("body".into(), text(&notification.body)),
        ("delivery".into(), text(record.delivery.state())),
        ("recorded_at".into(), timestamp(record.recorded_at)),
    ]);
    if let Some(subject) = &notification.subject {
        item.insert("subject".into(), text(subject));
    }
    match &record.delivery {
        Delivery::Sent { message_id } => {
            item.insert("sns_message_id".into(), text(message_id));
        }
        Delivery::Failed { error } => {
            item.insert("error".into(), text(error));
        }
        Delivery::Suppressed => {}
    }
    item
}

fn record_of(item: &Item) -> Result<Record, StoreError> {
    let delivery = match item.string("delivery")?.as_str() {
        "sent" => Delivery::Sent {
            message_id: item.string("sns_message_id")?,
        },
        "suppressed" => Delivery::Suppressed,
        "failed" => Delivery::Failed {
            error: item.optional_string("error").unwrap_or_default(),
        },
        _ => return Err(item.corrupt("delivery")),
    };
    Ok(Record {
        notification: Notification {
            id: uuid_of(item, "notification_id")?,
            user_id: item.number("user_id")?,
            channel: Channel::parse(&item.string("channel")?)
                .ok_or_else(|| item.corrupt("channel"))?,
            category: Category::parse(&item.string("category")?)
                .ok_or_else(|| item.corrupt("category"))?,
            event_id: uuid_of(item, "event_id")?,
            event_type: item.string("event_type")?,
            trace_id: item.string("trace_id")?,
            occurred_at: item.timestamp("occurred_at")?,
            subject: item.optional_string("subject"),
            body: item.string("body")?,
        },
        delivery,
        recorded_at: item.timestamp("recorded_at")?,
    })
}

pub struct DynamoNotificationStore {
    client: Client,
    table: String,
    inbox_table: String,
}

impl DynamoNotificationStore {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        inbox_table: impl Into<String>,
    ) -> DynamoNotificationStore {
        DynamoNotificationStore {
            client,
            table: table.into(),
            inbox_table: inbox_table.into(),
        }
    }
}

#[async_trait]
impl NotificationStore for DynamoNotificationStore {
    async fn preferences(&self, user_id: UserId) -> Result<Option<StoredPreferences>, StoreError> {
        get_item(&self.client, &self.table, user_pk(user_id), PREFERENCES)
            .await?
            .map(|item| preferences_of(&item))
            .transpose()
    }

    async fn save_preferences(
        &self,
        user_id: UserId,
        preferences: &StoredPreferences,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(preferences_item(user_id, preferences)))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    async fn is_recorded(
        &self,
        user_id: UserId,
        event_id: Uuid,
        channel: Channel,
    ) -> Result<bool, StoreError> {
        let item = get_item(
            &self.client,
            &self.table,
            user_pk(user_id),
            &notification_sk(event_id, channel),
        )
        .await?;
        Ok(item.is_some())
    }

    async fn record(
        &self,
        inbox: InboxMarker,
        records: &[Record],
    ) -> Result<RecordOutcome, StoreError> {
        let inbox = inbox_claim(&self.inbox_table, inbox);
        let items = records.iter().map(|record| {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record_item(record)))
                .build()
                .expect("table and item are set");
            TransactWriteItem::builder().put(put).build()
        });
        match transact(&self.client, inbox, items.collect()).await {
            Ok(()) => Ok(RecordOutcome::Recorded),
            Err(TransactError::AlreadyCommitted) => Ok(RecordOutcome::AlreadyRecorded),
            Err(TransactError::Cancelled { reasons }) => Err(StoreError::Sdk(format!(
                "transaction cancelled: {reasons:?}"
            ))),
            Err(TransactError::Store(error)) => Err(error),
        }
    }

    async fn list(
        &self,
        user_id: UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<RecordPage, ListError> {
        let pk = user_pk(user_id);
        let query = page_query(
            &self.client,
            &self.table,
            &pk,
            NOTIFICATION_PREFIX,
            limit,
            cursor,
        )?;
        let (records, next_cursor) = fetch_page(query.scan_index_forward(false), record_of).await?;
        Ok(RecordPage {
            records,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record(delivery: Delivery) -> Record {
        Record {
            notification: Notification {
                id: Uuid::now_v7(),
                user_id: UserId::new(5),
                channel: Channel::Sms,
                category: Category::Payments,
                event_id: Uuid::now_v7(),
                event_type: "payment.on_hold".into(),
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                occurred_at: datetime!(2026-01-01 10:00 UTC),
                subject: None,
                body: "FinFlow: your transfer of 950.0000 USD is under review.".into(),
            },
            delivery,
            recorded_at: datetime!(2026-01-01 10:00:01 UTC),
        }
    }

    #[test]
    fn records_round_trip_through_items() {
        for delivery in [
            Delivery::Sent {
                message_id: "m-1".into(),
            },
            Delivery::Suppressed,
            Delivery::Failed {
                error: "InvalidParameter: too long".into(),
            },
        ] {
            let record = record(delivery);
            let item = record_item(&record);
            assert_eq!(record_of(&item).unwrap(), record);
            assert!(
                item["sk"]
                    .as_s()
                    .unwrap()
                    .starts_with(&format!("NOTIFICATION#{}", record.notification.event_id))
            );
        }
    }

    #[test]
    fn preferences_round_trip_through_items() {
        let stored = StoredPreferences {
            preferences: Preferences::from_stored([("sms".into(), "payments".into(), false)]),
            updated_at: datetime!(2026-01-01 10:00 UTC),
        };
        assert_eq!(
            preferences_of(&preferences_item(UserId::new(5), &stored)).unwrap(),
            stored
        );
    }
}
