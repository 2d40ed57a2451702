//! Money-correctness of the limits around transfers, through the HTTP API:
//! - a hold that ends with the money back with the payer (voided, or released to a payee that
//!   cannot receive it) gives the amount back to the payer's daily limit, exactly once;
//! - a transfer that would take the payee's balance above its tier's maximum is refused
//!   (400, worded like the deposit refusal) and moves nothing; a hold reserves no room, and a
//!   release the payee can no longer receive returns the money to the payer.
//!
//! Every user is fresh (tests run concurrently); waits are bounded polls.

use finflow_shared::Money;
use finflow_system_tests::events::{CASCADE_TIMEOUT, drained};
use finflow_system_tests::payments::{PAYMENT, funded_wallet, ledger, payment, transfer, wallet};
use finflow_system_tests::wallets::{KYC, deposit};
use finflow_system_tests::{
    Account, Platform, eventually, expect_json, expect_problem, staff_account,
};
use serde_json::{Value, json};

const DAILY_LIMIT_REFUSAL: &str =
    "Transfer would exceed the bronze tier's daily limit of 2000.0000";
const MAX_BALANCE_REFUSAL: &str = "Transfer would take the destination wallet's balance above the bronze tier's maximum of 10000.0000";

async fn resolve(platform: &Platform, staff: &Account, case_id: u64, action: &str) {
    let response = platform
        .http
        .post(format!("{KYC}/api/aml/cases/{case_id}/resolve"))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .expect("resolve is sent");
    let resolved = expect_json(response, 200).await;
    assert_eq!(resolved["decision"]["action"], action, "{resolved}");
}

/// The open case compliance opened for `payment_id`.
async fn open_case(platform: &Platform, staff: &Account, payment_id: u64) -> u64 {
    let (case_id, _) = eventually(
        "compliance to open a case for the hold",
        CASCADE_TIMEOUT,
        || async {
            let mut cursor: Option<String> = None;
            loop {
                let mut url = format!("{KYC}/api/aml/cases?status=open&limit=100");
                if let Some(cursor) = &cursor {
                    url.push_str(&format!("&cursor={cursor}"));
                }
                let response = platform
                    .http
                    .get(url)
                    .bearer_auth(&staff.access_token)
                    .send()
                    .await
                    .expect("cases are listed");
                let page = expect_json(response, 200).await;
                let items = page["items"].as_array().expect("a page lists items");
                if let Some(case) = items.iter().find(|c| c["payment_id"] == payment_id) {
                    return case["case_id"].as_u64();
                }
                cursor = Some(page["next_cursor"].as_str()?.to_owned());
            }
        },
    )
    .await;
    case_id
}

/// Waits until payment carried the decision out, and returns the payment.
async fn settled(platform: &Platform, who: &Account, payment_id: u64, status: &str) -> Value {
    let (body, _) = eventually("payment to settle the hold", CASCADE_TIMEOUT, || async {
        let body = expect_json(payment(platform, who, payment_id).await, 200).await;
        (body["status"] == status).then_some(body)
    })
    .await;
    drained(platform, "PaymentAmlEventsQueue").await;
    body
}

/// A transfer that must be put on hold; its payment id.
async fn held(platform: &Platform, payer: &Account, from: u64, to: u64, amount: &str) -> u64 {
    let sent = expect_json(
        transfer(platform, payer, from, to, json!(amount), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "ON_HOLD", "{sent}");
    sent["id"].as_u64().unwrap()
}

/// Transfers of the whole bronze daily limit (2 × 1000, held or not) succeed, and not a
/// ten-thousandth more.
async fn the_whole_daily_limit_is_available(
    platform: &Platform,
    payer: &Account,
    from: u64,
    to: u64,
) {
    for _ in 0..2 {
        let sent = expect_json(
            transfer(platform, payer, from, to, json!("1000"), None).await,
            201,
        )
        .await;
        assert!(
            sent["status"] == "COMPLETED" || sent["status"] == "ON_HOLD",
            "{sent}"
        );
    }
    let refused = expect_problem(
        transfer(platform, payer, from, to, json!("0.0001"), None).await,
        400,
    )
    .await;
    assert_eq!(refused["detail"], DAILY_LIMIT_REFUSAL, "{refused}");
}

#[tokio::test]
async fn a_voided_hold_gives_the_payer_its_daily_limit_back() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (payer, from) = funded_wallet(&platform, "limits-void-payer", "USD", "5000").await;
    let (payee, to) = funded_wallet(&platform, "limits-void-payee", "USD", "0").await;

    // 960 is structuring (at least 90% of the 1000 per transfer): held, and counted today.
    let payment_id = held(&platform, &payer, from, to, "960").await;
    let case_id = open_case(&platform, &staff, payment_id).await;
    resolve(&platform, &staff, case_id, "void").await;
    let voided = settled(&platform, &payee, payment_id, "FAILED").await;
    assert!(
        voided["resolution"]
            .as_str()
            .unwrap()
            .starts_with("voided by AML case"),
        "{voided}"
    );
    let returned = wallet(&platform, &payer, from).await;
    assert_eq!(
        (
            returned["balance"].as_str(),
            returned["held_balance"].as_str()
        ),
        (Some("5000.0000"), Some("0.0000"))
    );

    // The 960 never left: the full 2000 is there again, exactly.
    the_whole_daily_limit_is_available(&platform, &payer, from, to).await;
    let after = wallet(&platform, &payer, from).await;
    let (balance, held_balance) = (
        after["balance"].as_str().unwrap().to_owned(),
        after["held_balance"].as_str().unwrap().to_owned(),
    );
    assert_eq!(balance, "3000.0000", "{after}");
    let payee_balance = wallet(&platform, &payee, to).await["balance"].clone();
    let money = |v: &str| Money::parse(v).unwrap();
    assert_eq!(
        money(&held_balance)
            .checked_add(money(payee_balance.as_str().unwrap()))
            .unwrap(),
        money("2000"),
        "2000 sent: either held or with the payee"
    );
}

