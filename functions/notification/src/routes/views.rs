//! What the API shows of preferences and notifications.

use finflow_shared::UserId;
use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::preferences::mandatory;
use crate::domain::{Delivery, Preferences, Record};

#[derive(Debug, Serialize)]
pub struct PreferencesView {
    pub user_id: UserId,
    /// channel → category → on.
    pub channels: BTreeMap<&'static str, BTreeMap<&'static str, bool>>,
    /// Cells that cannot be turned off, as `channel.category`.
    pub mandatory: Vec<String>,
    /// False while the user never set any: these are the defaults.
    pub customized: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl PreferencesView {
    pub fn new(
        user_id: UserId,
        preferences: &Preferences,
        updated_at: Option<OffsetDateTime>,
    ) -> Self {
        let mut channels: BTreeMap<&'static str, BTreeMap<&'static str, bool>> = BTreeMap::new();
        let mut locked = Vec::new();
        for (channel, category, enabled) in preferences.cells() {
            channels
                .entry(channel.as_str())
                .or_default()
                .insert(category.as_str(), enabled);
            if mandatory(channel, category) {
                locked.push(format!("{}.{}", channel.as_str(), category.as_str()));
            }
        }
        PreferencesView {
            user_id,
            channels,
            mandatory: locked,
            customized: updated_at.is_some(),
            updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub user_id: UserId,
    pub channel: &'static str,
    pub category: &'static str,
    pub event_type: String,
    pub event_id: Uuid,
    pub subject: Option<String>,
    pub body: String,
    /// `sent`, `suppressed` (the user turned the channel off for the category) or `failed`.
    pub delivery: &'static str,
    pub sns_message_id: Option<String>,
    pub trace_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl From<&Record> for NotificationView {
    fn from(record: &Record) -> Self {
        let n = &record.notification;
        NotificationView {
            id: n.id,
            user_id: n.user_id,
            channel: n.channel.as_str(),
            category: n.category.as_str(),
            event_type: n.event_type.clone(),
            event_id: n.event_id,
            subject: n.subject.clone(),
            body: n.body.clone(),
            delivery: record.delivery.state(),
            sns_message_id: match &record.delivery {
                Delivery::Sent { message_id } => Some(message_id.clone()),
                _ => None,
            },
            trace_id: n.trace_id.clone(),
            occurred_at: n.occurred_at,
            recorded_at: record.recorded_at,
        }
    }
}
