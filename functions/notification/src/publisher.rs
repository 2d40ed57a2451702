//! Sending a notification on its channel: the port, and its SNS adapter (one topic per
//! channel). The workers subscribed to a topic (the e-mail sender, the SMS gateway, the push
//! service) resolve the user's address and deliver; they receive a JSON message and the
//! attributes below, which SNS subscription filter policies can match on.

use async_trait::async_trait;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::domain::{Channel, Notification};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// May succeed on a later attempt (throttling, a 5xx, the network, a missing topic or
    /// permission that an operator fixes): the event is retried, and ends in the DLQ if it
    /// keeps failing.
    #[error("publishing failed, will retry: {0}")]
    Transient(String),
    /// The message itself is invalid; no attempt will succeed. Recorded as failed.
    #[error("publishing was rejected: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait ChannelPublisher: Send + Sync {
    /// Publishes `notification` on its channel; returns the channel's message id.
    async fn publish(&self, notification: &Notification) -> Result<String, PublishError>;
}

/// The topic ARN of each channel.
#[derive(Debug, Clone)]
pub struct Topics {
    pub email: String,
    pub sms: String,
    pub push: String,
}

impl Topics {
    pub fn of(&self, channel: Channel) -> &str {
        match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
            Channel::Push => &self.push,
        }
    }
}

pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topics: Topics,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topics: Topics) -> SnsPublisher {
        SnsPublisher { client, topics }
    }
}

/// The SNS message: everything a channel worker needs, as JSON.
pub fn message_body(notification: &Notification) -> String {
    json!({
        "notification_id": notification.id,
        "user_id": notification.user_id,
        "channel": notification.channel.as_str(),
        "category": notification.category.as_str(),
        "event_type": notification.event_type,
        "event_id": notification.event_id,
        "trace_id": notification.trace_id,
        "occurred_at": notification.occurred_at.format(&Rfc3339).expect("timestamps format"),
        "subject": notification.subject,
        "body": notification.body,
    })
    .to_string()
}

/// The message attributes: what subscribers filter on and what traces a message.
pub fn message_attributes(notification: &Notification) -> Vec<(&'static str, String)> {
    vec![
        ("event_type", notification.event_type.clone()),
        ("channel", notification.channel.as_str().to_owned()),
        ("user_id", notification.user_id.to_string()),
        ("trace_id", notification.trace_id.clone()),
        ("notification_id", notification.id.to_string()),
        ("category", notification.category.as_str().to_owned()),
    ]
}

/// SNS error codes that mean the request itself is wrong. Everything else (throttling,
/// internal errors, a topic not found or not authorized, which an operator can fix) is
/// retried.
const PERMANENT_CODES: [&str; 2] = ["InvalidParameter", "InvalidParameterValue"];

fn classify<E, R>(error: SdkError<E, R>) -> PublishError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error
        .as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned);
    let text = aws_sdk_sns::error::DisplayErrorContext(error).to_string();
    match code {
        Some(code) if PERMANENT_CODES.contains(&code.as_str()) => PublishError::Permanent(text),
        _ => PublishError::Transient(text),
    }
}

#[async_trait]
impl ChannelPublisher for SnsPublisher {
    async fn publish(&self, notification: &Notification) -> Result<String, PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(self.topics.of(notification.channel))
            .message(message_body(notification));
        for (name, value) in message_attributes(notification) {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PublishError::Permanent(e.to_string()))?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(classify)?;
        output
            .message_id
            .ok_or_else(|| PublishError::Transient("SNS returned no message id".into()))
    }
}
