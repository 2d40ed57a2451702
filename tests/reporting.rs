//! Reporting through the HTTP API: transfers (one of them ON_HOLD) reach the projections
//! through the real cascade (payment → outbox → bus → reporting-events), the reports show
//! them exactly, in JSON and CSV, to whom they may, and a released hold moves from ON_HOLD
//! to COMPLETED.
//!
//! Other tests run on the same platform at the same time, so exact figures are asserted only
//! for this test's own fresh users (their analytics); the platform-wide reports are checked
//! as deltas and lower bounds: a day's COMPLETED and its total over every status only grow
//! (a hold's end moves it between statuses of the day it was made).

use std::collections::HashMap;

use finflow_shared::Money;
use finflow_system_tests::accounts::Account;
use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::payments::{funded_wallet, transfer};
use finflow_system_tests::services::{GATEWAY, REPORTING};
use finflow_system_tests::wallets::KYC;
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, expect_problem, staff_account,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn day(offset: i64) -> String {
    let date = OffsetDateTime::now_utc().date() + Duration::days(offset);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

async fn get(platform: &Platform, who: &Account, path: &str) -> reqwest::Response {
    platform
        .http
        .get(format!("{REPORTING}{path}"))
        .bearer_auth(&who.access_token)
        .send()
        .await
        .expect("report request is sent")
}

fn money(value: &Value) -> Money {
    Money::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is an amount string")),
    )
    .unwrap()
}

/// Yesterday to tomorrow (UTC), so a test running across midnight still sees its payments:
/// per status, the count and volume of every USD payment made in those days.
async fn usd_totals(platform: &Platform, staff: &Account) -> HashMap<String, (u64, Money)> {
    let path = format!(
        "/api/reports/transactions?from={}&to={}&currency=USD",
        day(-1),
        day(1)
    );
    let report = expect_json(get(platform, staff, &path).await, 200).await;
    let mut totals = HashMap::new();
    for total in report["totals"].as_array().expect("totals") {
        assert_eq!(total["currency"], "USD", "{report}");
        totals.insert(
            total["status"].as_str().unwrap().to_owned(),
            (total["count"].as_u64().unwrap(), money(&total["volume"])),
        );
    }
    totals
}

fn status_of(totals: &HashMap<String, (u64, Money)>, status: &str) -> (u64, Money) {
    totals.get(status).copied().unwrap_or((0, Money::ZERO))
}

fn all_statuses(totals: &HashMap<String, (u64, Money)>) -> (u64, Money) {
    totals
        .values()
        .fold((0, Money::ZERO), |(c, v), (count, volume)| {
            (c + count, v.checked_add(*volume).unwrap())
        })
}

/// `who`'s analytics of `user`, once `done` holds for its USD figures.
async fn analytics_when(
    platform: &Platform,
    who: &Account,
    user: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let (analytics, lag) = eventually(what, CASCADE_TIMEOUT, || async {
        let response = get(
            platform,
            who,
            &format!("/api/reports/users/{user}/analytics"),
        )
        .await;
        if response.status() != 200 {
            return None;
        }
        let analytics: Value = response.json().await.ok()?;
        let usd = analytics["currencies"]
            .as_array()?
            .iter()
            .find(|c| c["currency"] == "USD")?
            .clone();
        done(&usd).then_some(analytics)
    })
    .await;
    println!("{what}: after {lag:?}");
    analytics
}

