//! Producers emit exactly what their schemas say: every envelope committed to the outbox during
//! the run (by this test and every test before it) is validated against
//! `events/schemas/envelope.json` and the schema of its type and version, and every event the
//! relay published is among them. The test makes its own events first, so it never passes
//! on an empty outbox.

use std::collections::{BTreeMap, BTreeSet};

use finflow_system_tests::contracts::{
    check_published_events, outbox_envelopes, published_event_ids,
};
use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::wallets::{deposit, open_wallet, verified_account};
use finflow_system_tests::{AUTH, Platform, eventually, expect_json, staff_account};
use serde_json::json;

/// What this test makes happen, by event type.
const OWN_EVENTS: [&str; 6] = [
    "user.created",
    "kyc.decision_recorded",
    "user.kyc_updated",
    "user.tier_changed",
    "wallet.created",
    "wallet.deposited",
];

#[tokio::test]
async fn contracts_every_published_event_conforms_to_its_schema() {
    let platform = Platform::connect().await;
    let (account, _) = verified_account(&platform, "contracts").await;
    let staff = staff_account(&platform).await;
    let response = platform
        .http
        .put(format!("{AUTH}/api/auth/user/{}/tier", account.id))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "account_tier": "silver" }))
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await;
    let wallet_id = open_wallet(&platform, &account, "EUR").await;
    let response = deposit(&platform, &account, wallet_id, json!("12.3456"), None).await;
    expect_json(response, 200).await;

    // Wait until the relay has published every one of them.
    let (own, _) = eventually(
        "this test's events to be published",
        CASCADE_TIMEOUT,
        || async {
            let own: BTreeMap<String, String> = outbox_envelopes(&platform)
                .await
                .into_iter()
                .filter_map(|(id, envelope)| {
                    let envelope = envelope.ok()?;
                    if envelope["data"]["user_id"] != account.id {
                        return None;
                    }
                    Some((id, envelope["event_type"].as_str()?.to_owned()))
                })
                .collect();
            let types: BTreeSet<&str> = own.values().map(String::as_str).collect();
            let published = published_event_ids(&platform);
            (OWN_EVENTS.iter().all(|t| types.contains(t))
                && own.keys().all(|id| published.contains(id)))
            .then_some(own)
        },
    )
    .await;

    let report = check_published_events(&platform).await;
    let missing: Vec<_> = own
        .keys()
        .filter(|id| !report.checked.contains(*id))
        .collect();
    assert!(missing.is_empty(), "not checked: {missing:?}");
    println!(
        "checked {} envelopes against events/schemas ({} of them this test's)",
        report.checked.len(),
        own.len()
    );
    assert!(
        report.checked.len() >= OWN_EVENTS.len(),
        "only {} envelopes checked",
        report.checked.len()
    );
    assert!(
        report.problems.is_empty(),
        "{} contract violation(s) among {} published events:\n  {}",
        report.problems.len(),
        report.checked.len(),
        report.problems.join("\n  ")
    );
}
