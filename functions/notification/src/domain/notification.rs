//! One notification: a rendered text for one user on one channel, and what became of it.

use finflow_shared::UserId;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::channel::{Category, Channel};

/// A notification to one user on one channel, caused by one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `notification_id(event_id, user_id, channel)`: the same on every redelivery of the
    /// event, so whoever receives it twice can tell.
    pub id: Uuid,
    pub user_id: UserId,
    pub channel: Channel,
    pub category: Category,
    pub event_id: Uuid,
    pub event_type: String,
    pub trace_id: String,
    /// When the event happened.
    pub occurred_at: OffsetDateTime,
    pub subject: Option<String>,
    pub body: String,
}

/// What became of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Published to the channel's topic; SNS's message id.
    Sent { message_id: String },
    /// Not sent: the user turned this channel off for this category.
    Suppressed,
    /// The channel rejected it for good (an invalid message); retrying would not help.
    Failed { error: String },
}

impl Delivery {
    pub fn state(&self) -> &'static str {
        match self {
            Delivery::Sent { .. } => "sent",
            Delivery::Suppressed => "suppressed",
            Delivery::Failed { .. } => "failed",
        }
    }
}

/// A notification and its delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub notification: Notification,
    pub delivery: Delivery,
    pub recorded_at: OffsetDateTime,
}

/// The id of the notification of `event_id` to `user_id` on `channel`: a UUID (version 8)
/// made of their SHA-256, so every attempt at the same event yields the same ids.
pub fn notification_id(event_id: Uuid, user_id: UserId, channel: Channel) -> Uuid {
    let digest = Sha256::digest(format!("{event_id}/{user_id}/{}", channel.as_str()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let event = Uuid::now_v7();
        let id = notification_id(event, UserId::new(1), Channel::Email);
        assert_eq!(id, notification_id(event, UserId::new(1), Channel::Email));
        assert_ne!(id, notification_id(event, UserId::new(1), Channel::Sms));
        assert_ne!(id, notification_id(event, UserId::new(2), Channel::Email));
        assert_ne!(
            id,
            notification_id(Uuid::now_v7(), UserId::new(1), Channel::Email)
        );
        assert_eq!(id.get_version_num(), 8);
    }
}
