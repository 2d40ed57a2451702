//! The event backbone end to end: outbox → relay → EventBridge → rule → SQS → consumer, and
//! the consumer's guarantees under redelivery and poison messages.

use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use finflow_shared::UserId;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::user::{UserCreated, UserSnapshot};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::trace::TraceId;
use finflow_system_tests::events::{
    CASCADE_TIMEOUT, attribute, bus_message, consumer_outcomes, drained, outbox_event,
    wallet_customer,
};
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, register_and_login, staff_account,
};
use serde_json::json;

const CONSUMER: &str = "wallet.customers";

#[tokio::test]
async fn user_created_reaches_wallet_through_the_bus() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "cascade").await;
    let (customer, lag) = wallet_customer(&platform, account.id, 1).await;
    println!("user.created cascade lag: {lag:?}");
    assert_eq!(attribute(&customer, "kyc_status"), "pending");
    assert_eq!(attribute(&customer, "account_tier"), "bronze");
    assert_eq!(attribute(&customer, "version"), "1");
}

#[tokio::test]
async fn a_tier_change_cascades_and_a_redelivered_older_event_acts_once() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "redelivery").await;
    let staff = staff_account(&platform).await;
    wallet_customer(&platform, account.id, 1).await;
    let response = platform
        .http
        .put(format!("{AUTH}/api/auth/user/{}/tier", account.id))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "account_tier": "gold" }))
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await;
    let (customer, lag) = wallet_customer(&platform, account.id, 2).await;
    println!("user.tier_changed cascade lag: {lag:?}");
    assert_eq!(attribute(&customer, "account_tier"), "gold");

    // SQS delivers at least once: the same user.created arrives twice more, after the change.
    let created = outbox_event(&platform, "user.created", account.id)
        .await
        .expect("user.created is in the outbox");
    let queue = &platform.queue("WalletUserEventsQueue").url;
    for _ in 0..2 {
        platform
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(bus_message(&platform, &created))
            .send()
            .await
            .unwrap();
    }
    drained(&platform, "WalletUserEventsQueue").await;
    let (outcomes, _) = eventually(
        "both redeliveries to be logged",
        CASCADE_TIMEOUT,
        || async {
            let outcomes = consumer_outcomes(&platform, CONSUMER, &created.event_id.to_string());
            (outcomes.len() >= 3).then_some(outcomes)
        },
    )
    .await;
    assert_eq!(outcomes, ["Applied", "Duplicate", "Duplicate"]);
    let (customer, _) = wallet_customer(&platform, account.id, 2).await;
    assert_eq!(
        attribute(&customer, "account_tier"),
        "gold",
        "a redelivery must not roll the tier back"
    );
    assert_eq!(attribute(&customer, "version"), "2");
}

#[tokio::test]
async fn a_poison_message_lands_in_the_dlq_while_the_rest_of_its_batch_is_processed() {
    let platform = Platform::connect().await;
    // Users that exist only as events, so this test owns every id it checks.
    let base = 1_000_000_000 + u64::from(uuid::Uuid::new_v4().as_fields().0 % 1_000_000);
    let envelope = |user_id: u64| {
        EventEnvelope::new(
            &UserCreated {
                user: UserSnapshot {
                    user_id: UserId::new(user_id),
                    kyc_status: KycStatus::Pending,
                    account_tier: AccountTier::Silver,
                    version: 1,
                },
                email: format!("synthetic-{user_id}@example.com"),
                name: "Synthetic".into(),
            },
            &Causality::from_request(TraceId::generate()),
        )
    };
    let poison = format!("{{\"poison\": \"{}\"", uuid::Uuid::new_v4());
    let entries = [
        bus_message(&platform, &envelope(base)),
        poison.clone(),
        bus_message(&platform, &envelope(base + 1)),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, body)| {
        SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(body)
            .build()
            .unwrap()
    })
    .collect::<Vec<_>>();
    platform
        .sqs
        .send_message_batch()
        .queue_url(&platform.queue("WalletUserEventsQueue").url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();

    for user_id in [base, base + 1] {
        let (customer, _) = wallet_customer(&platform, user_id, 1).await;
        assert_eq!(attribute(&customer, "account_tier"), "silver");
    }
    let dlq = platform.queue("WalletUserEventsDLQ").url.clone();
    let (body, after) = eventually(
        "the poison message to reach the DLQ",
        Duration::from_secs(60),
        || async {
            let output = platform
                .sqs
                .receive_message()
                .queue_url(&dlq)
                .max_number_of_messages(10)
                .send()
                .await
                .ok()?;
            output
                .messages()
                .iter()
                .filter_map(|m| m.body())
                .find(|b| *b == poison)
                .map(str::to_owned)
        },
    )
    .await;
    println!("poison message dead-lettered after {after:?}");
    assert_eq!(body, poison);
}

/// A cancelled transaction that touched the outbox publishes nothing, and the events committed
/// after it are not lost: every event the relay ever published is a committed outbox row.
#[tokio::test]
async fn a_cancelled_transaction_neither_publishes_a_phantom_nor_hides_the_next_event() {
    let platform = Platform::connect().await;
    // Racing registrations of one address all pass auth's early check; the losers' transactions
    // (user, email claim and outbox row) are cancelled by the email claim's condition.
    let email = finflow_system_tests::unique_email("racing");
    let attempts = (0..6).map(|_| {
        platform
            .http
            .post(format!("{AUTH}/api/auth/register"))
            .json(&json!({ "email": email, "password": "correct-horse-42", "name": "Racer" }))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let next = register_and_login(&platform, "after-cancel").await;
    wallet_customer(&platform, next.id, 1).await;

    let mut committed = std::collections::HashSet::new();
    let mut start: Option<
        std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    > = None;
    loop {
        let page = platform
            .dynamo
            .scan()
            .table_name(platform.table("OutboxTable"))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        committed.extend(
            page.items()
                .iter()
                .filter_map(|item| item.get("pk")?.as_s().ok().cloned()),
        );
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let published: Vec<String> = platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == "event published")
        .filter_map(|line| line["event_id"].as_str().map(|id| format!("EVENT#{id}")))
        .collect();
    assert!(!published.is_empty());
    let phantoms: Vec<&String> = published
        .iter()
        .filter(|id| !committed.contains(*id))
        .collect();
    assert!(
        phantoms.is_empty(),
        "published but never committed: {phantoms:?}"
    );
}
