//! KYC through its HTTP API and the reverse cascade: a decision at KYC reaches auth's
//! `kyc_status` through `kyc.decision_recorded` → auth → `user.kyc_updated`. Every wait is a
//! bounded poll; the observed lags are printed.

use finflow_shared::UserId;
use finflow_shared::events::kyc::{DecidedBy, DocumentType, KycDecision, KycDecisionRecorded};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::trace::TraceId;
use finflow_system_tests::events::{
    CASCADE_TIMEOUT, bus_message, consumer_outcomes, drained, outbox_event,
};
use finflow_system_tests::services::KYC;
use finflow_system_tests::{
    AUTH, Account, Platform, eventually, expect_json, expect_problem, register_and_login,
    staff_account,
};
use serde_json::{Value, json};

const PASSPORT_URL: &str = "https://example.com/passport.jpg";

async fn submit(platform: &Platform, account: &Account, body: Value) -> reqwest::Response {
    platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&account.access_token)
        .json(&body)
        .send()
        .await
        .expect("KYC submit is sent")
}

fn seed_body(account: &Account) -> Value {
    json!({ "user_id": account.id, "document_type": "passport", "document_url": PASSPORT_URL })
}

async fn get(platform: &Platform, account: &Account, url: String) -> reqwest::Response {
    platform
        .http
        .get(url)
        .bearer_auth(&account.access_token)
        .send()
        .await
        .expect("request is sent")
}

async fn review(
    platform: &Platform,
    reviewer: &Account,
    submission_id: u64,
    body: Value,
) -> reqwest::Response {
    platform
        .http
        .post(format!("{KYC}/api/kyc/review/{submission_id}"))
        .bearer_auth(&reviewer.access_token)
        .json(&body)
        .send()
        .await
        .expect("review is sent")
}

/// Polls auth until the user's `kyc_status` is `status`; returns how long it took.
async fn auth_shows(platform: &Platform, account: &Account, status: &str) -> std::time::Duration {
    let (_, lag) = eventually(
        &format!("auth to show user {} as {status}", account.id),
        CASCADE_TIMEOUT,
        || async {
            let response = get(platform, account, format!("{AUTH}/api/auth/me")).await;
            let me: Value = response.json().await.ok()?;
            (me["kyc_status"] == status).then_some(())
        },
    )
    .await;
    lag
}

async fn profile_exists(platform: &Platform, user_id: u64) -> bool {
    platform
        .item("KycTable", &format!("USER#{user_id}"), Some("PROFILE"))
        .await
        .is_some()
}

#[tokio::test]
async fn the_seed_passport_is_verified_and_auth_learns_it_in_the_same_trace() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-seed").await;
    let before = get(
        &platform,
        &account,
        format!("{KYC}/api/kyc/status/{}", account.id),
    )
    .await;
    let before = expect_json(before, 200).await;
    assert_eq!(before["status"], "not_submitted", "{before}");
    assert_eq!(before["latest_submission"], Value::Null);

    let response = submit(&platform, &account, seed_body(&account)).await;
    let trace_id = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let decision = expect_json(response, 201).await;
    assert_eq!(decision["status"], "verified", "{decision}");
    assert_eq!(decision["decided_by"], "automatic");
    assert_eq!(decision["user_id"], account.id);
    assert!(decision["risk_score"].as_u64().unwrap() <= 30, "{decision}");

    let lag = auth_shows(&platform, &account, "verified").await;
    println!("KYC verified → auth kyc_status lag: {lag:?}");

    let (updated, _) = eventually("user.kyc_updated in the outbox", CASCADE_TIMEOUT, || {
        outbox_event(&platform, "user.kyc_updated", account.id)
    })
    .await;
    assert_eq!(
        updated.trace_id.as_str(),
        trace_id,
        "the trace follows the cascade"
    );
    assert_eq!(updated.data["kyc_status"], "verified");
    assert_eq!(updated.data["previous_kyc_status"], "pending");

    let status = get(
        &platform,
        &account,
        format!("{KYC}/api/v1/kyc/status/{}", account.id),
    )
    .await;
    let status = expect_json(status, 200).await;
    assert_eq!(status["status"], "verified");
    assert_eq!(
        status["latest_submission"]["submission_id"],
        decision["submission_id"]
    );
    let again = submit(&platform, &account, seed_body(&account)).await;
    let problem = expect_problem(again, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already verified"),
        "{problem}"
    );
}

