//! Exactly once under the faults AWS really has. Each test injects one kind of fault into one
//! function's AWS calls (`tests/support/faults.rs`), makes one request as a client would, and
//! checks that it changed exactly what one successful call changes and answered as the first
//! call did. Before the fix, a transfer or a deposit whose transaction committed but whose
//! answer was lost moved the money twice.
//!
//! The fault plan is one for the whole platform, so the tests take turns.

use std::sync::LazyLock;

use finflow_system_tests::events::{CASCADE_TIMEOUT, outbox_items, wallet_customer};
use finflow_system_tests::faults::{self, injected_into};
use finflow_system_tests::payments::{funded_wallet, transfer, wallet};
use finflow_system_tests::wallets::{WALLET, deposit};
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, register_and_login, unique_email,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

static ONE_PLAN_AT_A_TIME: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

const TRANSACT: &str = "dynamodb:TransactWriteItems";

/// Every way an applied call's answer is lost.
const LOST_ANSWERS: [&str; 3] = ["internal_error", "timeout", "reset"];

fn lose_one_answer(function: &str, lose_as: &str) -> Value {
    let mut plan = faults::only(function, TRANSACT, "commit_then_lose", 1);
    plan["rules"][0]["lose_as"] = json!(lose_as);
    plan
}

/// Envelopes of `event_type` in the outbox whose data `matches`, over every page.
async fn outbox_rows(
    platform: &Platform,
    event_type: &str,
    matches: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    outbox_items(platform)
        .await
        .iter()
        .filter(|item| {
            item.get("event_type").and_then(|t| t.as_s().ok()) == Some(&event_type.to_owned())
        })
        .filter_map(|item| serde_json::from_str(item.get("envelope")?.as_s().ok()?).ok())
        .filter(|envelope: &Value| matches(&envelope["data"]))
        .collect()
}

async fn payments_between(platform: &Platform, from: u64, to: u64) -> Vec<Value> {
    outbox_rows(platform, "payment.completed", |data| {
        data["from_wallet_id"] == from && data["to_wallet_id"] == to
    })
    .await
}

#[tokio::test]
async fn a_transfer_whose_committed_answer_is_lost_moves_money_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    for (round, lose_as) in LOST_ANSWERS.iter().enumerate() {
        for keyed in [false, true] {
            let (alice, from) = funded_wallet(&platform, "lost-transfer-a", "USD", "100").await;
            let (bob, to) = funded_wallet(&platform, "lost-transfer-b", "USD", "0").await;
            let key = keyed.then(|| uuid::Uuid::new_v4().to_string());
            let before = injected_into(&platform, "PaymentApiFunction", TRANSACT);

            faults::arm(&platform, lose_one_answer("PaymentApiFunction", lose_as)).await;
            let first = transfer(&platform, &alice, from, to, json!("10.00"), key.as_deref()).await;
            faults::disarm(&platform).await;
            let first = expect_json(first, 201).await;

            let case = format!("round {round}: {lose_as}, keyed: {keyed}");
            assert_eq!(
                injected_into(&platform, "PaymentApiFunction", TRANSACT),
                before + 1,
                "{case}: the fault fired once"
            );
            assert_eq!(
                wallet(&platform, &alice, from).await["balance"],
                "90.0000",
                "{case}"
            );
            assert_eq!(
                wallet(&platform, &bob, to).await["balance"],
                "10.0000",
                "{case}"
            );
            let events = payments_between(&platform, from, to).await;
            assert_eq!(
                events.len(),
                1,
                "{case}: one payment, one event: {events:#?}"
            );
            assert_eq!(
                events[0]["data"]["payment_id"], first["id"],
                "{case}: the client got the payment that committed"
            );
            if let Some(key) = &key {
                let again = transfer(&platform, &alice, from, to, json!("10.00"), Some(key)).await;
                assert_eq!(again.headers()["idempotent-replayed"], "true");
                assert_eq!(
                    expect_json(again, 201).await,
                    first,
                    "{case}: the first answer"
                );
                assert_eq!(wallet(&platform, &alice, from).await["balance"], "90.0000");
            }
        }
    }
}

