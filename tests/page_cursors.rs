//! Page cursors, alike on every list endpoint: a cursor the list returned pages on, and one it
//! never issued (malformed, or made for another list) is a 422 problem with a field error on
//! `cursor` (shared::dynamo::decode_cursor and its `BadCursor`), never the first page again.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use finflow_shared::dynamo::encode_cursor;
use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::payments::{PAYMENT, funded_wallet, transfer};
use finflow_system_tests::services::{NOTIFICATION, REPORTING};
use finflow_system_tests::wallets::{KYC, WALLET, deposit, verified_account};
use finflow_system_tests::{
    Account, Platform, eventually, expect_json, expect_problem, staff_account,
};
use serde_json::{Value, json};

async fn get(platform: &Platform, who: &Account, url: &str) -> reqwest::Response {
    platform
        .http
        .get(url)
        .bearer_auth(&who.access_token)
        .send()
        .await
        .expect("list request is sent")
}

/// A well-formed cursor, but for sort keys no list here has.
fn foreign_cursor() -> String {
    let key = HashMap::from([("sk".to_owned(), AttributeValue::S("ELSEWHERE#1".into()))]);
    encode_cursor(Some(&key)).expect("a cursor")
}

/// `list` (a URL with a query) answers a malformed and a foreign cursor with the one 422.
async fn rejects_bad_cursors(platform: &Platform, who: &Account, list: &str) {
    for cursor in ["not-a-cursor".to_owned(), foreign_cursor()] {
        let url = format!("{list}&cursor={cursor}");
        let problem = expect_problem(get(platform, who, &url).await, 422).await;
        assert_eq!(
            problem["errors"],
            json!([{ "field": "cursor", "message": "is not a cursor this list returned" }]),
            "{url}: {problem}"
        );
    }
}

/// The first page of `list` (one item a page) has a cursor, and following it answers the next
/// page: items, none of them on the first page. `page` points at the page in the body.
async fn pages_on(platform: &Platform, who: &Account, list: &str, page: &str) {
    let keys = |body: &Value| -> BTreeSet<String> {
        body.pointer(page).unwrap()["items"]
            .as_array()
            .expect("a page lists items")
            .iter()
            .map(Value::to_string)
            .collect()
    };
    let first = expect_json(get(platform, who, list).await, 200).await;
    let cursor = first.pointer(page).unwrap()["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{list}: a first page of one has a cursor: {first}"))
        .to_owned();
    let url = format!("{list}&cursor={cursor}");
    let second = expect_json(get(platform, who, &url).await, 200).await;
    let (first, second) = (keys(&first), keys(&second));
    assert_eq!(first.len(), 1, "{list}");
    assert!(!second.is_empty(), "{url}: the next page is empty");
    assert!(first.is_disjoint(&second), "{url}: {first:?} again");
}

/// Two transfers the AML screening holds (950 from fresh bronze payers), left on hold.
async fn two_holds(platform: &Platform, tag: &str) -> Vec<u64> {
    let mut held = Vec::new();
    for n in 0..2 {
        let (payer, from) =
            funded_wallet(platform, &format!("{tag}-payer{n}"), "USD", "3000").await;
        let (_, to) = funded_wallet(platform, &format!("{tag}-payee{n}"), "USD", "0").await;
        let payment = expect_json(
            transfer(platform, &payer, from, to, json!("950"), None).await,
            201,
        )
        .await;
        assert_eq!(payment["status"], "ON_HOLD", "{payment}");
        held.push(payment["id"].as_u64().unwrap());
    }
    held
}

