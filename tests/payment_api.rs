//! Payment through its HTTP API: the seed's second test verbatim, every refusal with nothing
//! written, limits, ownership, history, and the ON_HOLD cascade carried out from a
//! compliance decision event.

use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::trace::TraceId;
use finflow_shared::{CaseId, PaymentId, UserId};
use finflow_system_tests::events::{CASCADE_TIMEOUT, bus_message, consumer_outcomes, drained};
use finflow_system_tests::openapi;
use finflow_system_tests::payments::{PAYMENT, funded_wallet, ledger, payment, transfer, wallet};
use finflow_system_tests::wallets::{WALLET, open_wallet};
use finflow_system_tests::{Platform, eventually, expect_json, expect_problem, register_and_login};
use serde_json::json;

#[tokio::test]
async fn the_seeds_test_2_a_frozen_source_wallet_refuses_the_transfer() {
    let platform = Platform::connect().await;
    let (alice, wallet_1) = funded_wallet(&platform, "seed2-alice", "USD", "500").await;
    let (bob, wallet_2) = funded_wallet(&platform, "seed2-bob", "USD", "0").await;

    let sent = expect_json(
        transfer(&platform, &alice, wallet_1, wallet_2, json!(100.00), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "COMPLETED");
    assert_eq!(sent["amount"], "100.0000");
    assert_eq!(
        wallet(&platform, &alice, wallet_1).await["balance"],
        "400.0000"
    );
    assert_eq!(
        wallet(&platform, &bob, wallet_2).await["balance"],
        "100.0000"
    );

    let freeze = platform
        .http
        .put(format!("{WALLET}/api/wallet/{wallet_1}/status"))
        .bearer_auth(&alice.access_token)
        .header("content-type", "application/json")
        .body(r#""frozen""#)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(freeze, 200).await["status"], "frozen");

    let refused = expect_problem(
        transfer(&platform, &alice, wallet_1, wallet_2, json!(50.00), None).await,
        400,
    )
    .await;
    assert_eq!(refused["detail"], "Source wallet is frozen");
    assert_eq!(
        wallet(&platform, &alice, wallet_1).await["balance"],
        "400.0000"
    );
    assert_eq!(
        wallet(&platform, &bob, wallet_2).await["balance"],
        "100.0000"
    );
}

#[tokio::test]
async fn every_refusal_is_a_clear_problem_and_writes_nothing() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "refuse-alice", "USD", "300").await;
    let (bob, to) = funded_wallet(&platform, "refuse-bob", "USD", "0").await;
    let euro = open_wallet(&platform, &bob, "EUR").await;
    let (carol, carols) = funded_wallet(&platform, "refuse-carol", "USD", "50").await;

    let cases = [
        (from, to, json!(0), 400, "Amount must be greater than zero"),
        (from, to, json!(-5), 400, "Amount must be greater than zero"),
        (
            from,
            to,
            json!(0.00001),
            400,
            "Amount must have at most 4 decimal places",
        ),
        (
            from,
            to,
            json!("lots"),
            400,
            "Amount must be a decimal number",
        ),
        (from, to, json!("300.0001"), 400, "Insufficient funds"),
        (
            from,
            to,
            json!("1000.0001"),
            400,
            "Amount exceeds the bronze tier's per-transaction limit of 1000.0000",
        ),
        (
            from,
            from,
            json!(1),
            400,
            "Cannot transfer to the same wallet",
        ),
        (carols, to, json!(1), 404, "Source wallet not found"),
        (
            from,
            999_999_999,
            json!(1),
            404,
            "Destination wallet not found",
        ),
    ];
    for (source, destination, amount, status, detail) in cases {
        let problem = expect_problem(
            transfer(&platform, &alice, source, destination, amount.clone(), None).await,
            status,
        )
        .await;
        assert_eq!(problem["detail"], detail, "{amount}");
    }
    let mismatch = platform
        .http
        .post(format!("{PAYMENT}/api/payment/transfer"))
        .bearer_auth(&alice.access_token)
        .json(&json!({ "from_wallet_id": from, "to_wallet_id": euro, "amount": 1, "currency": "USD" }))
        .send()
        .await
        .unwrap();
    assert!(
        expect_problem(mismatch, 400).await["detail"]
            .as_str()
            .unwrap()
            .starts_with("Currency mismatch")
    );

    // Bronze allows two wallets: Carol's second one is the closed destination.
    let closed = open_wallet(&platform, &carol, "GBP").await;
    let close = platform
        .http
        .put(format!("{WALLET}/api/wallet/{closed}/status"))
        .bearer_auth(&carol.access_token)
        .json(&json!("closed"))
        .send()
        .await
        .unwrap();
    expect_json(close, 200).await;
    let problem = expect_problem(
        transfer(&platform, &alice, from, closed, json!(1), None).await,
        400,
    )
    .await;
    assert_eq!(problem["detail"], "Destination wallet is closed");
    let bobs_frozen = platform
        .http
        .put(format!("{WALLET}/api/wallet/{to}/status"))
        .bearer_auth(&bob.access_token)
        .json(&json!("frozen"))
        .send()
        .await
        .unwrap();
    expect_json(bobs_frozen, 200).await;
    let problem = expect_problem(
        transfer(&platform, &alice, from, to, json!(1), None).await,
        400,
    )
    .await;
    assert_eq!(problem["detail"], "Destination wallet is frozen");

    let missing = platform
        .http
        .post(format!("{PAYMENT}/api/payment/transfer"))
        .bearer_auth(&alice.access_token)
        .json(&json!({ "from_wallet_id": from }))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 422).await;

    // Nothing moved and nothing was recorded.
    assert_eq!(wallet(&platform, &alice, from).await["balance"], "300.0000");
    assert_eq!(
        wallet(&platform, &carol, carols).await["balance"],
        "50.0000"
    );
    assert_eq!(
        ledger(&platform, &alice, from).await.len(),
        1,
        "only the deposit"
    );
    let history = platform
        .http
        .get(format!("{PAYMENT}/api/payment/history"))
        .bearer_auth(&alice.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(history, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn the_daily_limit_counts_every_transfer_of_the_day() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "daily-alice", "USD", "2500").await;
    let (_, to) = funded_wallet(&platform, "daily-bob", "USD", "0").await;
    for _ in 0..4 {
        let sent = expect_json(
            transfer(&platform, &alice, from, to, json!(450), None).await,
            201,
        )
        .await;
        assert!(
            sent["status"] == "COMPLETED" || sent["status"] == "ON_HOLD",
            "{sent}"
        );
    }
    let refused = expect_problem(
        transfer(&platform, &alice, from, to, json!(450), None).await,
        400,
    )
    .await;
    assert_eq!(
        refused["detail"],
        "Transfer would exceed the bronze tier's daily limit of 2000.0000"
    );
    assert_eq!(wallet(&platform, &alice, from).await["balance"], "700.0000");
}

