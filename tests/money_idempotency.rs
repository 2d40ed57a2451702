//! One idempotency key moves money once, however often and however concurrently the same
//! transfer is sent, and every reply is the same.

use finflow_system_tests::payments::{funded_wallet, transfer, wallet};
use finflow_system_tests::{Platform, expect_json, expect_problem};
use serde_json::json;

#[tokio::test]
async fn one_key_moves_money_once_and_every_reply_is_identical() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "once-alice", "USD", "500").await;
    let (bob, to) = funded_wallet(&platform, "once-bob", "USD", "0").await;
    let key = uuid::Uuid::new_v4().to_string();

    let concurrent =
        (0..8).map(|_| transfer(&platform, &alice, from, to, json!("42.42"), Some(&key)));
    let mut replies = Vec::new();
    for response in futures_util::future::join_all(concurrent).await {
        replies.push((response.status().as_u16(), response.text().await.unwrap()));
    }
    for _ in 0..3 {
        let response = transfer(&platform, &alice, from, to, json!(42.42), Some(&key)).await;
        assert_eq!(response.headers()["idempotent-replayed"], "true");
        replies.push((response.status().as_u16(), response.text().await.unwrap()));
    }
    assert_eq!(replies[0].0, 201, "{}", replies[0].1);
    assert!(
        replies.iter().all(|reply| *reply == replies[0]),
        "replies differ: {replies:#?}"
    );

    assert_eq!(wallet(&platform, &alice, from).await["balance"], "457.5800");
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "42.4200");

    let reused = expect_problem(
        transfer(&platform, &alice, from, to, json!("1"), Some(&key)).await,
        422,
    )
    .await;
    assert_eq!(reused["errors"][0]["field"], "Idempotency-Key");
    let fresh = transfer(
        &platform,
        &alice,
        from,
        to,
        json!("42.42"),
        Some(&uuid::Uuid::new_v4().to_string()),
    )
    .await;
    expect_json(fresh, 201).await;
    assert_eq!(wallet(&platform, &alice, from).await["balance"], "415.1600");
}

#[tokio::test]
async fn a_refusal_is_replayed_too_and_moves_nothing() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "refusal-alice", "USD", "10").await;
    let (_, to) = funded_wallet(&platform, "refusal-bob", "USD", "0").await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = expect_problem(
        transfer(&platform, &alice, from, to, json!("20"), Some(&key)).await,
        400,
    )
    .await;
    let again = transfer(&platform, &alice, from, to, json!("20"), Some(&key)).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_problem(again, 400).await, first);
    assert_eq!(wallet(&platform, &alice, from).await["balance"], "10.0000");
}
