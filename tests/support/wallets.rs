//! Customers with wallets, reached through the real cascade: KYC → auth → wallet.

use std::time::Duration;

use serde_json::{Value, json};

use crate::accounts::Account;
use crate::events::{CASCADE_TIMEOUT, wallet_customer};
use crate::{Platform, eventually, expect_json, register_and_login};

pub use crate::services::{KYC, WALLET};

/// Submits the seed's passport KYC for `account`; it is verified automatically.
pub async fn submit_passport(platform: &Platform, account: &Account) -> Value {
    let response = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&account.access_token)
        .json(&json!({ "user_id": account.id, "document_type": "passport", "document_url": "https://example.com/passport.jpg" }))
        .send()
        .await
        .expect("KYC submit is sent");
    expect_json(response, 201).await
}

/// A registered user whose verified KYC status has reached wallet.
pub async fn verified_account(platform: &Platform, tag: &str) -> (Account, Duration) {
    let account = register_and_login(platform, tag).await;
    let decision = submit_passport(platform, &account).await;
    assert_eq!(decision["status"], "verified", "{decision}");
    let (_, lag) = eventually(
        "wallet to learn the KYC verification",
        CASCADE_TIMEOUT,
        || async {
            let (customer, _) = wallet_customer(platform, account.id, 1).await;
            (customer.get("kyc_status")?.as_s().ok()? == "verified").then_some(())
        },
    )
    .await;
    (account, lag)
}

pub async fn create_wallet(
    platform: &Platform,
    account: &Account,
    currency: &str,
) -> reqwest::Response {
    platform
        .http
        .post(format!("{WALLET}/api/wallet/create"))
        .bearer_auth(&account.access_token)
        .json(&json!({ "currency": currency }))
        .send()
        .await
        .expect("wallet create is sent")
}

/// A verified user's new wallet; returns its id.
pub async fn open_wallet(platform: &Platform, account: &Account, currency: &str) -> u64 {
    let wallet = expect_json(create_wallet(platform, account, currency).await, 201).await;
    wallet["id"].as_u64().expect("wallets have numeric ids")
}

pub async fn deposit(
    platform: &Platform,
    account: &Account,
    wallet_id: u64,
    amount: Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = platform
        .http
        .post(format!("{WALLET}/api/wallet/{wallet_id}/deposit"))
        .bearer_auth(&account.access_token)
        .json(&json!({ "amount": amount, "reference": "test top-up" }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("deposit is sent")
}

pub async fn balance(platform: &Platform, account: &Account, wallet_id: u64) -> Value {
    let response = platform
        .http
        .get(format!("{WALLET}/api/wallet/{wallet_id}/balance"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .expect("balance is sent");
    expect_json(response, 200).await
}