#[tokio::test]
async fn a_transfer_above_the_payees_max_balance_is_refused_and_moves_nothing() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "limits-cap-payer", "USD", "3000").await;
    let (payee, to) = funded_wallet(&platform, "limits-cap-payee", "USD", "5000").await;
    expect_json(
        deposit(&platform, &payee, to, json!("4700"), None).await,
        200,
    )
    .await;

    let snapshot = || async {
        (
            wallet(&platform, &payer, from).await,
            ledger(&platform, &payer, from).await,
            wallet(&platform, &payee, to).await,
            ledger(&platform, &payee, to).await,
        )
    };
    let before = snapshot().await;
    assert_eq!(before.2["balance"], "9700.0000");

    // 300.0001 would make 10000.0001: refused, as a deposit taking it there is.
    let refused = expect_problem(
        transfer(&platform, &payer, from, to, json!("300.0001"), None).await,
        400,
    )
    .await;
    assert_eq!(refused["detail"], MAX_BALANCE_REFUSAL, "{refused}");
    let deposit_refused = expect_problem(
        deposit(&platform, &payee, to, json!("300.0001"), None).await,
        400,
    )
    .await;
    assert_eq!(
        deposit_refused["detail"],
        "Deposit would take the balance above the bronze tier's maximum of 10000.0000"
    );
    assert_eq!(
        (&refused["type"], &refused["title"]),
        (&deposit_refused["type"], &deposit_refused["title"]),
        "coded like the deposit refusal"
    );
    let after = snapshot().await;
    assert_eq!(after, before, "nothing moved, nothing was written");
    let history = platform
        .http
        .get(format!("{PAYMENT}/api/payment/history"))
        .bearer_auth(&payer.access_token)
        .send()
        .await
        .expect("history is sent");
    assert_eq!(
        expect_json(history, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "no payment was recorded"
    );

    // Exactly up to the maximum is fine.
    let sent = expect_json(
        transfer(&platform, &payer, from, to, json!("300"), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "COMPLETED", "{sent}");
    assert_eq!(wallet(&platform, &payee, to).await["balance"], "10000.0000");

    // A transfer AML would hold is refused all the same: the payee could not receive it now.
    let before = snapshot().await;
    let refused = expect_problem(
        transfer(&platform, &payer, from, to, json!("950"), None).await,
        400,
    )
    .await;
    assert_eq!(refused["detail"], MAX_BALANCE_REFUSAL, "{refused}");
    assert_eq!(snapshot().await, before);
    assert_eq!(before.0["balance"], "2700.0000");
}

#[tokio::test]
async fn a_release_the_payee_can_no_longer_receive_returns_the_money() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (payer, from) = funded_wallet(&platform, "limits-release-payer", "USD", "5000").await;
    let (payee, to) = funded_wallet(&platform, "limits-release-payee", "USD", "5000").await;
    expect_json(
        deposit(&platform, &payee, to, json!("4000"), None).await,
        200,
    )
    .await;

    // 950 fits at 9000 and is held; a hold reserves no room, so the payee may then fill up.
    let payment_id = held(&platform, &payer, from, to, "950").await;
    let case_id = open_case(&platform, &staff, payment_id).await;
    expect_json(
        deposit(&platform, &payee, to, json!("1000"), None).await,
        200,
    )
    .await;
    let payee_ledger = ledger(&platform, &payee, to).await;

    resolve(&platform, &staff, case_id, "release").await;
    let failed = settled(&platform, &payer, payment_id, "FAILED").await;
    assert!(
        failed["resolution"]
            .as_str()
            .unwrap()
            .contains("bronze tier's maximum balance of 10000.0000"),
        "{failed}"
    );
    assert_eq!(
        wallet(&platform, &payee, to).await["balance"],
        "10000.0000",
        "never above the maximum"
    );
    assert_eq!(ledger(&platform, &payee, to).await, payee_ledger);
    let payer_wallet = wallet(&platform, &payer, from).await;
    assert_eq!(
        (
            payer_wallet["balance"].as_str(),
            payer_wallet["held_balance"].as_str()
        ),
        (Some("5000.0000"), Some("0.0000")),
        "returned once"
    );

    // The money came back, so did the limit: a fresh payee takes the whole 2000.
    let (_, fresh) = funded_wallet(&platform, "limits-release-fresh", "USD", "0").await;
    the_whole_daily_limit_is_available(&platform, &payer, from, fresh).await;
}
