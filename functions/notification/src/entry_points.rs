//! Builds each of notification's Lambda functions from its configuration, for the binaries in `src/bin`
//! (which the local runner runs too) and the contract tools.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::health::{HealthChecks, Probe};
use finflow_shared::http::document_route;
use finflow_shared::jwt::{JwtSettings, TokenKeys};
use finflow_shared::runtime::BuildConsumer;
use serde_json::{Value, json};

use crate::dispatch::Dispatcher;
use crate::domain::Channel;
use crate::notifications::Notifications;
use crate::publisher::{SnsPublisher, Topics};
use crate::routes::{NotificationApiState, api};
use crate::store::DynamoNotificationStore;

pub const SERVICE: &str = "notification";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/notification.json");

/// Builds `notification-api`.
pub fn api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    api_state(sdk, env).map(api::routes)
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of
/// notification's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "notification-events" => Some(events),
        _ => None,
    }
}

fn store(sdk: &SdkConfig, env: &Env) -> Result<DynamoNotificationStore, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(DynamoNotificationStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("NOTIFICATION_TABLE")?,
        platform.idempotency_table,
    ))
}

fn topics(env: &Env) -> Result<Topics, ConfigError> {
    Ok(Topics {
        email: env.required("EMAIL_TOPIC_ARN")?,
        sms: env.required("SMS_TOPIC_ARN")?,
        push: env.required("PUSH_TOPIC_ARN")?,
    })
}

/// Builds `notification-events`.
pub fn events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(sdk), topics(env)?);
    Ok(Arc::new(Dispatcher::new(
        Arc::new(store(sdk, env)?),
        Arc::new(publisher),
    )))
}

fn api_state(sdk: &SdkConfig, env: &Env) -> Result<NotificationApiState, ConfigError> {
    Ok(NotificationApiState {
        notifications: Arc::new(Notifications::new(Arc::new(store(sdk, env)?))),
        keys: TokenKeys::new(JwtSettings::load(env)?),
    })
}

/// A channel's SNS topic.
struct TopicProbe {
    client: aws_sdk_sns::Client,
    channel: Channel,
    arn: String,
}

#[async_trait]
impl Probe for TopicProbe {
    fn name(&self) -> String {
        format!("sns:{}", self.arn.rsplit(':').next().unwrap_or(&self.arn))
    }

    async fn check(&self) -> Result<Value, String> {
        let output = self
            .client
            .get_topic_attributes()
            .topic_arn(&self.arn)
            .send()
            .await
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())?;
        let attribute = |name: &str| {
            output
                .attributes()
                .and_then(|a| a.get(name))
                .cloned()
                .unwrap_or_default()
        };
        Ok(json!({
            "channel": self.channel.as_str(),
            "subscriptions_confirmed": attribute("SubscriptionsConfirmed"),
        }))
    }
}

/// Builds `notification-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let topics = topics(env)?;
    let sns = aws_sdk_sns::Client::new(sdk);
    let mut checks = HealthChecks::new(sdk)
        .table(env.required("NOTIFICATION_TABLE")?)
        .table(platform.idempotency_table)
        .queue("notification-events", env.required("EVENTS_QUEUE_URL")?)
        .queue("notification-events-dlq", env.required("EVENTS_DLQ_URL")?);
    for channel in Channel::ALL {
        checks = checks.probe(Box::new(TopicProbe {
            client: sns.clone(),
            channel,
            arn: topics.of(channel).to_owned(),
        }));
    }
    Ok(checks
        .upstream("auth", platform.api_base_url.as_deref())
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
