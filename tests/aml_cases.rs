//! The compliance half of AML through the HTTP API: a held transfer becomes a case in KYC
//! (payment.on_hold → kyc-payment-events), a compliance officer resolves it, and payment
//! carries the decision out (aml.case_resolved → payment-aml-events), after which the case
//! closes with the payment's end (payment.released / payment.voided → kyc-payment-events).
//! Every wait is a bounded poll; the observed cascade lags are printed.

use std::time::{Duration, Instant};

use finflow_system_tests::events::{CASCADE_TIMEOUT, drained};
use finflow_system_tests::payments::{funded_wallet, ledger, payment, transfer, wallet};
use finflow_system_tests::wallets::KYC;
use finflow_system_tests::{
    Account, Platform, eventually, expect_json, expect_problem, staff_account,
};
use serde_json::{Value, json};

async fn get(platform: &Platform, who: &Account, path: &str) -> reqwest::Response {
    platform
        .http
        .get(format!("{KYC}{path}"))
        .bearer_auth(&who.access_token)
        .send()
        .await
        .expect("AML request is sent")
}

async fn resolve(
    platform: &Platform,
    who: &Account,
    case_id: u64,
    body: Value,
) -> reqwest::Response {
    platform
        .http
        .post(format!("{KYC}/api/aml/cases/{case_id}/resolve"))
        .bearer_auth(&who.access_token)
        .json(&body)
        .send()
        .await
        .expect("resolve is sent")
}

/// The case about `payment_id` among the cases with `status` (every page), as staff see it.
async fn find_case(
    platform: &Platform,
    staff: &Account,
    status: &str,
    payment_id: u64,
) -> Option<Value> {
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/aml/cases?status={status}&limit=100");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = expect_json(get(platform, staff, &path).await, 200).await;
        let items = page["items"].as_array().expect("a page lists items");
        if let Some(case) = items.iter().find(|c| c["payment_id"] == payment_id) {
            return Some(case.clone());
        }
        cursor = Some(page["next_cursor"].as_str()?.to_owned());
    }
}

/// A held transfer of `amount` from a fresh bronze payer holding 3000 to a fresh payee, and
/// its case once compliance opened it.
struct HeldTransfer {
    payer: Account,
    payer_wallet: u64,
    payee: Account,
    payee_wallet: u64,
    payment_id: u64,
    case_id: u64,
}