/// Whether every payment of `ids` is among the items of every page of `list` (at `page`).
async fn all_listed(
    platform: &Platform,
    who: &Account,
    list: &str,
    page: &str,
    key: &str,
    ids: &[u64],
) -> Option<()> {
    let mut found = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = list.to_owned();
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let body = expect_json(get(platform, who, &url).await, 200).await;
        let body = body.pointer(page)?;
        found.extend(
            body["items"]
                .as_array()?
                .iter()
                .filter_map(|i| i[key].as_u64()),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    ids.iter().all(|id| found.contains(id)).then_some(())
}

#[tokio::test]
async fn wallet_transactions_page_on_and_reject_a_bad_cursor() {
    let platform = Platform::connect().await;
    let (owner, wallet) = funded_wallet(&platform, "cursor-ledger", "USD", "10").await;
    for amount in ["20", "30"] {
        expect_json(
            deposit(&platform, &owner, wallet, json!(amount), None).await,
            200,
        )
        .await;
    }
    let list = format!("{WALLET}/api/wallet/{wallet}/transactions?limit=1");
    pages_on(&platform, &owner, &list, "").await;
    rejects_bad_cursors(&platform, &owner, &list).await;
    let staff = staff_account(&platform).await;
    rejects_bad_cursors(&platform, &staff, &list).await;
}

#[tokio::test]
async fn payment_history_pages_on_and_rejects_a_bad_cursor() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "cursor-history-payer", "USD", "100").await;
    let (_, to) = funded_wallet(&platform, "cursor-history-payee", "USD", "0").await;
    for amount in ["1", "2"] {
        let payment = expect_json(
            transfer(&platform, &payer, from, to, json!(amount), None).await,
            201,
        )
        .await;
        assert_eq!(payment["status"], "COMPLETED", "{payment}");
    }
    let list = format!("{PAYMENT}/api/payment/history?limit=1");
    pages_on(&platform, &payer, &list, "").await;
    rejects_bad_cursors(&platform, &payer, &list).await;
    rejects_bad_cursors(&platform, &payer, &format!("{list}&status=COMPLETED")).await;
}

#[tokio::test]
async fn aml_cases_and_compliance_page_on_and_reject_a_bad_cursor() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let held = two_holds(&platform, "cursor-holds").await;

    // Both holds became open cases, and reached reporting's payments on hold.
    let cases = format!("{KYC}/api/aml/cases?status=open&limit=100");
    let (_, lag) = eventually("compliance to open both cases", CASCADE_TIMEOUT, || {
        all_listed(&platform, &staff, &cases, "", "payment_id", &held)
    })
    .await;
    println!("payment.on_hold -> open AML cases after {lag:?}");
    let compliance = format!("{REPORTING}/api/reports/compliance?limit=100");
    let (_, lag) = eventually("reporting to list both holds", CASCADE_TIMEOUT, || {
        all_listed(
            &platform,
            &staff,
            &compliance,
            "/held_payments",
            "payment_id",
            &held,
        )
    })
    .await;
    println!("payment.on_hold -> reporting's held payments after {lag:?}");

    let cases = format!("{KYC}/api/aml/cases?status=open&limit=1");
    pages_on(&platform, &staff, &cases, "").await;
    rejects_bad_cursors(&platform, &staff, &cases).await;
    rejects_bad_cursors(&platform, &staff, &format!("{KYC}/api/aml/cases?limit=1")).await;

    let compliance = format!("{REPORTING}/api/reports/compliance?limit=1");
    pages_on(&platform, &staff, &compliance, "/held_payments").await;
    rejects_bad_cursors(&platform, &staff, &compliance).await;
}

#[tokio::test]
async fn notifications_page_on_and_reject_a_bad_cursor() {
    let platform = Platform::connect().await;
    // user.created (email) and user.kyc_updated (email, push).
    let (account, _) = verified_account(&platform, "cursor-notifications").await;
    let list = format!("{NOTIFICATION}/api/notification/list?limit=100");
    let (_, lag) = eventually(
        "the welcome notifications to be listed",
        CASCADE_TIMEOUT,
        || async {
            let page = expect_json(get(&platform, &account, &list).await, 200).await;
            (page["items"].as_array()?.len() >= 3).then_some(())
        },
    )
    .await;
    println!("user.registered -> notifications after {lag:?}");
    let list = format!("{NOTIFICATION}/api/notification/list?limit=1");
    pages_on(&platform, &account, &list, "").await;
    rejects_bad_cursors(&platform, &account, &list).await;
}
