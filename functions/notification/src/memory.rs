//! An in-memory `NotificationStore` for unit tests: the same contract as the DynamoDB
//! adapter (inbox marker and records written together, or not at all).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use finflow_shared::UserId;
use finflow_shared::consumer::InboxMarker;
use finflow_shared::dynamo::{BadCursor, ListError, StoreError};
use uuid::Uuid;

use crate::domain::{Channel, Record};
use crate::store::{NotificationStore, RecordOutcome, RecordPage, StoredPreferences};

#[derive(Default)]
pub struct MemoryStore {
    preferences: Mutex<HashMap<UserId, StoredPreferences>>,
    inbox: Mutex<HashSet<(String, Uuid)>>,
    /// In the order recorded.
    records: Mutex<Vec<Record>>,
}

impl MemoryStore {
    pub fn records_of(&self, user_id: UserId) -> Vec<Record> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.notification.user_id == user_id)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn preferences(&self, user_id: UserId) -> Result<Option<StoredPreferences>, StoreError> {
        Ok(self.preferences.lock().unwrap().get(&user_id).cloned())
    }

    async fn save_preferences(
        &self,
        user_id: UserId,
        preferences: &StoredPreferences,
    ) -> Result<(), StoreError> {
        self.preferences
            .lock()
            .unwrap()
            .insert(user_id, preferences.clone());
        Ok(())
    }

    async fn is_recorded(
        &self,
        user_id: UserId,
        event_id: Uuid,
        channel: Channel,
    ) -> Result<bool, StoreError> {
        Ok(self.records.lock().unwrap().iter().any(|r| {
            let n = &r.notification;
            n.user_id == user_id && n.event_id == event_id && n.channel == channel
        }))
    }

    async fn record(
        &self,
        inbox: InboxMarker,
        records: &[Record],
    ) -> Result<RecordOutcome, StoreError> {
        if !self
            .inbox
            .lock()
            .unwrap()
            .insert((inbox.consumer.to_owned(), inbox.event_id))
        {
            return Ok(RecordOutcome::AlreadyRecorded);
        }
        self.records.lock().unwrap().extend_from_slice(records);
        Ok(RecordOutcome::Recorded)
    }

    async fn list(
        &self,
        user_id: UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<RecordPage, ListError> {
        let mut mine = self.records_of(user_id);
        mine.sort_by_key(|r| (r.notification.event_id, r.notification.channel));
        mine.reverse();
        let start = match cursor {
            None => 0,
            Some(cursor) => cursor.parse::<usize>().map_err(|_| BadCursor)?,
        };
        let end = (start + limit as usize).min(mine.len());
        Ok(RecordPage {
            records: mine[start.min(end)..end].to_vec(),
            next_cursor: (end < mine.len()).then(|| end.to_string()),
        })
    }
}
