//! DECIMAL(20,4) end to end: ten-thousandths add up exactly, a fifth decimal is refused, and a
//! twenty-digit balance moves without losing a digit.

use aws_sdk_dynamodb::types::AttributeValue;
use finflow_system_tests::payments::{funded_wallet, ledger, transfer, wallet};
use finflow_system_tests::{Platform, expect_json, expect_problem};
use serde_json::json;

#[tokio::test]
async fn ten_thousandths_add_up_exactly_and_a_fifth_decimal_is_refused() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "precise-alice", "USD", "0.0010").await;
    let (bob, to) = funded_wallet(&platform, "precise-bob", "USD", "0").await;
    // Five: a sixth within ten minutes would trip AML's velocity rule and be held.
    for _ in 0..5 {
        let sent = expect_json(
            transfer(&platform, &alice, from, to, json!(0.0001), None).await,
            201,
        )
        .await;
        assert_eq!(sent["status"], "COMPLETED");
    }
    let payer = wallet(&platform, &alice, from).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("0.0005"), Some("0.0000"))
    );
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "0.0005");
    let refused = expect_problem(
        transfer(&platform, &alice, from, to, json!(0.00001), None).await,
        400,
    )
    .await;
    assert_eq!(
        refused["detail"],
        "Amount must have at most 4 decimal places"
    );
    assert_eq!(
        ledger(&platform, &bob, to).await.last().unwrap()["balance_after"],
        "0.0005"
    );
}

#[tokio::test]
async fn a_twenty_digit_balance_stays_exact() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "big-alice", "USD", "0").await;
    let (bob, to) = funded_wallet(&platform, "big-bob", "USD", "0").await;
    // No tier lets a deposit reach sixteen integer digits, so the balance is set in the table
    // the way a migrated account would arrive.
    platform
        .dynamo
        .update_item()
        .table_name(platform.table("WalletTable"))
        .key("pk", AttributeValue::S(format!("WALLET#{from}")))
        .key("sk", AttributeValue::S("META".into()))
        .update_expression("SET balance = :balance")
        .expression_attribute_values(
            ":balance",
            AttributeValue::N("1234567890123456.7891".into()),
        )
        .send()
        .await
        .unwrap();
    expect_json(
        transfer(&platform, &alice, from, to, json!(0.0001), None).await,
        201,
    )
    .await;
    let sent = expect_json(
        transfer(&platform, &alice, from, to, json!("499.9"), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "COMPLETED");
    assert_eq!(
        wallet(&platform, &alice, from).await["balance"],
        "1234567890122956.8890"
    );
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "499.9001");
}