#[tokio::test]
async fn a_deposit_whose_committed_answer_is_lost_credits_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    for lose_as in LOST_ANSWERS {
        for keyed in [false, true] {
            let (alice, wallet_id) = funded_wallet(&platform, "lost-deposit", "USD", "0").await;
            let key = keyed.then(|| uuid::Uuid::new_v4().to_string());

            faults::arm(&platform, lose_one_answer("WalletApiFunction", lose_as)).await;
            let first = deposit(&platform, &alice, wallet_id, json!("10.00"), key.as_deref()).await;
            faults::disarm(&platform).await;
            let first = expect_json(first, 200).await;

            let case = format!("{lose_as}, keyed: {keyed}");
            assert_eq!(first["wallet"]["balance"], "10.0000", "{case}: {first}");
            assert_eq!(
                wallet(&platform, &alice, wallet_id).await["balance"],
                "10.0000",
                "{case}: credited once"
            );
            let credits = outbox_rows(&platform, "wallet.deposited", |data| {
                data["wallet_id"] == wallet_id
            })
            .await;
            assert_eq!(credits.len(), 1, "{case}: {credits:#?}");
            if let Some(key) = &key {
                let again = deposit(&platform, &alice, wallet_id, json!("10.00"), Some(key)).await;
                assert_eq!(
                    expect_json(again, 200).await,
                    first,
                    "{case}: the first answer"
                );
            }
        }
    }
}

#[tokio::test]
async fn conflicts_and_throttling_are_retried_and_move_money_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "busy-a", "USD", "100").await;
    let (bob, to) = funded_wallet(&platform, "busy-b", "USD", "0").await;
    let plan = json!({"seed": 3, "rules": [
        {"function": "PaymentApiFunction", "operation": TRANSACT,
         "fault": "transaction_conflict", "probability": 1.0, "max": 2},
        {"function": "PaymentApiFunction", "operation": "dynamodb:*",
         "fault": "throttle", "probability": 1.0, "max": 2},
    ]});
    faults::arm(&platform, plan).await;
    let answer = transfer(&platform, &alice, from, to, json!("7.50"), None).await;
    faults::disarm(&platform).await;
    expect_json(answer, 201).await;
    assert_eq!(wallet(&platform, &alice, from).await["balance"], "92.5000");
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "7.5000");
    assert_eq!(payments_between(&platform, from, to).await.len(), 1);
}

#[tokio::test]
async fn a_registration_whose_committed_answer_is_lost_registers_once_with_a_201() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let email = unique_email("lost-registration");
    faults::arm(
        &platform,
        lose_one_answer("AuthSessionFunction", "internal_error"),
    )
    .await;
    let answer = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": email, "password": "correct-horse-42", "name": "Lost" }))
        .send()
        .await
        .unwrap();
    faults::disarm(&platform).await;
    let user = expect_json(answer, 201).await;
    let created = outbox_rows(&platform, "user.created", |data| {
        data["user_id"] == user["id"]
    })
    .await;
    assert_eq!(created.len(), 1, "{created:#?}");
}

#[tokio::test]
async fn a_freeze_whose_committed_answer_is_lost_announces_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let (alice, wallet_id) = funded_wallet(&platform, "lost-freeze", "USD", "5").await;
    faults::arm(&platform, lose_one_answer("WalletApiFunction", "timeout")).await;
    let answer = platform
        .http
        .put(format!("{WALLET}/api/wallet/{wallet_id}/status"))
        .bearer_auth(&alice.access_token)
        .json(&json!("frozen"))
        .send()
        .await
        .unwrap();
    faults::disarm(&platform).await;
    assert_eq!(expect_json(answer, 200).await["status"], "frozen");
    let changes = outbox_rows(&platform, "wallet.status_changed", |data| {
        data["wallet_id"] == wallet_id
    })
    .await;
    assert_eq!(changes.len(), 1, "{changes:#?}");
}

