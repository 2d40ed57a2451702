//! Funded wallets and transfers through the public API.

use serde_json::{Value, json};

use crate::accounts::Account;
use crate::wallets::{WALLET, deposit, open_wallet, verified_account};
use crate::{Platform, expect_json};

pub use crate::services::PAYMENT;

/// A verified user with a wallet in `currency` holding `amount` (at most the bronze tier's
/// single-deposit limit of 5000).
pub async fn funded_wallet(
    platform: &Platform,
    tag: &str,
    currency: &str,
    amount: &str,
) -> (Account, u64) {
    let (account, _) = verified_account(platform, tag).await;
    let wallet = open_wallet(platform, &account, currency).await;
    if amount != "0" {
        expect_json(
            deposit(platform, &account, wallet, json!(amount), None).await,
            200,
        )
        .await;
    }
    (account, wallet)
}

pub async fn transfer(
    platform: &Platform,
    account: &Account,
    from: u64,
    to: u64,
    amount: Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = platform
        .http
        .post(format!("{PAYMENT}/api/payment/transfer"))
        .bearer_auth(&account.access_token)
        .json(&json!({ "from_wallet_id": from, "to_wallet_id": to, "amount": amount, "currency": "USD" }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("transfer is sent")
}

/// A wallet as its owner sees it.
pub async fn wallet(platform: &Platform, account: &Account, wallet_id: u64) -> Value {
    let response = platform
        .http
        .get(format!("{WALLET}/api/wallet/{wallet_id}"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .expect("wallet is sent");
    expect_json(response, 200).await
}

/// Every ledger entry of a wallet, oldest first.
pub async fn ledger(platform: &Platform, account: &Account, wallet_id: u64) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{WALLET}/api/wallet/{wallet_id}/transactions?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = platform
            .http
            .get(url)
            .bearer_auth(&account.access_token)
            .send()
            .await
            .expect("ledger is sent");
        let page = expect_json(response, 200).await;
        entries.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    entries.reverse();
    entries
}

pub async fn payment(platform: &Platform, account: &Account, payment_id: u64) -> reqwest::Response {
    platform
        .http
        .get(format!("{PAYMENT}/api/payment/{payment_id}"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .expect("payment is sent")
}