#[tokio::test]
async fn parties_see_a_payment_and_their_history_and_nobody_else_does() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "seen-alice", "USD", "100").await;
    let (bob, to) = funded_wallet(&platform, "seen-bob", "USD", "0").await;
    let stranger = register_and_login(&platform, "seen-stranger").await;
    let mut ids = Vec::new();
    for amount in ["1", "2", "3"] {
        ids.push(
            expect_json(
                transfer(&platform, &alice, from, to, json!(amount), None).await,
                201,
            )
            .await["id"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(
        expect_json(payment(&platform, &bob, ids[0]).await, 200).await["amount"],
        "1.0000"
    );
    expect_problem(payment(&platform, &stranger, ids[0]).await, 404).await;

    let page = |query: &'static str, who: &finflow_system_tests::Account| {
        let request = platform
            .http
            .get(format!("{PAYMENT}/api/payment/history{query}"))
            .bearer_auth(&who.access_token);
        async move { expect_json(request.send().await.unwrap(), 200).await }
    };
    let first = page("?limit=2", &alice).await;
    let amounts: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["3.0000", "2.0000"]);
    assert!(first["next_cursor"].is_string());
    assert_eq!(
        page("?status=COMPLETED", &bob).await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        page("?status=ON_HOLD", &bob).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        page("", &stranger).await["items"].as_array().unwrap().len(),
        0
    );
    let bad = platform
        .http
        .get(format!("{PAYMENT}/api/payment/history?status=LOST"))
        .bearer_auth(&alice.access_token)
        .send()
        .await
        .unwrap();
    expect_problem(bad, 422).await;
}

async fn decide(platform: &Platform, payment_id: u64, action: CaseAction) -> EventEnvelope {
    let decision = EventEnvelope::new(
        &AmlCaseResolved {
            case_id: CaseId::new(payment_id),
            payment_id: PaymentId::new(payment_id),
            action,
            resolved_by: UserId::new(1),
            note: Some("test decision".into()),
        },
        &Causality::from_request(TraceId::generate()),
    );
    let queue = &platform.queue("PaymentAmlEventsQueue").url;
    for _ in 0..2 {
        // Delivered twice, as SQS may: it must act once.
        platform
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(bus_message(platform, &decision))
            .send()
            .await
            .unwrap();
    }
    decision
}

