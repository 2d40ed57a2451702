//! No event is lost between commit and publish: the relay's `PutEvents` fails after the outbox
//! commit (every attempt, the SDK's retries included, twice over), and the event still arrives,
//! once. Its own test binary, so that no other test's events meet the injected failures.

use finflow_system_tests::events::{
    CASCADE_TIMEOUT, consumer_outcomes, outbox_event, wallet_customer,
};
use finflow_system_tests::faults::{self, injected_into};
use finflow_system_tests::{Platform, eventually, register_and_login};

const RELAY: &str = "OutboxRelayFunction";
const PUT_EVENTS: &str = "events:PutEvents";
/// The SDK makes 3 attempts of a call: two whole failed publishes.
const FAILED_ATTEMPTS: u64 = 6;

#[tokio::test]
async fn an_event_whose_publish_fails_after_commit_still_arrives_exactly_once() {
    let platform = Platform::connect().await;
    let injected_before = injected_into(&platform, RELAY, PUT_EVENTS);
    faults::arm(
        &platform,
        faults::only(RELAY, PUT_EVENTS, "error_before_send", FAILED_ATTEMPTS),
    )
    .await;

    let account = register_and_login(&platform, "faulty").await;
    // The commit happened: the event sits in the outbox although publishing it failed.
    let (event, _) = eventually("user.created in the outbox", CASCADE_TIMEOUT, || {
        outbox_event(&platform, "user.created", account.id)
    })
    .await;

    let (customer, lag) = wallet_customer(&platform, account.id, 1).await;
    faults::disarm(&platform).await;
    println!("cascade lag through two failed publishes: {lag:?}");
    assert!(customer.contains_key("kyc_status"));
    assert_eq!(
        (injected_into(&platform, RELAY, PUT_EVENTS) - injected_before) as u64,
        FAILED_ATTEMPTS,
        "every planned failure happened before the event went out"
    );

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
