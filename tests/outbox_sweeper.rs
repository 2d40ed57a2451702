//! The outbox sweeper publishes an event whose stream record was lost. One test in its own
//! binary, so that the dropped stream record is this test's event and no other test's.

use std::time::Duration;

use finflow_system_tests::events::{CASCADE_TIMEOUT, consumer_outcomes, outbox_event};
use finflow_system_tests::{Platform, eventually, register_and_login};
use serde_json::{Value, json};

const SWEEPER: &str = "outbox-sweeper";

async fn control(platform: &Platform, path: &str, body: Option<Value>) -> Value {
    let url = format!("{}{path}", platform.control_url);
    let request = match body {
        Some(body) => platform.http.post(url).json(&body),
        None => platform.http.get(url),
    };
    let response = request
        .send()
        .await
        .expect("the runner's control port answers");
    let status = response.status();
    let answer: Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn run_sweeper(platform: &Platform) -> u64 {
    let report = control(
        platform,
        &format!("/schedules/{SWEEPER}/run"),
        Some(json!({})),
    )
    .await;
    report["swept"].as_u64().expect("a sweep report")
}

fn log_lines(platform: &Platform, message: &str, event_id: &str) -> usize {
    platform
        .runner_log()
        .iter()
        .filter(|line| line["message"] == message && line["event_id"] == event_id)
        .count()
}

#[tokio::test]
async fn an_event_whose_stream_record_was_lost_is_swept_and_consumed_once() {
    let platform = Platform::connect().await;
    let grace: u64 = platform
        .manifest
        .functions
        .values()
        .find(|f| f.binary == SWEEPER)
        .and_then(|f| f.environment.get("OUTBOX_SWEEP_GRACE_SECONDS"))
        .expect("the sweeper's grace period is in the manifest")
        .parse()
        .unwrap();
    assert!(
        grace <= 30,
        "the local grace period is short (template parameter OutboxSweepGraceSeconds)"
    );
    // Whatever earlier tests left overdue goes now, so the counts below are this test's.
    run_sweeper(&platform).await;

    // The relay marks the rows it publishes, which takes them out of the sweeper's index.
    let published = register_and_login(&platform, "marked").await;
    let (event, _) = eventually("user.created in the outbox", CASCADE_TIMEOUT, || {
        outbox_event(&platform, "user.created", published.id)
    })
    .await;
    let row_key = format!("EVENT#{}", event.event_id);
    eventually(
        "the relay to mark the row published",
        CASCADE_TIMEOUT,
        || async {
            let row = platform.item("OutboxTable", &row_key, None).await?;
            (row.contains_key("published_at") && !row.contains_key("unpublished")).then_some(())
        },
    )
    .await;

    control(&platform, "/faults/stream", Some(json!({ "drop_next": 1 }))).await;
    let account = register_and_login(&platform, "swept").await;
    let (event, _) = eventually("user.created in the outbox", CASCADE_TIMEOUT, || {
        outbox_event(&platform, "user.created", account.id)
    })
    .await;
    let event_id = event.event_id.to_string();
    let row_key = format!("EVENT#{event_id}");
    let (dropped, _) = eventually(
        "the stream record to be dropped",
        CASCADE_TIMEOUT,
        || async {
            let faults = control(&platform, "/faults/stream", None).await;
            (faults["drop_next"] == 0).then_some(faults["dropped"].clone())
        },
    )
    .await;
    assert_eq!(
        dropped,
        json!([row_key]),
        "the dropped record is this test's event"
    );

    // The commit happened, the stream lost the record: nothing is published or consumed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(log_lines(&platform, "event published", &event_id), 0);
    assert!(consumer_outcomes(&platform, "wallet.customers", &event_id).is_empty());
    let customer_key = format!("CUSTOMER#{}", account.id);
    assert!(
        platform
            .item("WalletTable", &customer_key, Some("PROFILE"))
            .await
            .is_none(),
        "wallet learned of a user whose event was never published"
    );
    let row = platform.item("OutboxTable", &row_key, None).await.unwrap();
    assert!(row.contains_key("unpublished") && !row.contains_key("published_at"));

    // Once the row is older than the grace period, the sweeper publishes it.
    let created_at: u64 = row["created_at"].as_n().unwrap().parse().unwrap();
    let overdue_at = created_at + grace * 1000 + 500;
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64 / 1_000_000;
    tokio::time::sleep(Duration::from_millis(overdue_at.saturating_sub(now))).await;
    let swept = run_sweeper(&platform).await;
    println!("the sweeper published {swept} event(s)");

    let (outcomes, lag) = eventually(
        "wallet to consume the swept event",
        CASCADE_TIMEOUT,
        || async {
            let outcomes = consumer_outcomes(&platform, "wallet.customers", &event_id);
            (!outcomes.is_empty()).then_some(outcomes)
        },
    )
    .await;
    println!("swept event consumed {lag:?} after the sweep");
    assert_eq!(outcomes, ["Applied"]);
    assert!(
        platform
            .item("WalletTable", &customer_key, Some("PROFILE"))
            .await
            .is_some()
    );
    // Swept once (by this run, or by a timed run just before it), never by the relay.
    assert_eq!(log_lines(&platform, "event swept", &event_id), 1);
    assert_eq!(log_lines(&platform, "event published", &event_id), 0);
    assert!(swept <= 1, "only this test's event was overdue: {swept}");

    let row = platform.item("OutboxTable", &row_key, None).await.unwrap();
    assert!(row.contains_key("published_at"), "{row:?}");
    assert!(!row.contains_key("unpublished"), "{row:?}");

    // A marked row is not swept again; the consumer saw the event exactly once.
    assert_eq!(run_sweeper(&platform).await, 0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(log_lines(&platform, "event swept", &event_id), 1);
    assert_eq!(
        consumer_outcomes(&platform, "wallet.customers", &event_id),
        ["Applied"]
    );
}
