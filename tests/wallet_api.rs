//! Wallet through its HTTP API: the seed's first cascade verbatim, tier limits, deposits
//! with exact decimals and idempotency keys, status rules and ownership.

use std::time::Duration;

use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::wallets::{
    KYC, WALLET, balance, create_wallet, deposit, open_wallet, verified_account,
};
use finflow_system_tests::{
    AUTH, Platform, eventually, expect_json, expect_problem, register_and_login, staff_account,
    unique_email,
};
use serde_json::json;

#[tokio::test]
async fn the_seeds_test_1_kyc_gates_wallet_creation_and_the_same_token_works_after() {
    let platform = Platform::connect().await;
    let email = unique_email("seed-test-1");
    let register = platform
        .http
        .post(format!("{AUTH}/api/auth/register"))
        .json(&json!({ "email": email, "password": "password123", "name": "Test User" }))
        .send()
        .await
        .unwrap();
    let user = expect_json(register, 201).await;
    let login = platform
        .http
        .post(format!("{AUTH}/api/auth/login"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("username", email.clone())
                .text("password", "password123"),
        )
        .send()
        .await
        .unwrap();
    let token = expect_json(login, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = || {
        platform
            .http
            .post(format!("{WALLET}/api/wallet/create"))
            .bearer_auth(&token)
            .json(&json!({ "currency": "USD" }))
            .send()
    };

    let refused = expect_problem(create().await.unwrap(), 403).await;
    assert_eq!(
        refused["detail"],
        "KYC verification required. Current status: pending"
    );

    let submit = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&token)
        .json(&json!({ "user_id": user["id"], "document_type": "passport", "document_url": "https://example.com/passport.jpg" }))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(submit, 201).await["status"], "verified");

    let (wallet, lag) = eventually("wallet creation to be allowed", CASCADE_TIMEOUT, || async {
        let response = create().await.unwrap();
        (response.status().as_u16() == 201).then_some(response)
    })
    .await;
    println!("KYC → auth → wallet cascade lag: {lag:?}");
    let wallet = expect_json(wallet, 201).await;
    assert_eq!(wallet["currency"], "USD");
    assert_eq!(wallet["balance"], "0.0000");
    assert_eq!(wallet["status"], "active");
}