#[tokio::test]
async fn kyc_learns_the_registration_time_and_scores_the_account_age() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-age").await;
    let pk = format!("USER#{}", account.id);
    let (registration, lag) = eventually("KYC to learn the registration", CASCADE_TIMEOUT, || {
        platform.item("KycTable", &pk, Some("REGISTRATION"))
    })
    .await;
    println!("user.created → KYC registration lag: {lag:?}");
    assert!(registration.contains_key("registered_at"));
    expect_json(submit(&platform, &account, seed_body(&account)).await, 201).await;
    let risk = get(
        &platform,
        &account,
        format!("{KYC}/api/kyc/risk/{}", account.id),
    )
    .await;
    let risk = expect_json(risk, 200).await;
    let codes: Vec<&str> = risk["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "document:passport",
            "country:not_provided",
            "account_age:under_1_day"
        ],
        "{risk}"
    );
    assert_eq!(risk["risk_score"], 25);
    assert_eq!(risk["automatic_decision"], "verified");
}

#[tokio::test]
async fn a_sanctioned_country_is_rejected_and_a_resubmission_goes_to_review() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-sanctioned").await;
    let mut body = seed_body(&account);
    body["country"] = json!("KP");
    let decision = expect_json(submit(&platform, &account, body).await, 201).await;
    assert_eq!(decision["status"], "rejected", "{decision}");
    assert_eq!(decision["risk_score"], 100);
    assert!(
        decision["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("country:prohibited:KP")),
        "{decision}"
    );
    let lag = auth_shows(&platform, &account, "rejected").await;
    println!("KYC rejected → auth kyc_status lag: {lag:?}");

    // After a rejection the user may try again; the rejection now weighs on the score.
    let mut body = seed_body(&account);
    body["country"] = json!("de");
    let retry = expect_json(submit(&platform, &account, body).await, 201).await;
    assert_eq!(retry["status"], "manual_review", "{retry}");
    assert_eq!(retry["country"], "DE");
    assert!(
        retry["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("previous_rejections:1"))
    );
    // A submission under review means auth's status is pending again.
    let lag = auth_shows(&platform, &account, "pending").await;
    println!("KYC manual_review → auth kyc_status lag: {lag:?}");
    let status = get(
        &platform,
        &account,
        format!("{KYC}/api/kyc/status/{}", account.id),
    )
    .await;
    let status = expect_json(status, 200).await;
    assert_eq!(
        (&status["status"], &status["previous_rejections"]),
        (&json!("manual_review"), &json!(1))
    );
}

#[tokio::test]
async fn staff_decide_what_the_model_leaves_to_manual_review() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-review").await;
    let other = register_and_login(&platform, "kyc-other").await;
    let staff = staff_account(&platform).await;
    let mut body = seed_body(&account);
    body["document_type"] = json!("drivers_license");
    let open = expect_json(submit(&platform, &account, body).await, 201).await;
    assert_eq!(open["status"], "manual_review", "{open}");
    let submission_id = open["submission_id"].as_u64().unwrap();

    // One open submission per user.
    let second = submit(&platform, &account, seed_body(&account)).await;
    expect_problem(second, 409).await;

    // Only staff review, and not without a valid decision and reason.
    let verdict = json!({ "decision": "verified", "reason": "licence checked by video call" });
    expect_problem(
        review(&platform, &account, submission_id, verdict.clone()).await,
        403,
    )
    .await;
    expect_problem(
        review(&platform, &other, submission_id, verdict.clone()).await,
        403,
    )
    .await;
    let problem = expect_problem(
        review(
            &platform,
            &staff,
            submission_id,
            json!({ "decision": "manual_review", "reason": "" }),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["decision", "reason"]);
    expect_problem(
        review(&platform, &staff, 999_999_999, verdict.clone()).await,
        404,
    )
    .await;

    // Others may not look at the user's KYC; staff may.
    let forbidden = get(
        &platform,
        &other,
        format!("{KYC}/api/kyc/status/{}", account.id),
    )
    .await;
    expect_problem(forbidden, 403).await;
    let risk = get(
        &platform,
        &staff,
        format!("{KYC}/api/kyc/risk/{}", account.id),
    )
    .await;
    assert_eq!(
        expect_json(risk, 200).await["automatic_decision"],
        "manual_review"
    );

    let reviewed = review(&platform, &staff, submission_id, verdict.clone()).await;
    let reviewed = expect_json(reviewed, 200).await;
    assert_eq!(reviewed["status"], "verified");
    assert_eq!(reviewed["decided_by"], json!({ "staff": staff.id }));
    assert_eq!(
        reviewed["reasons"],
        json!(["licence checked by video call"])
    );
    let lag = auth_shows(&platform, &account, "verified").await;
    println!("staff review verified → auth kyc_status lag: {lag:?}");

    // A decided submission is not reviewed again.
    expect_problem(review(&platform, &staff, submission_id, verdict).await, 409).await;
}

#[tokio::test]
async fn auth_ignores_an_older_decision_that_arrives_late_and_acts_once_on_redelivery() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-order").await;
    let staff = staff_account(&platform).await;
    let mut body = seed_body(&account);
    body["document_type"] = json!("drivers_license");
    let open = expect_json(submit(&platform, &account, body).await, 201).await;
    let submission_id = open["submission_id"].as_u64().unwrap();
    let reviewed = review(
        &platform,
        &staff,
        submission_id,
        json!({ "decision": "verified", "reason": "ok" }),
    )
    .await;
    expect_json(reviewed, 200).await;
    auth_shows(&platform, &account, "verified").await;

    // A rejection with the sequence of the first decision (1; the review was 2) arrives late,
    // twice, as SQS may deliver it.
    let late = EventEnvelope::new(
        &KycDecisionRecorded {
            user_id: UserId::new(account.id),
            submission_id,
            document_type: DocumentType::DriversLicense,
            decision: KycDecision::Rejected,
            risk_score: 40,
            reasons: vec!["late".into()],
            decided_by: DecidedBy::Automatic,
            sequence: 1,
        },
        &Causality::from_request(TraceId::generate()),
    );
    let queue = &platform.queue("AuthKycEventsQueue").url;
    for _ in 0..2 {
        platform
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(bus_message(&platform, &late))
            .send()
            .await
            .unwrap();
    }
    drained(&platform, "AuthKycEventsQueue").await;
    let (outcomes, _) = eventually("both deliveries to be logged", CASCADE_TIMEOUT, || async {
        let outcomes =
            consumer_outcomes(&platform, "auth.kyc_decisions", &late.event_id.to_string());
        (outcomes.len() >= 2).then_some(outcomes)
    })
    .await;
    assert_eq!(outcomes, ["Ignored", "Duplicate"]);
    let me = get(&platform, &account, format!("{AUTH}/api/auth/me")).await;
    assert_eq!(expect_json(me, 200).await["kyc_status"], "verified");
}