fn usd(analytics: &Value) -> &Value {
    analytics["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "USD")
        .unwrap()
}

fn figures(count: u64, volume: &str) -> Value {
    json!({ "count": count, "volume": volume })
}

#[tokio::test]
async fn transfers_and_a_hold_show_exactly_in_the_reports() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (alice, from) = funded_wallet(&platform, "report-alice", "USD", "3000").await;
    let (bob, to) = funded_wallet(&platform, "report-bob", "USD", "0").await;
    let before = usd_totals(&platform, &staff).await;

    // 0.1 + 0.2 must sum to exactly 0.3000; 950 from a bronze payer is held by AML.
    let mut held_id = 0;
    for (amount, status) in [
        ("0.1", "COMPLETED"),
        ("0.2", "COMPLETED"),
        ("950", "ON_HOLD"),
    ] {
        let sent = expect_json(
            transfer(&platform, &alice, from, to, json!(amount), None).await,
            201,
        )
        .await;
        assert_eq!(sent["status"], status, "{sent}");
        held_id = sent["id"].as_u64().unwrap();
    }

    // The users' own analytics are exact: nobody else pays them.
    let analytics = analytics_when(
        &platform,
        &alice,
        alice.id,
        "alice's analytics to show her three transfers",
        |usd| usd["sent"]["ON_HOLD"]["count"] == 1 && usd["sent"]["COMPLETED"]["count"] == 2,
    )
    .await;
    assert_eq!(analytics["user_id"], alice.id);
    assert_eq!(analytics["kyc_status"], "verified", "{analytics}");
    assert_eq!(analytics["account_tier"], "bronze", "{analytics}");
    assert_eq!(analytics["wallets_opened"], 1, "{analytics}");
    let mine = usd(&analytics);
    assert_eq!(mine["sent"]["COMPLETED"], figures(2, "0.3000"), "{mine}");
    assert_eq!(mine["sent"]["ON_HOLD"], figures(1, "950.0000"), "{mine}");
    assert_eq!(mine["sent"]["FAILED"], figures(0, "0.0000"), "{mine}");
    assert_eq!(
        mine["received"]["COMPLETED"],
        figures(0, "0.0000"),
        "{mine}"
    );
    assert_eq!(mine["deposits"], figures(1, "3000.0000"), "{mine}");
    let analytics = analytics_when(
        &platform,
        &staff,
        bob.id,
        "bob's analytics to show what he was sent",
        |usd| {
            usd["received"]["ON_HOLD"]["count"] == 1 && usd["received"]["COMPLETED"]["count"] == 2
        },
    )
    .await;
    let his = usd(&analytics);
    assert_eq!(his["received"]["COMPLETED"], figures(2, "0.3000"), "{his}");
    assert_eq!(his["received"]["ON_HOLD"], figures(1, "950.0000"), "{his}");
    assert_eq!(his["sent"]["COMPLETED"], figures(0, "0.0000"), "{his}");
    assert_eq!(his["deposits"], figures(0, "0.0000"), "{his}");

    // The platform-wide report: at least what this test did on top of what was there.
    let after = usd_totals(&platform, &staff).await;
    let (completed_before, completed_volume_before) = status_of(&before, "COMPLETED");
    let (completed, completed_volume) = status_of(&after, "COMPLETED");
    assert!(completed >= completed_before + 2, "{before:?} → {after:?}");
    assert!(
        completed_volume
            >= completed_volume_before
                .checked_add(Money::parse("0.3").unwrap())
                .unwrap(),
        "{before:?} → {after:?}"
    );
    let (all_before, all_volume_before) = all_statuses(&before);
    let (all, all_volume) = all_statuses(&after);
    assert!(all >= all_before + 3, "{before:?} → {after:?}");
    assert!(
        all_volume
            >= all_volume_before
                .checked_add(Money::parse("950.3").unwrap())
                .unwrap(),
        "{before:?} → {after:?}"
    );
    assert!(status_of(&after, "ON_HOLD").0 >= 1, "{after:?}");

    // Filters, and the same report as CSV: by ?format=csv and by Accept.
    let path = format!(
        "/api/reports/transactions?from={}&to={}&currency=usd&status=on_hold",
        day(-1),
        day(1)
    );
    let held = expect_json(get(&platform, &staff, &path).await, 200).await;
    assert_eq!(
        (&held["currency"], &held["status"]),
        (&json!("USD"), &json!("ON_HOLD"))
    );
    let rows = held["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{held}");
    assert!(
        rows.iter()
            .all(|r| r["currency"] == "USD" && r["status"] == "ON_HOLD"),
        "{held}"
    );
    let csv_path = format!(
        "/api/reports/transactions?from={}&to={}&format=csv",
        day(-1),
        day(1)
    );
    let by_accept = platform
        .http
        .get(format!(
            "{REPORTING}/api/v1/reports/transactions?from={}&to={}",
            day(-1),
            day(1)
        ))
        .bearer_auth(&staff.access_token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    for response in [get(&platform, &staff, &csv_path).await, by_accept] {
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let body = response.text().await.unwrap();
        let mut lines = body.lines();
        assert_eq!(lines.next(), Some("date,currency,status,count,volume"));
        let mut usd_completed = 0;
        for line in lines {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 5, "{line}");
            assert_eq!(fields[0].len(), 10, "{line}");
            let count: u64 = fields[3].parse().expect("count is an integer");
            let volume = Money::parse(fields[4]).expect("volume is an exact decimal");
            assert_eq!(fields[4], volume.to_string(), "four decimals: {line}");
            if fields[1] == "USD" && fields[2] == "COMPLETED" {
                usd_completed += count;
            }
        }
        assert!(usd_completed >= completed_before + 2, "{body}");
    }

    // Compliance: the hold is listed, and counted.
    let mut listed = false;
    let mut cursor: Option<String> = None;
    let compliance = loop {
        let mut path = "/api/reports/compliance?limit=100".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let compliance = expect_json(get(&platform, &staff, &path).await, 200).await;
        let page = &compliance["held_payments"];
        listed |= page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["payment_id"] == held_id && p["amount"] == "950.0000");
        match page["next_cursor"].as_str() {
            Some(next) if !listed => cursor = Some(next.to_owned()),
            _ => break compliance,
        }
    };
    assert!(
        listed,
        "payment {held_id} is not listed as held: {compliance}"
    );
    assert!(compliance["aml"]["holds_opened"].as_u64().unwrap() >= 1);
    let held_usd = compliance["aml"]["held"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["currency"] == "USD")
        .expect("USD is held");
    assert!(money(&held_usd["volume"]) >= Money::parse("950").unwrap());
    assert!(compliance["kyc"]["submissions"].as_u64().unwrap() >= 2);
    assert!(
        compliance["kyc"]["users_by_status"]["verified"]
            .as_i64()
            .unwrap()
            >= 2
    );
}