#[tokio::test]
async fn one_wallet_per_currency_supported_currencies_only_and_tier_limits_follow_upgrades() {
    let platform = Platform::connect().await;
    let (account, lag) = verified_account(&platform, "limits").await;
    println!("verification reached wallet after {lag:?}");
    open_wallet(&platform, &account, "USD").await;
    let duplicate = expect_problem(create_wallet(&platform, &account, "usd").await, 409).await;
    assert!(
        duplicate["detail"].as_str().unwrap().contains("USD"),
        "{duplicate}"
    );
    let unsupported = expect_problem(create_wallet(&platform, &account, "XYZ").await, 422).await;
    assert_eq!(unsupported["errors"][0]["field"], "currency");
    let missing = platform
        .http
        .post(format!("{WALLET}/api/wallet/create"))
        .bearer_auth(&account.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(missing, 422).await["errors"][0]["field"],
        "currency"
    );

    open_wallet(&platform, &account, "EUR").await;
    let over_limit = expect_problem(create_wallet(&platform, &account, "GBP").await, 403).await;
    assert_eq!(
        over_limit["detail"],
        "The bronze tier allows at most 2 open wallets"
    );

    let staff = staff_account(&platform).await;
    let upgrade = platform
        .http
        .put(format!("{AUTH}/api/auth/user/{}/tier", account.id))
        .bearer_auth(&staff.access_token)
        .json(&json!({ "account_tier": "gold" }))
        .send()
        .await
        .unwrap();
    expect_json(upgrade, 200).await;
    // The same token: wallet learns the tier from auth's event, not from the token.
    let (_, lag) = eventually("the gold tier to reach wallet", CASCADE_TIMEOUT, || async {
        (create_wallet(&platform, &account, "GBP")
            .await
            .status()
            .as_u16()
            == 201)
            .then_some(())
    })
    .await;
    println!("tier change reached wallet after {lag:?}");
    let wallets = platform
        .http
        .get(format!("{WALLET}/api/wallet/user/{}", account.id))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    let currencies: Vec<String> = expect_json(wallets, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["currency"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(currencies, ["USD", "EUR", "GBP"]);
}

#[tokio::test]
async fn deposits_are_exact_limited_by_tier_and_listed_newest_first() {
    let platform = Platform::connect().await;
    let (account, _) = verified_account(&platform, "deposit").await;
    let wallet = open_wallet(&platform, &account, "USD").await;

    for _ in 0..3 {
        expect_json(
            deposit(&platform, &account, wallet, json!(0.0001), None).await,
            200,
        )
        .await;
    }
    let credited = expect_json(
        deposit(&platform, &account, wallet, json!("100.10"), None).await,
        200,
    )
    .await;
    assert_eq!(credited["wallet"]["balance"], "100.1003");
    assert_eq!(credited["transaction"]["balance_after"], "100.1003");

    let too_precise = expect_problem(
        deposit(&platform, &account, wallet, json!(0.00001), None).await,
        422,
    )
    .await;
    assert_eq!(too_precise["errors"][0]["field"], "amount");
    expect_problem(
        deposit(&platform, &account, wallet, json!(-5), None).await,
        422,
    )
    .await;
    expect_problem(
        deposit(&platform, &account, wallet, json!(0), None).await,
        422,
    )
    .await;
    expect_problem(
        deposit(&platform, &account, wallet, json!("ten"), None).await,
        422,
    )
    .await;
    let over = expect_problem(
        deposit(&platform, &account, wallet, json!("5000.0001"), None).await,
        400,
    )
    .await;
    assert!(
        over["detail"].as_str().unwrap().contains("bronze"),
        "{over}"
    );

    let balance = balance(&platform, &account, wallet).await;
    assert_eq!(
        (balance["balance"].as_str(), balance["precision"].as_u64()),
        (Some("100.1003"), Some(4))
    );

    let first_page = platform
        .http
        .get(format!("{WALLET}/api/wallet/{wallet}/transactions?limit=2"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    let first_page = expect_json(first_page, 200).await;
    let items = first_page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            items[0]["type"].as_str(),
            items[0]["amount"].as_str(),
            items[0]["balance_after"].as_str()
        ),
        (Some("credit"), Some("100.1000"), Some("100.1003"))
    );
    assert_eq!(items[1]["balance_after"], "0.0003");
    let cursor = first_page["next_cursor"]
        .as_str()
        .expect("a second page exists");
    let second_page = platform
        .http
        .get(format!(
            "{WALLET}/api/wallet/{wallet}/transactions?limit=2&cursor={cursor}"
        ))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    let second_page = expect_json(second_page, 200).await;
    let balances: Vec<&str> = second_page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["balance_after"].as_str().unwrap())
        .collect();
    assert_eq!(balances, ["0.0002", "0.0001"]);
    let bad_limit = platform
        .http
        .get(format!("{WALLET}/api/wallet/{wallet}/transactions?limit=0"))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    expect_problem(bad_limit, 422).await;
}

#[tokio::test]
async fn one_idempotency_key_credits_once_and_every_reply_is_identical() {
    let platform = Platform::connect().await;
    let (account, _) = verified_account(&platform, "idempotent").await;
    let wallet = open_wallet(&platform, &account, "USD").await;
    let key = uuid::Uuid::new_v4().to_string();

    let attempts = (0..6).map(|_| deposit(&platform, &account, wallet, json!("25.50"), Some(&key)));
    // Polled together so the requests really overlap.
    let replies = futures_util::future::join_all(attempts).await;
    let mut bodies = Vec::new();
    for reply in replies {
        let status = reply.status().as_u16();
        let body: serde_json::Value = reply.json().await.unwrap();
        // A duplicate racing the first waits for its outcome and replays it.
        assert_eq!(status, 200, "{body}");
        bodies.push(body);
    }
    for _ in 0..2 {
        let replay = deposit(&platform, &account, wallet, json!(25.5), Some(&key)).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        bodies.push(expect_json(replay, 200).await);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "replies differ: {bodies:?}"
    );
    assert_eq!(
        balance(&platform, &account, wallet).await["balance"],
        "25.5000"
    );

    let different = expect_problem(
        deposit(&platform, &account, wallet, json!("30"), Some(&key)).await,
        422,
    )
    .await;
    assert_eq!(different["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(
        balance(&platform, &account, wallet).await["balance"],
        "25.5000"
    );
}

#[tokio::test]
async fn status_changes_follow_the_rules_and_a_frozen_wallet_takes_no_deposit() {
    let platform = Platform::connect().await;
    let (account, _) = verified_account(&platform, "status").await;
    let staff = staff_account(&platform).await;
    let wallet = open_wallet(&platform, &account, "USD").await;
    let set = |token: String, body: serde_json::Value| {
        let platform = &platform;
        async move {
            platform
                .http
                .put(format!("{WALLET}/api/wallet/{wallet}/status"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    assert_eq!(
        expect_json(
            set(account.access_token.clone(), json!("frozen")).await,
            200
        )
        .await["status"],
        "frozen"
    );
    let refused = expect_problem(
        deposit(&platform, &account, wallet, json!(1), None).await,
        400,
    )
    .await;
    assert_eq!(refused["detail"], "Wallet is frozen");
    assert_eq!(
        expect_json(
            set(account.access_token.clone(), json!({ "status": "active" })).await,
            200
        )
        .await["status"],
        "active"
    );

    expect_json(
        set(
            staff.access_token.clone(),
            json!({ "status": "frozen", "reason": "compliance hold" }),
        )
        .await,
        200,
    )
    .await;
    expect_problem(
        set(account.access_token.clone(), json!("active")).await,
        403,
    )
    .await;
    expect_json(set(staff.access_token.clone(), json!("active")).await, 200).await;

    expect_problem(
        set(account.access_token.clone(), json!("paused")).await,
        422,
    )
    .await;
    expect_json(
        deposit(&platform, &account, wallet, json!(1), None).await,
        200,
    )
    .await;
    let not_empty = expect_problem(
        set(account.access_token.clone(), json!("closed")).await,
        409,
    )
    .await;
    assert!(
        not_empty["detail"]
            .as_str()
            .unwrap()
            .contains("zero balance"),
        "{not_empty}"
    );

    let empty = open_wallet(&platform, &account, "EUR").await;
    let close = platform
        .http
        .put(format!("{WALLET}/api/wallet/{empty}/status"))
        .bearer_auth(&account.access_token)
        .json(&json!("closed"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(close, 200).await["status"], "closed");
    let reopen = platform
        .http
        .put(format!("{WALLET}/api/wallet/{empty}/status"))
        .bearer_auth(&account.access_token)
        .json(&json!("active"))
        .send()
        .await
        .unwrap();
    expect_problem(reopen, 409).await;
    // Closing freed the currency and the tier's slot.
    open_wallet(&platform, &account, "EUR").await;
}

#[tokio::test]
async fn nobody_reads_or_moves_what_is_not_theirs() {
    let platform = Platform::connect().await;
    let (owner, _) = verified_account(&platform, "owner").await;
    let intruder = register_and_login(&platform, "intruder").await;
    let wallet = open_wallet(&platform, &owner, "USD").await;
    for path in ["", "/balance", "/transactions"] {
        let response = platform
            .http
            .get(format!("{WALLET}/api/wallet/{wallet}{path}"))
            .bearer_auth(&intruder.access_token)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(response, 404).await;
        assert!(problem.get("balance").is_none());
    }
    expect_problem(
        deposit(&platform, &intruder, wallet, json!(1), None).await,
        404,
    )
    .await;
    let freeze = platform
        .http
        .put(format!("{WALLET}/api/wallet/{wallet}/status"))
        .bearer_auth(&intruder.access_token)
        .json(&json!("frozen"))
        .send()
        .await
        .unwrap();
    expect_problem(freeze, 404).await;
    let list = platform
        .http
        .get(format!("{WALLET}/api/wallet/user/{}", owner.id))
        .bearer_auth(&intruder.access_token)
        .send()
        .await
        .unwrap();
    expect_problem(list, 403).await;
    let anonymous = platform
        .http
        .get(format!("{WALLET}/api/wallet/{wallet}"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;
    assert_eq!(
        balance(&platform, &owner, wallet).await["balance"],
        "0.0000"
    );
}

#[tokio::test]
async fn precision_config_and_health_with_upstream() {
    let platform = Platform::connect().await;
    let precision = expect_json(
        platform
            .http
            .get(format!("{WALLET}/api/wallet/config/precision"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(precision["precision"], 4);
    assert_eq!(precision["max_amount"], "9999999999999999.9999");
    let (report, _) = eventually(
        "wallet health to be ok",
        Duration::from_secs(10),
        || async {
            let report = platform
                .http
                .get(format!("{WALLET}/health"))
                .send()
                .await
                .ok()?
                .json::<serde_json::Value>()
                .await
                .ok()?;
            (report["status"] == "ok").then_some(report)
        },
    )
    .await;
    let checks = report["checks"].as_array().unwrap();
    let upstream = checks
        .iter()
        .find(|c| c["name"] == "upstream:auth")
        .expect("auth upstream is checked");
    assert_eq!(upstream["detail"]["service"], "auth");
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "sqs:wallet-user-events-dlq" && c["detail"]["depth"].is_u64()),
        "{report}"
    );
}

#[tokio::test]
async fn a_rejected_kyc_keeps_wallets_closed_and_says_why() {
    let platform = Platform::connect().await;
    let account = register_and_login(&platform, "rejected").await;
    let submit = platform
        .http
        .post(format!("{KYC}/api/kyc/submit"))
        .bearer_auth(&account.access_token)
        .json(&json!({ "user_id": account.id, "document_type": "passport", "document_url": "https://example.com/p.jpg", "country": "KP" }))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(submit, 201).await["status"], "rejected");
    let (problem, lag) = eventually("wallet to learn the rejection", CASCADE_TIMEOUT, || async {
        let response = create_wallet(&platform, &account, "USD").await;
        let problem = expect_problem(response, 403).await;
        (problem["detail"] == "KYC verification required. Current status: rejected")
            .then_some(problem)
    })
    .await;
    println!(
        "rejection reached wallet after {lag:?}: {}",
        problem["detail"]
    );
    let wallets = platform
        .http
        .get(format!("{WALLET}/api/wallet/user/{}", account.id))
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(wallets, 200).await,
        json!([]),
        "nothing was stored"
    );
}
