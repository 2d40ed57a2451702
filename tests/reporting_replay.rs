//! Reporting rebuilt from the event archive (issue 5): a scripted mix of users, KYC,
//! deposits, transfers (held, released, voided), a freeze and a tier change; then
//! `finflow replay reporting` rebuilds reporting's projection from EventBridge's archive and
//! finds it identical to the live one; reporting is wiped, `--restore` brings it back, and
//! every report reads exactly as before. The replay touches nothing else: no notification is
//! sent, no balance or ledger moves, no event is published, and no live consumer acts on a
//! replayed event.
//!
//! The replay covers the whole archive, so every event the suite made before this test is
//! rebuilt too, and the comparison covers the whole table: any projection that depends on
//! delivery order or timing shows up here as a difference. It needs a quiet platform, which
//! it has: test binaries run one after the other, and this one holds a single test.

use std::time::Duration;

use aws_sdk_dynamodb::types::Select;
use finflow_system_tests::accounts::Account;
use finflow_system_tests::events::{CASCADE_TIMEOUT, drained, quiet, replay_outcomes};
use finflow_system_tests::payments::{funded_wallet, ledger, transfer, wallet};
use finflow_system_tests::services::{NOTIFICATION, REPORTING};
use finflow_system_tests::wallets::{KYC, WALLET, deposit, open_wallet};
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, register_and_login, staff_account,
};
use finflow_tools::replay::{self, Report};
use serde_json::{Value, json};

async fn get(platform: &Platform, who: &Account, url: String) -> Value {
    let response = platform
        .http
        .get(url)
        .bearer_auth(&who.access_token)
        .send()
        .await
        .expect("request is sent");
    expect_json(response, 200).await
}

async fn put(platform: &Platform, who: &Account, url: String, body: Value) -> Value {
    let response = platform
        .http
        .put(url)
        .bearer_auth(&who.access_token)
        .json(&body)
        .send()
        .await
        .expect("request is sent");
    expect_json(response, 200).await
}

/// The users and wallets the mix made.
struct Mix {
    users: Vec<Account>,
    wallets: Vec<(usize, u64)>,
}

/// A transfer of `amount` that the AML rules hold, resolved by staff with `action`, once
/// compliance has opened its case; returns when the case has closed with the payment's end.
async fn held_then(
    platform: &Platform,
    staff: &Account,
    payer: (&Account, u64),
    payee_wallet: u64,
    action: &str,
) {
    let held = expect_json(
        transfer(platform, payer.0, payer.1, payee_wallet, json!("950"), None).await,
        201,
    )
    .await;
    assert_eq!(held["status"], "ON_HOLD", "{held}");
    let payment_id = held["id"].as_u64().unwrap();
    let (case_id, _) = eventually("compliance to open the case", CASCADE_TIMEOUT, || async {
        let page = get(
            platform,
            staff,
            format!("{KYC}/api/aml/cases?status=open&limit=100"),
        )
        .await;
        page["items"]
            .as_array()?
            .iter()
            .find(|case| case["payment_id"] == payment_id)?["case_id"]
            .as_u64()
    })
    .await;
    let response = platform
        .http
        .post(format!("{KYC}/api/aml/cases/{case_id}/resolve"))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .expect("resolve is sent");
    expect_json(response, 200).await;
    let outcome = if action == "release" {
        "released"
    } else {
        "voided"
    };
    eventually(
        "the payment's end to close the case",
        CASCADE_TIMEOUT,
        || async {
            let case = get(platform, staff, format!("{KYC}/api/aml/cases/{case_id}")).await;
            (case["outcome"] == outcome).then_some(())
        },
    )
    .await;
}

async fn scripted_mix(platform: &Platform, staff: &Account) -> Mix {
    let (alice, alice_usd) = funded_wallet(platform, "replay-alice", "USD", "5000").await;
    let (bob, bob_usd) = funded_wallet(platform, "replay-bob", "USD", "0").await;
    let (carol, carol_eur) = funded_wallet(platform, "replay-carol", "EUR", "250.1234").await;
    // A second payer: the bronze daily limit (2000) leaves alice room for one hold only.
    let (erin, erin_usd) = funded_wallet(platform, "replay-erin", "USD", "3000").await;
    // Registered and never verified: only user.created and the KYC funnel's first step.
    let dave = register_and_login(platform, "replay-dave").await;
    let carol_usd = open_wallet(platform, &carol, "USD").await;
    expect_json(
        deposit(platform, &carol, carol_usd, json!("10.5"), None).await,
        200,
    )
    .await;

    expect_json(
        transfer(platform, &alice, alice_usd, bob_usd, json!("120.25"), None).await,
        201,
    )
    .await;
    held_then(platform, staff, (&alice, alice_usd), bob_usd, "release").await;
    held_then(platform, staff, (&erin, erin_usd), carol_usd, "void").await;
    put(
        platform,
        &bob,
        format!("{WALLET}/api/wallet/{bob_usd}/status"),
        json!({ "status": "frozen" }),
    )
    .await;
    put(
        platform,
        staff,
        format!("{AUTH}/api/auth/user/{}/tier", carol.id),
        json!({ "account_tier": "gold" }),
    )
    .await;

    // The platform is quiet once every event is out and every consumer has caught up.
    quiet(platform).await;
    Mix {
        users: vec![alice, bob, carol, dave, erin],
        wallets: vec![
            (0, alice_usd),
            (1, bob_usd),
            (2, carol_eur),
            (2, carol_usd),
            (4, erin_usd),
        ],
    }
}