#[tokio::test]
async fn every_bad_submission_is_refused_and_nothing_is_stored() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "kyc-bad").await;
    let other = register_and_login(&platform, "kyc-bad-other").await;
    let id = account.id;
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (
            json!({ "user_id": id, "document_type": "selfie", "document_url": PASSPORT_URL }),
            422,
            Some("document_type"),
        ),
        (
            json!({ "user_id": id, "document_type": "passport", "document_url": "http://example.com/p.jpg" }),
            422,
            Some("document_url"),
        ),
        (
            json!({ "user_id": id, "document_type": "passport", "document_url": "/passport.jpg" }),
            422,
            Some("document_url"),
        ),
        (
            json!({ "user_id": id, "document_type": "passport", "document_url": "https://" }),
            422,
            Some("document_url"),
        ),
        (
            json!({ "user_id": id, "document_type": "passport", "document_url": PASSPORT_URL, "country": "XX" }),
            422,
            Some("country"),
        ),
        (
            json!({ "user_id": id, "document_type": "passport" }),
            422,
            Some("document_url"),
        ),
        (
            json!({ "user_id": id.to_string(), "document_type": "passport", "document_url": PASSPORT_URL }),
            422,
            Some("user_id"),
        ),
        (
            json!({ "user_id": other.id, "document_type": "passport", "document_url": PASSPORT_URL }),
            403,
            None,
        ),
    ];
    for (body, status, field) in cases {
        let problem = expect_problem(submit(&platform, &account, body.clone()).await, status).await;
        if let Some(field) = field {
            assert!(
                problem["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["field"] == field),
                "{body} → {problem}"
            );
        }
    }
    let malformed = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&account.access_token)
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400).await;
    let anonymous = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .json(&seed_body(&account))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;

    assert!(!profile_exists(&platform, account.id).await);
    assert!(!profile_exists(&platform, other.id).await);
    let status = get(&platform, &account, format!("{KYC}/api/kyc/status/{id}")).await;
    assert_eq!(expect_json(status, 200).await["status"], "not_submitted");
    let risk = get(&platform, &account, format!("{KYC}/api/kyc/risk/{id}")).await;
    expect_problem(risk, 404).await;
}

#[tokio::test]
async fn health_probes_the_table_outbox_bus_queue_and_dlq() {
    let platform = Platform::connect().await;
    for url in [format!("{KYC}/api/kyc/health"), format!("{KYC}/health")] {
        let response = platform.http.get(&url).send().await.unwrap();
        let report = expect_json(response, 200).await;
        assert_eq!(report["service"], "kyc");
        assert_eq!(report["status"], "ok", "{report}");
        let names: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("dynamodb:") && n.ends_with("-kyc")),
            "{names:?}"
        );
        assert!(names.contains(&"sqs:kyc-user-events"), "{names:?}");
        assert!(names.contains(&"sqs:kyc-user-events-dlq"), "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("eventbridge:")),
            "{names:?}"
        );
        assert!(names.contains(&"upstream:auth"), "{names:?}");
    }
}
