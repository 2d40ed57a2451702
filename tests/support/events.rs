//! Looking at events behind the API: the outbox, the wallet's projection, queues and the
//! runner's log of what consumers did.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use finflow_shared::events::EventEnvelope;
use serde_json::json;

use crate::{Platform, eventually, log_field};

/// Cascades on the local platform take well under a second; this bound only catches a hang.
pub const CASCADE_TIMEOUT: Duration = Duration::from_secs(30);

/// The committed outbox envelope of `event_type` about `user_id`.
pub async fn outbox_event(
    platform: &Platform,
    event_type: &str,
    user_id: u64,
) -> Option<EventEnvelope> {
    let output = platform
        .dynamo
        .scan()
        .table_name(platform.table("OutboxTable"))
        .filter_expression("event_type = :type AND contains(envelope, :user)")
        .expression_attribute_values(":type", AttributeValue::S(event_type.into()))
        .expression_attribute_values(
            ":user",
            AttributeValue::S(format!("\"user_id\":{user_id},")),
        )
        .send()
        .await
        .expect("the outbox scans");
    output.items().iter().find_map(|item| {
        let json = item.get("envelope")?.as_s().ok()?;
        serde_json::from_str(json).ok()
    })
}

/// Wallet's projection of a user, once it exists at `version` or later.
pub async fn wallet_customer(
    platform: &Platform,
    user_id: u64,
    version: u64,
) -> (HashMap<String, AttributeValue>, Duration) {
    eventually(
        &format!("wallet to learn user {user_id} v{version}"),
        CASCADE_TIMEOUT,
        || async {
            let item = platform
                .item(
                    "WalletTable",
                    &format!("CUSTOMER#{user_id}"),
                    Some("PROFILE"),
                )
                .await?;
            let seen: u64 = item.get("version")?.as_n().ok()?.parse().ok()?;
            (seen >= version).then_some(item)
        },
    )
    .await
}

pub fn attribute<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(value) | AttributeValue::N(value)) => value,
        other => panic!("attribute {name} is {other:?}"),
    }
}

/// The EventBridge event a rule would put on a queue for `envelope`, from the platform's
/// account (whatever account id the emulator uses).
pub fn bus_message(platform: &Platform, envelope: &EventEnvelope) -> String {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": envelope.event_type,
        "source": envelope.source(),
        "account": platform.account(),
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": envelope,
    })
    .to_string()
}

/// Waits until a queue holds no visible and no in-flight messages.
pub async fn drained(platform: &Platform, queue: &str) {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
    };
    let url = platform.queue(queue).url.clone();
    eventually(&format!("{queue} to drain"), CASCADE_TIMEOUT, || async {
        let output = platform
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(ApproximateNumberOfMessages)
            .attribute_names(ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .ok()?;
        let attributes = output.attributes()?;
        let count = |name| {
            attributes
                .get(&name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (count(ApproximateNumberOfMessages) == 0
            && count(ApproximateNumberOfMessagesNotVisible) == 0)
            .then_some(())
    })
    .await;
}

/// Outcomes the runner logged for `event_id` handled by `consumer` (Applied, Duplicate, ...).
pub fn consumer_outcomes(platform: &Platform, consumer: &str, event_id: &str) -> Vec<String> {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "event consumed")
        .filter(|line| {
            log_field(line, "event_id") == Some(event_id)
                && log_field(line, "consumer") == Some(consumer)
        })
        .filter_map(|line| line["outcome"].as_str().map(str::to_owned))
        .collect()
}

/// (consumer, outcome) of every delivery of the archive replay `replay_name` the runner
/// logged, whichever consumer it reached.
pub fn replay_outcomes(platform: &Platform, replay_name: &str) -> Vec<(String, String)> {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "event consumed")
        .filter(|line| log_field(line, "replay_name") == Some(replay_name))
        .filter_map(|line| {
            Some((
                log_field(line, "consumer")?.to_owned(),
                line["outcome"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Waits until the platform is quiet: every outbox row published (the outbox table's sparse
/// index of unpublished rows is empty) and then every consumer queue drained. Draining alone
/// is not enough: an event still on its way from the outbox leaves every queue empty.
pub async fn quiet(platform: &Platform) {
    let outbox = platform.table("OutboxTable").to_owned();
    eventually(
        "every outbox row to be published",
        CASCADE_TIMEOUT,
        || async {
            let output = platform
                .dynamo
                .scan()
                .table_name(&outbox)
                .index_name(finflow_shared::outbox::UNPUBLISHED_INDEX)
                .limit(1)
                .send()
                .await
                .ok()?;
            (output.count() == 0 && output.last_evaluated_key().is_none()).then_some(())
        },
    )
    .await;
    for _ in 0..2 {
        for queue in platform.consumer_queues() {
            drained(platform, queue).await;
        }
    }
}

/// Every item of the outbox table, read consistently, page by page.
pub async fn outbox_items(platform: &Platform) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = platform
            .dynamo
            .scan()
            .table_name(platform.table("OutboxTable"))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the outbox scans");
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}