/// Everything reporting answers about the platform and the mix's users.
async fn reports(platform: &Platform, staff: &Account, mix: &Mix) -> Value {
    let mut users = Vec::new();
    for user in &mix.users {
        users.push(
            get(
                platform,
                staff,
                format!("{REPORTING}/api/reports/users/{}/analytics", user.id),
            )
            .await,
        );
    }
    json!({
        "dashboard": get(platform, staff, format!("{REPORTING}/api/reports/dashboard")).await,
        "transactions": get(platform, staff, format!("{REPORTING}/api/reports/transactions")).await,
        "compliance": get(platform, staff, format!("{REPORTING}/api/reports/compliance")).await,
        "users": users,
    })
}

/// What a replay must not change: the mix's wallets, ledgers and notifications, and how many
/// events and notifications the platform holds.
async fn world(platform: &Platform, mix: &Mix) -> Value {
    let mut wallets = Vec::new();
    for (owner, id) in &mix.wallets {
        let owner = &mix.users[*owner];
        wallets.push(json!({
            "wallet": wallet(platform, owner, *id).await,
            "ledger": ledger(platform, owner, *id).await,
        }));
    }
    let mut notifications = Vec::new();
    for user in &mix.users {
        notifications.push(
            get(
                platform,
                user,
                format!("{NOTIFICATION}/api/notification/list?limit=100"),
            )
            .await,
        );
    }
    json!({
        "wallets": wallets,
        "notifications": notifications,
        "outbox_items": count(platform, "OutboxTable").await,
        "notification_items": count(platform, "NotificationTable").await,
    })
}

async fn count(platform: &Platform, table: &str) -> i64 {
    let mut total = 0;
    let mut start = None;
    loop {
        let page = platform
            .dynamo
            .scan()
            .table_name(platform.table(table))
            .select(Select::Count)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("count scan");
        total += i64::from(page.count());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return total,
        }
    }
}

/// Deletes every item of the live reporting table, as a lost projection would be.
async fn wipe_reporting(platform: &Platform) -> usize {
    let table = platform.table("ReportingTable");
    let mut wiped = 0;
    loop {
        let page = platform
            .dynamo
            .scan()
            .table_name(table)
            .consistent_read(true)
            .projection_expression("pk, sk")
            .send()
            .await
            .expect("scan reporting");
        if page.items().is_empty() {
            return wiped;
        }
        for key in page.items() {
            platform
                .dynamo
                .delete_item()
                .table_name(table)
                .set_key(Some(key.clone()))
                .send()
                .await
                .expect("delete a reporting item");
            wiped += 1;
        }
    }
}

async fn replay(platform: &Platform, restore: bool) -> Report {
    let manifest = std::env::var("FINFLOW_MANIFEST").expect("FINFLOW_MANIFEST is set");
    let mut options = replay::Options::new("reporting", manifest);
    options.restore = restore;
    options.timeout = Duration::from_secs(600);
    let report = replay::run(&options).await.expect("the replay runs");
    println!("{report}");
    // The rebuild projected the replay through its own consumer; no live one acted on it.
    let outcomes = replay_outcomes(platform, &report.replay_name);
    assert!(
        outcomes
            .iter()
            .any(|(consumer, outcome)| consumer == "reporting.rebuild" && outcome == "Applied"),
        "the rebuild consumer applied none of replay {}",
        report.replay_name
    );
    let acted: Vec<_> = outcomes
        .iter()
        .filter(|(consumer, outcome)| consumer != "reporting.rebuild" && outcome != "Ignored")
        .collect();
    assert!(
        acted.is_empty(),
        "live consumers acted on a replay: {acted:?}"
    );
    report
}

#[tokio::test]
async fn reporting_rebuilt_from_the_archive_equals_the_live_projection_and_touches_nothing_else() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let mix = scripted_mix(&platform, &staff).await;
    let live_reports = reports(&platform, &staff, &mix).await;
    let world_before = world(&platform, &mix).await;
    // Held and voided, released, completed: the mix is in the reports it is compared by.
    let alice = &live_reports["users"][0];
    assert_eq!(alice["user_id"], mix.users[0].id, "{alice}");

    let compared = replay(&platform, false).await;
    assert!(compared.rebuilt_items > 0, "{compared}");
    assert!(compared.identical(), "{compared}");

    let wiped = wipe_reporting(&platform).await;
    assert!(wiped > 0);
    let wiped_dashboard = get(
        &platform,
        &staff,
        format!("{REPORTING}/api/reports/dashboard"),
    )
    .await;
    assert_ne!(
        wiped_dashboard, live_reports["dashboard"],
        "wiping reporting shows in its reports"
    );

    let restored = replay(&platform, true).await;
    assert!(!restored.differences.is_empty(), "the live table was wiped");
    assert!(restored.identical(), "{restored}");
    let rebuilt_reports = reports(&platform, &staff, &mix).await;
    assert_eq!(
        json_differences("", &live_reports, &rebuilt_reports),
        Vec::<String>::new(),
        "the rebuilt reports equal the originals field by field"
    );

    // Replayed events reached every live consumer's queue on an emulator that ignores
    // FilterArns; give them time to act if they were going to, then compare.
    for queue in platform.consumer_queues() {
        drained(&platform, queue).await;
    }
    let world_after = world(&platform, &mix).await;
    assert_eq!(
        json_differences("", &world_before, &world_after),
        Vec::<String>::new(),
        "the replay changed nothing outside reporting"
    );
}

/// Paths (JSON pointer) at which `a` and `b` differ, with both values.
fn json_differences(path: &str, a: &Value, b: &Value) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    json_differences(
                        &format!("{path}/{k}"),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (p, q))| json_differences(&format!("{path}/{i}"), p, q))
            .collect(),
        _ if a == b => Vec::new(),
        _ => vec![format!("{path}: {a} then {b}")],
    }
}