async fn held_transfer(
    platform: &Platform,
    staff: &Account,
    tag: &str,
    amount: &str,
) -> HeldTransfer {
    let (payer, payer_wallet) =
        funded_wallet(platform, &format!("{tag}-payer"), "USD", "3000").await;
    let (payee, payee_wallet) = funded_wallet(platform, &format!("{tag}-payee"), "USD", "0").await;
    let held = expect_json(
        transfer(
            platform,
            &payer,
            payer_wallet,
            payee_wallet,
            json!(amount),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(held["status"], "ON_HOLD", "{held}");
    let payment_id = held["id"].as_u64().unwrap();
    let (case, lag) = eventually(
        "compliance to open a case for the hold",
        CASCADE_TIMEOUT,
        || find_case(platform, staff, "open", payment_id),
    )
    .await;
    println!("{tag}: payment.on_hold -> open AML case after {lag:?}");
    assert_eq!(case["status"], "open");
    assert_eq!(case["payment_status"], "ON_HOLD");
    assert_eq!(case["amount"], format!("{amount}.0000"));
    assert_eq!(
        (case["payer_id"].as_u64(), case["payee_id"].as_u64()),
        (Some(payer.id), Some(payee.id))
    );
    assert!(
        case["hold_reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("structuring"),
        "{case}"
    );
    assert!(
        case["decision"].is_null() && case["outcome"].is_null(),
        "{case}"
    );
    HeldTransfer {
        payer,
        payer_wallet,
        payee,
        payee_wallet,
        payment_id,
        case_id: case["case_id"].as_u64().unwrap(),
    }
}

/// Waits for the case to close with `outcome`, and returns it.
async fn closed_case(
    platform: &Platform,
    staff: &Account,
    case_id: u64,
    outcome: &str,
) -> (Value, Duration) {
    eventually(
        "the payment's end to close the case",
        CASCADE_TIMEOUT,
        || async {
            let case = expect_json(
                get(platform, staff, &format!("/api/aml/cases/{case_id}")).await,
                200,
            )
            .await;
            (case["outcome"] == outcome).then_some(case)
        },
    )
    .await
}

#[tokio::test]
async fn a_held_transfer_becomes_a_case_that_staff_release_once() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let held = held_transfer(&platform, &staff, "aml-release", "950").await;
    let case_id = held.case_id;

    // Compliance is for staff only: customers, even the parties, see and decide nothing.
    for who in [&held.payer, &held.payee] {
        expect_problem(get(&platform, who, "/api/aml/cases?status=open").await, 403).await;
        expect_problem(
            get(&platform, who, &format!("/api/aml/cases/{case_id}")).await,
            403,
        )
        .await;
        expect_problem(
            get(
                &platform,
                who,
                &format!("/api/aml/activity/{}", held.payer.id),
            )
            .await,
            403,
        )
        .await;
        expect_problem(
            resolve(&platform, who, case_id, json!({ "action": "release" })).await,
            403,
        )
        .await;
    }
    expect_problem(
        get(&platform, &staff, "/api/aml/cases?status=pending").await,
        422,
    )
    .await;
    let bad = expect_problem(
        resolve(&platform, &staff, case_id, json!({ "action": "approve" })).await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "action", "{bad}");
    expect_problem(
        resolve(
            &platform,
            &staff,
            999_999_999,
            json!({ "action": "release" }),
        )
        .await,
        404,
    )
    .await;

    let resolved_at = Instant::now();
    let resolved = expect_json(
        resolve(
            &platform,
            &staff,
            case_id,
            json!({ "action": "release", "note": "payee verified by phone" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["decision"]["action"], "release");
    assert_eq!(resolved["decision"]["resolved_by"], staff.id);
    assert_eq!(resolved["decision"]["note"], "payee verified by phone");

    let (settled, lag) = eventually(
        "payment to carry out the release",
        CASCADE_TIMEOUT,
        || async {
            let body =
                expect_json(payment(&platform, &held.payer, held.payment_id).await, 200).await;
            (body["status"] == "COMPLETED").then_some(body)
        },
    )
    .await;
    println!("aml-release: resolve -> payment COMPLETED after {lag:?}");
    assert!(
        settled["resolution"]
            .as_str()
            .unwrap()
            .contains(&format!("case {case_id}"))
    );

    let conflict = expect_problem(
        resolve(&platform, &staff, case_id, json!({ "action": "void" })).await,
        409,
    )
    .await;
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap()
            .contains("already resolved"),
        "{conflict}"
    );

    let (case, _) = closed_case(&platform, &staff, case_id, "released").await;
    println!(
        "aml-release: resolve -> case closed (payment.released) after {:?}",
        resolved_at.elapsed()
    );
    assert_eq!(
        (case["status"].as_str(), case["payment_status"].as_str()),
        (Some("resolved"), Some("COMPLETED"))
    );
    assert!(case["closed_at"].is_string(), "{case}");
    assert_eq!(
        case["decision"]["action"], "release",
        "the decision is kept"
    );
    assert!(
        find_case(&platform, &staff, "open", held.payment_id)
            .await
            .is_none()
    );
    assert_eq!(
        find_case(&platform, &staff, "resolved", held.payment_id)
            .await
            .unwrap()["case_id"],
        case_id
    );

    // Credited exactly once, and the hold fully settled.
    drained(&platform, "PaymentAmlEventsQueue").await;
    assert_eq!(
        wallet(&platform, &held.payee, held.payee_wallet).await["balance"],
        "950.0000"
    );
    let credits: Vec<Value> = ledger(&platform, &held.payee, held.payee_wallet)
        .await
        .into_iter()
        .filter(|e| e["type"] == "credit")
        .collect();
    assert_eq!(credits.len(), 1, "{credits:?}");
    assert_eq!(credits[0]["amount"], "950.0000");
    let payer = wallet(&platform, &held.payer, held.payer_wallet).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("2050.0000"), Some("0.0000"))
    );

    // The payer's velocity state: one transfer sent today, held, then released.
    let (activity, _) = eventually(
        "the release to count in the payer's activity",
        CASCADE_TIMEOUT,
        || async {
            let activity = expect_json(
                get(
                    &platform,
                    &staff,
                    &format!("/api/aml/activity/{}", held.payer.id),
                )
                .await,
                200,
            )
            .await;
            (activity["released"] == 1).then_some(activity)
        },
    )
    .await;
    assert_eq!(
        (activity["holds"].as_u64(), activity["open_holds"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(activity["days"].as_array().unwrap().len(), 1, "{activity}");
    let today = &activity["days"][0];
    assert_eq!(
        (today["currency"].as_str(), today["sent_count"].as_u64()),
        (Some("USD"), Some(1))
    );
    assert_eq!(today["sent_volume"], "950.0000");
}

#[tokio::test]
async fn a_voided_case_returns_the_money_to_the_payer() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let held = held_transfer(&platform, &staff, "aml-void", "960").await;
    let payer = wallet(&platform, &held.payer, held.payer_wallet).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("2040.0000"), Some("960.0000"))
    );

    let resolved = expect_json(
        resolve(&platform, &staff, held.case_id, json!({ "action": "void" })).await,
        200,
    )
    .await;
    assert_eq!(resolved["decision"]["action"], "void");
    assert!(resolved["decision"]["note"].is_null());
    let (_, lag) = eventually("payment to carry out the void", CASCADE_TIMEOUT, || async {
        let body = expect_json(payment(&platform, &held.payee, held.payment_id).await, 200).await;
        (body["status"] == "FAILED").then_some(())
    })
    .await;
    println!("aml-void: resolve -> payment FAILED after {lag:?}");
    let (case, lag) = closed_case(&platform, &staff, held.case_id, "voided").await;
    println!("aml-void: payment FAILED -> case closed (payment.voided) after {lag:?}");
    assert_eq!(case["payment_status"], "FAILED");
    expect_problem(
        resolve(
            &platform,
            &staff,
            held.case_id,
            json!({ "action": "release" }),
        )
        .await,
        409,
    )
    .await;

    drained(&platform, "PaymentAmlEventsQueue").await;
    let payer = wallet(&platform, &held.payer, held.payer_wallet).await;
    assert_eq!(
        (payer["balance"].as_str(), payer["held_balance"].as_str()),
        (Some("3000.0000"), Some("0.0000")),
        "returned once"
    );
    assert_eq!(
        wallet(&platform, &held.payee, held.payee_wallet).await["balance"],
        "0.0000"
    );
}

#[tokio::test]
async fn a_completed_payment_opens_no_case_but_counts_in_the_activity() {
    let platform = Platform::connect().await;
    let staff = staff_account(&platform).await;
    let (alice, from) = funded_wallet(&platform, "aml-clean-payer", "USD", "500").await;
    let (_, to) = funded_wallet(&platform, "aml-clean-payee", "USD", "0").await;
    let sent = expect_json(
        transfer(&platform, &alice, from, to, json!("100.25"), None).await,
        201,
    )
    .await;
    assert_eq!(sent["status"], "COMPLETED");
    let payment_id = sent["id"].as_u64().unwrap();

    // Once monitoring has applied payment.completed, it has decided about this payment.
    let (activity, lag) = eventually(
        "monitoring to count the transfer",
        CASCADE_TIMEOUT,
        || async {
            let activity = expect_json(
                get(
                    &platform,
                    &staff,
                    &format!("/api/aml/activity/{}", alice.id),
                )
                .await,
                200,
            )
            .await;
            (activity["days"].as_array()?.len() == 1).then_some(activity)
        },
    )
    .await;
    println!("aml-clean: payment.completed -> activity after {lag:?}");
    assert_eq!(activity["days"][0]["sent_count"], 1);
    assert_eq!(activity["days"][0]["sent_volume"], "100.2500");
    assert_eq!(activity["holds"], 0);
    drained(&platform, "KycPaymentEventsQueue").await;
    for status in ["open", "resolved"] {
        assert!(
            find_case(&platform, &staff, status, payment_id)
                .await
                .is_none(),
            "a completed payment has no {status} case"
        );
    }
}