#[tokio::test]
async fn reports_refuse_strangers_and_bad_questions() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (alice, _) = funded_wallet(&platform, "report-nosy", "USD", "0").await;
    let (bob, _) = funded_wallet(&platform, "report-private", "USD", "0").await;

    // A customer reads their own analytics only, and no platform-wide report.
    expect_problem(
        get(
            &platform,
            &alice,
            &format!("/api/reports/users/{}/analytics", bob.id),
        )
        .await,
        403,
    )
    .await;
    for path in [
        "/api/reports/transactions",
        "/api/reports/transactions?from=not-a-date",
        "/api/reports/dashboard",
        "/api/reports/compliance",
    ] {
        expect_problem(get(&platform, &alice, path).await, 403).await;
    }
    let unauthenticated = platform
        .http
        .get(format!("{REPORTING}/api/reports/transactions"))
        .send()
        .await
        .unwrap();
    expect_problem(unauthenticated, 401).await;
    analytics_when(
        &platform,
        &alice,
        alice.id,
        "alice's own analytics",
        |usd| usd["wallets_opened"] == 1,
    )
    .await;

    // Bad dates, ranges and filters are 422 problems naming the field.
    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=2026-13-01", "from"),
        ("to=01/03/2026", "to"),
        ("from=2026-03-02&to=2026-03-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("status=PENDINGX", "status"),
        ("currency=XXX", "currency"),
        ("format=xml", "format"),
    ] {
        let problem = expect_problem(
            get(
                &platform,
                &staff,
                &format!("/api/reports/transactions?{query}"),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    expect_problem(
        get(&platform, &staff, "/api/reports/dashboard?to=tomorrow").await,
        422,
    )
    .await;
    expect_problem(
        get(&platform, &staff, "/api/reports/compliance?limit=0").await,
        422,
    )
    .await;
}

#[tokio::test]
async fn a_released_hold_moves_to_completed_and_tiers_are_counted() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (carol, from) = funded_wallet(&platform, "report-carol", "USD", "3000").await;
    let (dave, to) = funded_wallet(&platform, "report-dave", "USD", "0").await;
    let held = expect_json(
        transfer(&platform, &carol, from, to, json!("950"), None).await,
        201,
    )
    .await;
    assert_eq!(held["status"], "ON_HOLD", "{held}");
    let payment_id = held["id"].as_u64().unwrap();
    analytics_when(
        &platform,
        &carol,
        carol.id,
        "carol's hold in her analytics",
        |usd| usd["sent"]["ON_HOLD"] == figures(1, "950.0000"),
    )
    .await;

    // Compliance releases it (kyc's AML case API); payment carries it out.
    let (case_id, _) = eventually("an AML case for the hold", CASCADE_TIMEOUT, || async {
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{KYC}/api/aml/cases?status=open&limit=100");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page: Value = platform
                .http
                .get(url)
                .bearer_auth(&staff.access_token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            if let Some(case) = page["items"]
                .as_array()?
                .iter()
                .find(|c| c["payment_id"] == payment_id)
            {
                return case["case_id"].as_u64();
            }
            cursor = Some(page["next_cursor"].as_str()?.to_owned());
        }
    })
    .await;
    let resolved = platform
        .http
        .post(format!("{KYC}/api/aml/cases/{case_id}/resolve"))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "action": "release", "note": "reporting test" }))
        .send()
        .await
        .unwrap();
    assert!(resolved.status().is_success(), "{}", resolved.status());

    let analytics = analytics_when(
        &platform,
        &carol,
        carol.id,
        "the release to move carol's payment to COMPLETED",
        |usd| usd["sent"]["COMPLETED"]["count"] == 1,
    )
    .await;
    let hers = usd(&analytics);
    assert_eq!(hers["sent"]["COMPLETED"], figures(1, "950.0000"), "{hers}");
    assert_eq!(hers["sent"]["ON_HOLD"], figures(0, "0.0000"), "{hers}");
    assert_eq!(hers["sent"]["FAILED"], figures(0, "0.0000"), "{hers}");
    let analytics = analytics_when(
        &platform,
        &dave,
        dave.id,
        "the release to reach dave's analytics",
        |usd| usd["received"]["COMPLETED"]["count"] == 1,
    )
    .await;
    assert_eq!(usd(&analytics)["received"]["ON_HOLD"], figures(0, "0.0000"));
    let compliance = expect_json(
        get(&platform, &staff, "/api/reports/compliance?limit=100").await,
        200,
    )
    .await;
    assert!(compliance["aml"]["holds_released"].as_u64().unwrap() >= 1);
    assert!(
        compliance["aml"]["cases_resolved"]["release"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Tier analytics: staff make dave silver.
    let changed = platform
        .http
        .put(format!("{AUTH}/api/auth/user/{}/tier", dave.id))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "account_tier": "silver" }))
        .send()
        .await
        .unwrap();
    expect_json(changed, 200).await;
    let (profile, _) = eventually(
        "reporting to learn dave's tier",
        CASCADE_TIMEOUT,
        || async {
            let analytics: Value = get(
                &platform,
                &dave,
                &format!("/api/reports/users/{}/analytics", dave.id),
            )
            .await
            .json()
            .await
            .ok()?;
            (analytics["account_tier"] == "silver").then_some(analytics)
        },
    )
    .await;
    assert_eq!(profile["user_id"], dave.id);
    let dashboard = expect_json(get(&platform, &staff, "/api/reports/dashboard").await, 200).await;
    assert!(
        dashboard["users"]["tiers"]["silver"].as_i64().unwrap() >= 1,
        "{dashboard}"
    );
    assert!(
        dashboard["users"]["registered"].as_i64().unwrap() >= 2,
        "{dashboard}"
    );
    assert!(
        dashboard["kyc_funnel"]["decisions"]["automatic"]["verified"]
            .as_i64()
            .unwrap()
            >= 2
    );
    assert!(
        dashboard["volume"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["currency"] == "USD" && row["status"] == "COMPLETED"),
        "{dashboard}"
    );
}

