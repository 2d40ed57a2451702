//! Notification through the HTTP API: cascade events become notifications per user and
//! channel (user.*, kyc, wallet.*, payment.* with ON_HOLD), the caller's preferences decide
//! which channels send and which are recorded as suppressed, each user sees only their own
//! list, and what was sent reached the channel's SNS topic with its attributes (read from
//! the delivery-audit tap queue subscribed to all three topics).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::payments::{funded_wallet, transfer};
use finflow_system_tests::services::NOTIFICATION;
use finflow_system_tests::wallets::{open_wallet, verified_account};
use finflow_system_tests::{
    AUTH, Account, Platform, eventually, expect_json, expect_problem, register_and_login,
    staff_account,
};
use serde_json::{Value, json};

/// Every notification of `account`'s list, newest first, following the cursors.
async fn list_all(platform: &Platform, account: &Account, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{NOTIFICATION}/api/notification/list?limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = platform
            .http
            .get(url)
            .bearer_auth(&account.access_token)
            .send()
            .await
            .expect("list is sent");
        let page = expect_json(response, 200).await;
        assert_eq!(page["user_id"], account.id, "{page}");
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn find<'a>(items: &'a [Value], event_type: &str, channel: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|n| n["event_type"] == event_type && n["channel"] == channel)
}

/// The list once every `(event type, channel)` of `wanted` is in it.
async fn notified(platform: &Platform, account: &Account, wanted: &[(&str, &str)]) -> Vec<Value> {
    let (items, lag) = eventually(
        &format!("notifications {wanted:?} for user {}", account.id),
        CASCADE_TIMEOUT,
        || async {
            let items = list_all(platform, account, 100).await;
            wanted
                .iter()
                .all(|(event_type, channel)| find(&items, event_type, channel).is_some())
                .then_some(items)
        },
    )
    .await;
    println!("user {}: {wanted:?} recorded after {lag:?}", account.id);
    items
}

async fn put_preferences(platform: &Platform, account: &Account, body: &str) -> reqwest::Response {
    platform
        .http
        .put(format!("{NOTIFICATION}/api/notification/preferences"))
        .bearer_auth(&account.access_token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("preferences PUT is sent")
}

async fn get_preferences(platform: &Platform, account: &Account) -> Value {
    let response = platform
        .http
        .get(format!("{NOTIFICATION}/api/notification/preferences"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .expect("preferences GET is sent");
    expect_json(response, 200).await
}

fn assert_delivery(item: Option<&Value>, delivery: &str) -> Value {
    let item = item.expect("the notification is listed").clone();
    assert_eq!(item["delivery"], delivery, "{item}");
    item
}

#[tokio::test]
async fn notification_of_registration_kyc_tier_and_a_new_wallet() {
    let platform = platform().await;
    let (account, _) = verified_account(&platform, "notified").await;
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
    open_wallet(&platform, &account, "USD").await;

    let items = notified(
        &platform,
        &account,
        &[
            ("user.created", "email"),
            ("user.kyc_updated", "email"),
            ("user.kyc_updated", "push"),
            ("user.tier_changed", "email"),
            ("user.tier_changed", "push"),
            ("wallet.created", "email"),
            ("wallet.created", "push"),
        ],
    )
    .await;
    assert!(
        items.iter().all(|n| n["user_id"] == account.id),
        "only mine"
    );
    let welcome = assert_delivery(find(&items, "user.created", "email"), "sent");
    assert_eq!(welcome["subject"], "Welcome to FinFlow");
    assert_eq!(welcome["category"], "account");
    assert!(welcome["sns_message_id"].is_string(), "{welcome}");
    let verified = assert_delivery(find(&items, "user.kyc_updated", "email"), "sent");
    assert_eq!(verified["subject"], "Your identity is verified");
    let tier = assert_delivery(find(&items, "user.tier_changed", "email"), "sent");
    assert_eq!(tier["subject"], "Your account tier is now silver");
    let wallet = assert_delivery(find(&items, "wallet.created", "email"), "sent");
    assert_eq!(wallet["subject"], "Your USD wallet is ready");
    // Push is on by default for payments only: the rest is recorded as suppressed.
    for event_type in ["user.kyc_updated", "user.tier_changed", "wallet.created"] {
        assert_delivery(find(&items, event_type, "push"), "suppressed");
    }
    // No text messages for any of these, and the automatic KYC decision itself tells
    // nothing (auth's user.kyc_updated does).
    assert!(items.iter().all(|n| n["channel"] != "sms"), "{items:?}");
    assert!(
        items
            .iter()
            .all(|n| n["event_type"] != "kyc.decision_recorded")
    );

    // Newest first, and paging with small pages lists exactly the same.
    let paged = list_all(&platform, &account, 2).await;
    assert_eq!(paged, list_all(&platform, &account, 100).await);
    let events: Vec<&str> = paged
        .iter()
        .map(|n| n["event_id"].as_str().unwrap())
        .collect();
    let mut sorted = events.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(events, sorted, "event ids are UUIDv7: newest first");
}

/// When the first test of this binary started, in Unix milliseconds: tap messages sent before
/// belong to no test of it.
static STARTED_MS: LazyLock<u128> = LazyLock::new(|| {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis()
});

/// The platform, once the tap's epoch is set: every test starts here.
async fn platform() -> Platform {
    LazyLock::force(&STARTED_MS);
    Platform::connect().await
}

/// Messages on the delivery-audit tap whose attributes match, once `count` of them arrived.
/// The tap is an audit queue only these tests read. A test deletes what it takes, and what
/// earlier test binaries left (the whole suite's notifications pile up there); another
/// running test's messages come back after the visibility timeout for that test.
async fn tapped(
    platform: &Platform,
    count: usize,
    matches: impl Fn(&HashMap<String, String>) -> bool,
) -> Vec<(HashMap<String, String>, Value)> {
    let url = platform.queue("NotificationTapQueue").url.clone();
    let started = *STARTED_MS;
    let found = std::sync::Mutex::new(Vec::new());
    let (found, _) = eventually(
        "the notifications on the tap queue",
        CASCADE_TIMEOUT,
        || async {
            let output = platform
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
                )
                .send()
                .await
                .expect("the tap queue is readable");
            for message in output.messages() {
                let attributes: HashMap<String, String> = message
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_owned())))
                    .collect();
                let sent: u128 = message
                    .attributes()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)
                    })
                    .and_then(|ms| ms.parse().ok())
                    .unwrap_or(0);
                if matches(&attributes) {
                    let body = serde_json::from_str(message.body().unwrap_or_default())
                        .expect("tapped messages are JSON");
                    found.lock().unwrap().push((attributes, body));
                } else if sent >= started {
                    continue;
                }
                if let Some(receipt) = message.receipt_handle() {
                    platform
                        .sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .expect("tapped messages delete");
                }
            }
            let found = found.lock().unwrap();
            (found.len() >= count).then(|| found.clone())
        },
    )
    .await;
    found
}