#[tokio::test]
async fn a_consumer_whose_committed_answer_is_lost_applies_the_event_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let before = injected_into(&platform, "WalletUserEventsFunction", TRANSACT);
    faults::arm(
        &platform,
        lose_one_answer("WalletUserEventsFunction", "reset"),
    )
    .await;
    let account = register_and_login(&platform, "lost-consumer").await;
    let (customer, _) = wallet_customer(&platform, account.id, 1).await;
    let (_, _) = eventually("the fault to fire", CASCADE_TIMEOUT, || async {
        (injected_into(&platform, "WalletUserEventsFunction", TRANSACT) > before).then_some(())
    })
    .await;
    faults::disarm(&platform).await;
    assert_eq!(customer["version"].as_n().unwrap(), "1");
    // Nothing went to the dead-letter queue: the lost answer was resolved, not retried forever.
    assert_eq!(dlq_depth(&platform, "WalletUserEventsDLQ").await, "0");
}

async fn dlq_depth(platform: &Platform, queue: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    let output = platform
        .sqs
        .get_queue_attributes()
        .queue_url(&platform.queue(queue).url)
        .attribute_names(ApproximateNumberOfMessages)
        .send()
        .await
        .expect("the DLQ answers");
    output
        .attributes()
        .and_then(|attributes| attributes.get(&ApproximateNumberOfMessages))
        .cloned()
        .unwrap_or_default()
}

/// Found by the simulation: `TransactionConflict` on a consumer's transaction cost it a
/// receive each time, and a few of them sent a handled event to the DLQ. A transaction
/// cancelled only as busy is now sent again as it is.
#[tokio::test]
async fn a_consumer_whose_transaction_meets_conflicts_applies_the_event_without_redelivery() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let before = injected_into(&platform, "WalletUserEventsFunction", TRANSACT);
    faults::arm(
        &platform,
        faults::only(
            "WalletUserEventsFunction",
            TRANSACT,
            "transaction_conflict",
            3,
        ),
    )
    .await;
    let account = register_and_login(&platform, "busy-consumer").await;
    let (customer, _) = wallet_customer(&platform, account.id, 1).await;
    let (_, _) = eventually("the conflicts to be injected", CASCADE_TIMEOUT, || async {
        (injected_into(&platform, "WalletUserEventsFunction", TRANSACT) >= before + 3).then_some(())
    })
    .await;
    faults::disarm(&platform).await;
    assert_eq!(customer["version"].as_n().unwrap(), "1");
    assert_eq!(dlq_depth(&platform, "WalletUserEventsDLQ").await, "0");
}

/// Found by the simulation: a keyed refusal's first answer had the problem's fields in the
/// struct's order and its replays in the stored value's, so a client comparing bytes saw two
/// answers to one key.
#[tokio::test]
async fn a_keyed_refusal_and_its_replays_are_the_same_bytes() {
    // Its refusal is stored by a transaction of PaymentApiFunction's, which another test's
    // armed fault would take as its own.
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "refusal-bytes-a", "USD", "10").await;
    let (_, to) = funded_wallet(&platform, "refusal-bytes-b", "USD", "0").await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = transfer(&platform, &alice, from, to, json!("20"), Some(&key)).await;
    assert_eq!(first.status(), 400);
    let first = first.text().await.unwrap();
    for _ in 0..2 {
        let again = transfer(&platform, &alice, from, to, json!("20"), Some(&key)).await;
        assert_eq!(again.status(), 400);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.text().await.unwrap(), first, "byte for byte");
    }
}

#[tokio::test]
async fn an_event_published_but_answered_as_failed_reaches_its_consumer_once() {
    let _turn = ONE_PLAN_AT_A_TIME.lock().await;
    let platform = Platform::connect().await;
    for fault in ["commit_then_lose", "partial_failure"] {
        faults::arm(
            &platform,
            faults::only("OutboxRelayFunction", "events:PutEvents", fault, 1),
        )
        .await;
        let account = register_and_login(&platform, "lost-publish").await;
        let (customer, _) = wallet_customer(&platform, account.id, 1).await;
        faults::disarm(&platform).await;
        assert_eq!(customer["version"].as_n().unwrap(), "1", "{fault}");
    }
}
