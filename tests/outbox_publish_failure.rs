//! No event is lost between commit and publish. Its own test binary, so that no other test's
//! events consume the injected failures.

use finflow_system_tests::events::{
    CASCADE_TIMEOUT, consumer_outcomes, outbox_event, wallet_customer,
};
use finflow_system_tests::{Platform, eventually, register_and_login};
use serde_json::{Value, json};

async fn arm_publish_failures(platform: &Platform, count: u32) -> Value {
    platform
        .http
        .post(format!("{}/faults/publish", platform.control_url))
        .json(&json!({ "fail_next": count }))
        .send()
        .await
        .expect("the runner's control port answers")
        .json()
        .await
        .unwrap()
}

async fn publish_faults(platform: &Platform) -> Value {
    platform
        .http
        .get(format!("{}/faults/publish", platform.control_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_whose_publish_fails_after_commit_still_arrives_exactly_once() {
    let platform = Platform::connect().await;
    let injected_before = publish_faults(&platform).await["injected"]
        .as_u64()
        .unwrap();
    arm_publish_failures(&platform, 2).await;

    let account = register_and_login(&platform, "faulty").await;
    // The commit happened: the event sits in the outbox although publishing it failed.
    let (event, _) = eventually("user.created in the outbox", CASCADE_TIMEOUT, || {
        outbox_event(&platform, "user.created", account.id)
    })
    .await;

    let (customer, lag) = wallet_customer(&platform, account.id, 1).await;
    println!("cascade lag through two failed publishes: {lag:?}");
    assert!(customer.contains_key("kyc_status"));
    let faults = publish_faults(&platform).await;
    assert_eq!(
        faults["injected"].as_u64().unwrap() - injected_before,
        2,
        "{faults}"
    );
    assert_eq!(faults["fail_next"], 0);

    let (outcomes, _) = eventually(
        "the consumer's outcome to be logged",
        CASCADE_TIMEOUT,
        || async {
            let outcomes =
                consumer_outcomes(&platform, "wallet.customers", &event.event_id.to_string());
            (!outcomes.is_empty()).then_some(outcomes)
        },
    )
    .await;
    assert_eq!(
        outcomes,
        ["Applied"],
        "delivered exactly once to the consumer"
    );
}
