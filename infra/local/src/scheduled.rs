//! The event EventBridge sends a function on a `Schedule` (SAM) rule.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::{Value, json};

/// The scheduled event of `logical_id`'s schedule `name`.
pub fn scheduled_event(region: &str, account: &str, logical_id: &str, name: &str) -> Value {
    let mut event: EventBridgeEvent = EventBridgeEvent::default();
    event.version = Some("0".into());
    event.id = Some(uuid::Uuid::new_v4().to_string());
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.events".into();
    event.account = Some(account.to_owned());
    event.time = Some(chrono::Utc::now());
    event.region = Some(region.to_owned());
    event.resources = Some(vec![format!(
        "arn:aws:events:{region}:{account}:rule/{logical_id}{name}"
    )]);
    event.detail = json!({});
    serde_json::to_value(event).expect("a scheduled event serializes")
}