#[tokio::test]
async fn notification_of_a_held_transfer_to_the_payer_and_preferences_suppress_a_channel() {
    let platform = platform().await;
    let (payer, payer_wallet) = funded_wallet(&platform, "notify-payer", "USD", "3000").await;
    let (payee, payee_wallet) = funded_wallet(&platform, "notify-payee", "USD", "0").await;

    let response = transfer(
        &platform,
        &payer,
        payer_wallet,
        payee_wallet,
        json!("950"),
        None,
    )
    .await;
    let trace_id = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let held = expect_json(response, 201).await;
    assert_eq!(held["status"], "ON_HOLD", "{held}");

    let items = notified(
        &platform,
        &payer,
        &[
            ("payment.on_hold", "email"),
            ("payment.on_hold", "sms"),
            ("payment.on_hold", "push"),
        ],
    )
    .await;
    let email = assert_delivery(find(&items, "payment.on_hold", "email"), "sent");
    assert_eq!(
        email["subject"],
        "Your transfer of 950.0000 USD is under review"
    );
    assert_eq!(email["trace_id"], trace_id.as_str());
    let sms = assert_delivery(find(&items, "payment.on_hold", "sms"), "sent");
    assert!(
        sms["body"]
            .as_str()
            .unwrap()
            .contains("your transfer of 950.0000 USD"),
        "{sms}"
    );
    assert!(
        !sms["body"].as_str().unwrap().contains("structuring"),
        "screening reasons are never told"
    );

    // What reached SNS: one message per channel, with the attributes subscribers filter on.
    let payer_id = payer.id.to_string();
    let messages = tapped(&platform, 3, |a| {
        a.get("event_type").map(String::as_str) == Some("payment.on_hold")
            && a.get("user_id") == Some(&payer_id)
    })
    .await;
    let mut channels: Vec<&str> = messages
        .iter()
        .map(|(a, _)| a["channel"].as_str())
        .collect();
    channels.sort_unstable();
    assert_eq!(channels, ["email", "push", "sms"]);
    for (attributes, body) in &messages {
        assert_eq!(attributes["trace_id"], trace_id);
        assert_eq!(attributes["category"], "payments");
        let listed = find(&items, "payment.on_hold", &attributes["channel"]).unwrap();
        assert_eq!(
            attributes["notification_id"],
            listed["id"].as_str().unwrap()
        );
        assert_eq!(body["notification_id"], listed["id"]);
        assert_eq!(body["body"], listed["body"]);
        assert_eq!(body["user_id"], payer.id);
    }

    // The payee is not told of a hold on a payment to them.
    let payee_items = list_all(&platform, &payee, 100).await;
    assert!(find(&payee_items, "payment.on_hold", "email").is_none());

    // The payee turns text messages off for payments; a later payment to them is recorded
    // on sms as suppressed, and still sent by email and push.
    let set = expect_json(
        put_preferences(
            &platform,
            &payee,
            r#"{"channels": {"sms": {"payments": false}}}"#,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(set["channels"]["sms"]["payments"], false);
    assert_eq!(
        set["channels"]["sms"]["security"], true,
        "defaults elsewhere"
    );
    assert_eq!(set["customized"], true);
    assert_eq!(
        get_preferences(&platform, &payee).await["channels"],
        set["channels"]
    );

    let completed = expect_json(
        transfer(
            &platform,
            &payer,
            payer_wallet,
            payee_wallet,
            json!("12.3456"),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(completed["status"], "COMPLETED", "{completed}");
    let payee_items = notified(
        &platform,
        &payee,
        &[
            ("payment.completed", "email"),
            ("payment.completed", "sms"),
            ("payment.completed", "push"),
        ],
    )
    .await;
    let received = assert_delivery(find(&payee_items, "payment.completed", "email"), "sent");
    assert_eq!(received["subject"], "You received 12.3456 USD");
    let suppressed = assert_delivery(find(&payee_items, "payment.completed", "sms"), "suppressed");
    assert!(suppressed["sns_message_id"].is_null());
    assert_delivery(find(&payee_items, "payment.completed", "push"), "sent");
    // The payer kept the defaults: their text message went out, with their own wording.
    let payer_items = notified(&platform, &payer, &[("payment.completed", "sms")]).await;
    let sent = assert_delivery(find(&payer_items, "payment.completed", "sms"), "sent");
    assert!(
        sent["body"]
            .as_str()
            .unwrap()
            .starts_with("FinFlow: you sent 12.3456 USD"),
        "{sent}"
    );

    // Each list is its owner's alone.
    assert!(payer_items.iter().all(|n| n["user_id"] == payer.id));
    assert!(payee_items.iter().all(|n| n["user_id"] == payee.id));
    assert!(
        payee_items
            .iter()
            .all(|n| !payer_items.iter().any(|m| m["id"] == n["id"]))
    );
}

#[tokio::test]
async fn notification_preferences_are_validated_and_lists_are_private() {
    let platform = platform().await;
    let account = register_and_login(&platform, "prefs").await;
    let other = register_and_login(&platform, "prefs-other").await;

    let defaults = get_preferences(&platform, &account).await;
    assert_eq!(defaults["user_id"], account.id);
    assert_eq!(defaults["customized"], false);
    assert_eq!(defaults["mandatory"], json!(["email.security"]));
    assert_eq!(
        defaults["channels"],
        json!({
            "email": {"account": true, "compliance": true, "payments": true, "security": true},
            "push": {"account": false, "compliance": false, "payments": true, "security": false},
            "sms": {"account": false, "compliance": false, "payments": true, "security": true},
        })
    );

    let bad = [
        (
            r#"{"channels": {"fax": {"payments": true}}}"#,
            "channels.fax",
        ),
        (
            r#"{"channels": {"sms": {"marketing": false}}}"#,
            "channels.sms.marketing",
        ),
        (
            r#"{"channels": {"sms": {"payments": "no"}}}"#,
            "channels.sms.payments",
        ),
        (
            r#"{"channels": {"email": {"security": false}}}"#,
            "channels.email.security",
        ),
        (r#"{}"#, "channels"),
        (r#"{"channels": {}, "sms": false}"#, "sms"),
        (r#""sms""#, "body"),
        (r#"{"channels": ["sms"]}"#, "channels"),
    ];
    for (body, field) in bad {
        let problem = expect_problem(put_preferences(&platform, &account, body).await, 422).await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{body}: {problem}");
    }
    expect_problem(put_preferences(&platform, &account, "{").await, 400).await;
    // Nothing was saved.
    assert_eq!(get_preferences(&platform, &account).await, defaults);

    // Lists: the caller's own, whatever the query names.
    let welcome = notified(&platform, &other, &[("user.created", "email")]).await;
    let response = platform
        .http
        .get(format!(
            "{NOTIFICATION}/api/notification/list?user_id={}",
            other.id
        ))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    let page = expect_json(response, 200).await;
    assert_eq!(page["user_id"], account.id);
    let items = page["items"].as_array().unwrap();
    assert!(items.iter().all(|n| n["user_id"] == account.id), "{page}");
    assert!(items.iter().all(|n| n["id"] != welcome[0]["id"]));

    let unauthenticated = platform
        .http
        .get(format!("{NOTIFICATION}/api/notification/list"))
        .send()
        .await
        .unwrap();
    expect_problem(unauthenticated, 401).await;
    for query in ["limit=0", "limit=101", "cursor=bm90LW91cnM"] {
        let response = platform
            .http
            .get(format!("{NOTIFICATION}/api/notification/list?{query}"))
            .bearer_auth(&account.access_token)
            .send()
            .await
            .unwrap();
        expect_problem(response, 422).await;
    }
}

#[tokio::test]
async fn notification_health_reports_its_table_queues_and_topics() {
    let platform = platform().await;
    let response = platform
        .http
        .get(format!("{NOTIFICATION}/api/notification/health"))
        .send()
        .await
        .unwrap();
    let report = expect_json(response, 200).await;
    assert_eq!(report["service"], "notification");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for topic in ["notify-email", "notify-sms", "notify-push"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("sns:") && n.ends_with(topic)),
            "{names:?}"
        );
    }
    assert!(names.contains(&"sqs:notification-events-dlq"), "{names:?}");
}