#[tokio::test]
async fn a_flagged_transfer_is_held_then_released_once_or_voided_once() {
    let platform = Platform::connect().await;
    let (alice, from) = funded_wallet(&platform, "hold-alice", "USD", "3000").await;
    let (bob, to) = funded_wallet(&platform, "hold-bob", "USD", "0").await;

    let held = expect_json(
        transfer(&platform, &alice, from, to, json!(950), None).await,
        201,
    )
    .await;
    assert_eq!(held["status"], "ON_HOLD");
    assert!(
        held["hold_reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("structuring"),
        "{held}"
    );
    let payer = wallet(&platform, &alice, from).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("2050.0000"), Some("950.0000"))
    );
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "0.0000");

    let released = decide(&platform, held["id"].as_u64().unwrap(), CaseAction::Release).await;
    let (settled, lag) = eventually(
        "the release to complete the payment",
        CASCADE_TIMEOUT,
        || async {
            let body = expect_json(
                payment(&platform, &alice, held["id"].as_u64().unwrap()).await,
                200,
            )
            .await;
            (body["status"] == "COMPLETED").then_some(body)
        },
    )
    .await;
    println!("release carried out after {lag:?}");
    assert!(settled["resolution"].as_str().unwrap().contains("released"));
    drained(&platform, "PaymentAmlEventsQueue").await;
    assert_eq!(
        wallet(&platform, &bob, to).await["balance"],
        "950.0000",
        "credited once"
    );
    let payer = wallet(&platform, &alice, from).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("2050.0000"), Some("0.0000"))
    );
    let (outcomes, _) = eventually("both deliveries to be logged", CASCADE_TIMEOUT, || async {
        let outcomes = consumer_outcomes(
            &platform,
            "payment.aml-decisions",
            &released.event_id.to_string(),
        );
        (outcomes.len() >= 2).then_some(outcomes)
    })
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| *o == "Applied").count(),
        1,
        "{outcomes:?}"
    );

    let held = expect_json(
        transfer(&platform, &alice, from, to, json!(960), None).await,
        201,
    )
    .await;
    assert_eq!(held["status"], "ON_HOLD");
    decide(&platform, held["id"].as_u64().unwrap(), CaseAction::Void).await;
    eventually("the void to fail the payment", CASCADE_TIMEOUT, || async {
        let body = expect_json(
            payment(&platform, &bob, held["id"].as_u64().unwrap()).await,
            200,
        )
        .await;
        (body["status"] == "FAILED").then_some(())
    })
    .await;
    drained(&platform, "PaymentAmlEventsQueue").await;
    let payer = wallet(&platform, &alice, from).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("2050.0000"), Some("0.0000")),
        "returned once"
    );
    assert_eq!(wallet(&platform, &bob, to).await["balance"], "950.0000");
    let kinds: Vec<String> = ledger(&platform, &alice, from)
        .await
        .iter()
        .map(|e| format!("{} {}", e["type"], e["amount"]))
        .collect();
    assert_eq!(
        kinds,
        [
            r#""credit" "3000.0000""#,
            r#""debit" "950.0000""#,
            r#""debit" "960.0000""#,
            r#""credit" "960.0000""#
        ]
    );
}

/// A breaking change ships beside the version it breaks: `/api/v2/payment/transfer` answers the
/// amount as an object, `/api/v1` (and `/api`) keep answering as before, and both are one
/// transfer under one idempotency key.
#[tokio::test]
async fn v2_answers_a_transfer_with_the_amount_as_an_object_while_v1_is_served() {
    let platform = Platform::connect().await;
    let (payer, from) = funded_wallet(&platform, "v2-payer", "USD", "100").await;
    let (_, to) = funded_wallet(&platform, "v2-payee", "USD", "0").await;
    let key = format!("v2-{}", uuid::Uuid::new_v4());
    let send = |prefix: &str| {
        platform
            .http
            .post(format!("{PAYMENT}{prefix}/payment/transfer"))
            .bearer_auth(&payer.access_token)
            .header("Idempotency-Key", &key)
            .json(&json!({ "from_wallet_id": from, "to_wallet_id": to, "amount": "12.5", "currency": "USD" }))
            .send()
    };

    let v2 = expect_json(send("/api/v2").await.unwrap(), 201).await;
    assert_eq!(
        v2["amount"],
        json!({ "value": "12.5000", "currency": "USD" }),
        "{v2}"
    );
    assert!(v2.get("currency").is_none(), "{v2}");
    let document = openapi::load("payment");
    let schema = &document["paths"]["/api/v2/payment/transfer"]["post"]["responses"]["201"]["content"]
        ["application/json"]["schema"];
    let validator = openapi::compile(&document, schema).unwrap();
    assert!(
        validator.is_valid(&v2),
        "the v2 answer is the document's PaymentV2: {v2}"
    );

    let replayed = send("/api/v1").await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let v1 = expect_json(replayed, 201).await;
    assert_eq!(
        (&v1["id"], &v1["amount"], &v1["currency"]),
        (&v2["id"], &json!("12.5000"), &json!("USD")),
        "v1 replays the same transfer in its own shape: {v1}"
    );
    assert_eq!(wallet(&platform, &payer, from).await["balance"], "87.5000");

    let through_v1 = platform
        .http
        .post(format!("{PAYMENT}/api/v1/v2/payment/transfer"))
        .bearer_auth(&payer.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(through_v1, 404).await;
}