#[tokio::test]
async fn health_shows_its_resources_and_upstreams() {
    let platform = Platform::connect().await;
    for url in [
        format!("{REPORTING}/health"),
        format!("{REPORTING}/api/reporting/health"),
    ] {
        let (report, _) = eventually("reporting to be healthy", CASCADE_TIMEOUT, || async {
            let report: Value = platform
                .http
                .get(&url)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (report["status"] == "ok").then_some(report)
        })
        .await;
        assert_eq!(report["service"], "reporting");
        let checks = report["checks"].as_array().unwrap();
        let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
        for expected in [
            "sqs:reporting-events",
            "sqs:reporting-events-dlq",
            "upstream:wallet",
            "upstream:payment",
            "upstream:kyc",
        ] {
            assert!(names.contains(&expected), "{expected} missing: {names:?}");
        }
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("dynamodb:") && n.ends_with("-reporting")),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n.starts_with("eventbridge:")),
            "{names:?}"
        );
        // Auth shows through the upstreams' own checks.
        for upstream in ["upstream:wallet", "upstream:payment", "upstream:kyc"] {
            let check = checks.iter().find(|c| c["name"] == upstream).unwrap();
            let inner: Vec<&str> = check["detail"]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            assert!(inner.contains(&"upstream:auth"), "{upstream}: {inner:?}");
        }
    }
}

/// The local gateway (port 8000, one API like API Gateway) answers `/health` for the whole
/// platform: every service's own report, and ok only when every service is.
#[tokio::test]
async fn the_gateway_health_gathers_every_service() {
    let platform = Platform::connect().await;
    let (report, _) = eventually("the platform to be healthy", CASCADE_TIMEOUT, || async {
        let response = platform
            .http
            .get(format!("{GATEWAY}/health"))
            .send()
            .await
            .ok()?;
        let ok = response.status() == 200;
        let report: Value = response.json().await.ok()?;
        (ok && report["status"] == "ok").then_some(report)
    })
    .await;
    let services: Vec<&String> = report["services"].as_object().unwrap().keys().collect();
    assert_eq!(
        services,
        [
            "auth",
            "kyc",
            "notification",
            "payment",
            "reporting",
            "wallet"
        ],
        "{report}"
    );
    for (name, service) in report["services"].as_object().unwrap() {
        assert_eq!(service["service"], name.as_str(), "{service}");
        assert_eq!(service["status"], "ok", "{service}");
    }
}
