//! Real responses against the OpenAPI documents (`events/openapi/<service>.json`): every
//! documented operation is served (under `/api` and `/api/v1`), and a representative set of
//! operations of each service, successes and typical 4xx, answers only what its document
//! allows: a documented status and content type, and a body its schema accepts. The JSON
//! requests sent for successes must be accepted by the documented request schemas too.
//!
//! Every test uses its own users; other tests run against the same platform concurrently.

use std::time::Duration;

use finflow_system_tests::events::CASCADE_TIMEOUT;
use finflow_system_tests::openapi::{Contracts, SERVICES, load, operations};
use finflow_system_tests::payments::PAYMENT;
use finflow_system_tests::services::{NOTIFICATION, REPORTING};
use finflow_system_tests::wallets::{KYC, WALLET, verified_account};
use finflow_system_tests::{
    AUTH, Account, Platform, eventually, register_and_login, staff_account, unique_email,
};
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

struct Answer {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

/// Sends requests and checks each answer against the documents.
struct Api<'a> {
    platform: &'a Platform,
    contracts: Contracts,
}

impl<'a> Api<'a> {
    fn new(platform: &'a Platform) -> Self {
        Api {
            platform,
            contracts: Contracts::load(),
        }
    }

    /// A request the documents must accept (its JSON body included) and its conforming answer.
    async fn send(&mut self, request: RequestBuilder) -> Answer {
        self.exchange(request, true).await
    }

    /// A request meant to be refused: its answer must conform, its body need not.
    async fn send_invalid(&mut self, request: RequestBuilder) -> Answer {
        self.exchange(request, false).await
    }

    async fn exchange(&mut self, request: RequestBuilder, valid: bool) -> Answer {
        let request = request.build().expect("the request builds");
        let method = request.method().as_str().to_owned();
        let url = request.url().clone();
        let json_body = request
            .headers()
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
        if valid && json_body {
            let bytes = request
                .body()
                .and_then(|b| b.as_bytes())
                .unwrap_or_default();
            let body: Value = serde_json::from_slice(bytes).expect("test requests are JSON");
            let service = Contracts::service_of_port(url.port().unwrap()).unwrap();
            let problems = self
                .contracts
                .request_problems(service, &method, url.path(), &body);
            assert!(
                problems.is_empty(),
                "the documented request schema refuses a request the test expects to succeed:\n{}",
                problems.join("\n")
            );
        }
        let response = self
            .platform
            .http
            .execute(request)
            .await
            .expect("the request is sent");
        let headers = response.headers().clone();
        let (status, body) = self.contracts.check(&method, response).await;
        Answer {
            status,
            body,
            headers,
        }
    }

    fn get(&self, url: String, who: &Account) -> RequestBuilder {
        self.platform.http.get(url).bearer_auth(&who.access_token)
    }

    fn post(&self, url: String, who: &Account, body: Value) -> RequestBuilder {
        self.platform
            .http
            .post(url)
            .bearer_auth(&who.access_token)
            .json(&body)
    }

    fn put(&self, url: String, who: &Account, body: Value) -> RequestBuilder {
        self.platform
            .http
            .put(url)
            .bearer_auth(&who.access_token)
            .json(&body)
    }
}

#[track_caller]
fn expect(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "body: {}", answer.body);
}

#[tokio::test]
async fn openapi_every_documented_operation_is_served_and_answers_as_documented() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let mut checked = 0;
    for (service, port) in SERVICES {
        for (method, path) in operations(&load(service)) {
            let concrete = path.replace("{id}", "1");
            // A second version is served at its own path only (finflow_shared::http::V2).
            let prefixes: &[&str] = if concrete.starts_with("/api/v2/") {
                &["/api/"]
            } else if concrete.starts_with("/api/") {
                &["/api/", "/api/v1/"]
            } else {
                &["/"]
            };
            for prefix in prefixes {
                let at = concrete.replacen(
                    if concrete.starts_with("/api/") {
                        "/api/"
                    } else {
                        "/"
                    },
                    prefix,
                    1,
                );
                let request = platform.http.request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("http://127.0.0.1:{port}{at}"),
                );
                // No token and no body: a 401 or 400 must be documented like any answer.
                let answer = api.send_invalid(request).await;
                assert!(
                    answer.status != 405 && answer.body["detail"] != "No such route",
                    "{service} documents {method} {path}, but {at} is not served: {} {}",
                    answer.status,
                    answer.body
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} operations checked");
}

#[tokio::test]
async fn openapi_auth_answers_conform() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let http = &platform.http;
    let email = unique_email("openapi-auth");
    let body = json!({ "email": email, "password": "correct-horse-42", "name": "OpenAPI" });

    let user = api
        .send(http.post(format!("{AUTH}/api/auth/register")).json(&body))
        .await;
    expect(&user, 201);
    let id = user.body["id"].as_u64().unwrap();
    expect(
        &api.send(
            http.post(format!("{AUTH}/api/v1/auth/register"))
                .json(&body),
        )
        .await,
        409,
    );
    let invalid = api
        .send_invalid(
            http.post(format!("{AUTH}/api/auth/register"))
                .json(&json!({ "email": "nope", "password": "short", "name": "" })),
        )
        .await;
    expect(&invalid, 422);
    assert!(
        invalid.body["errors"]
            .as_array()
            .is_some_and(|e| e.len() >= 2),
        "{}",
        invalid.body
    );
    expect(
        &api.send_invalid(
            http.post(format!("{AUTH}/api/auth/register"))
                .header("content-type", "application/json")
                .body("{\"email\":"),
        )
        .await,
        400,
    );
    expect(
        &api.send_invalid(
            http.post(format!("{AUTH}/api/auth/register"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await,
        415,
    );

    // Login as the seed does (multipart), as a urlencoded form, and as JSON.
    let form = reqwest::multipart::Form::new()
        .text("username", email.clone())
        .text("password", "correct-horse-42");
    let tokens = api
        .send(http.post(format!("{AUTH}/api/auth/login")).multipart(form))
        .await;
    expect(&tokens, 200);
    let urlencoded = api
        .send(http.post(format!("{AUTH}/api/auth/login")).form(&[
            ("username", email.as_str()),
            ("password", "correct-horse-42"),
        ]))
        .await;
    expect(&urlencoded, 200);
    let json_login = api
        .send(
            http.post(format!("{AUTH}/api/auth/login"))
                .json(&json!({ "email": email, "password": "correct-horse-42" })),
        )
        .await;
    expect(&json_login, 200);
    expect(
        &api.send(
            http.post(format!("{AUTH}/api/auth/login"))
                .json(&json!({ "username": email, "password": "wrong-horse-43" })),
        )
        .await,
        401,
    );
    expect(
        &api.send_invalid(
            http.post(format!("{AUTH}/api/auth/login"))
                .json(&json!({ "username": email })),
        )
        .await,
        422,
    );

    let account = Account {
        id,
        email: email.clone(),
        access_token: tokens.body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens.body["refresh_token"].as_str().unwrap().to_owned(),
    };
    expect(
        &api.send(api.get(format!("{AUTH}/api/auth/me"), &account))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{AUTH}/api/auth/verify-token"), &account))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{AUTH}/api/auth/user/{id}"), &account))
            .await,
        200,
    );
    expect(
        &api.send(
            http.get(format!("{AUTH}/api/auth/me"))
                .bearer_auth("not-a-token"),
        )
        .await,
        401,
    );

    let other = register_and_login(&platform, "openapi-auth-other").await;
    expect(
        &api.send(api.get(format!("{AUTH}/api/auth/user/{}", other.id), &account))
            .await,
        403,
    );
    expect(
        &api.send(api.get(format!("{AUTH}/api/auth/user/0"), &account))
            .await,
        404,
    );

    // Tiers: staff only; a bad tier is a 422 and an unknown user a 404.
    let staff = staff_account(&platform).await;
    let tier = json!({ "account_tier": "silver" });
    expect(
        &api.send(api.put(
            format!("{AUTH}/api/auth/user/{}/tier", other.id),
            &account,
            tier.clone(),
        ))
        .await,
        403,
    );
    let changed = api
        .send(api.put(
            format!("{AUTH}/api/auth/user/{}/tier", other.id),
            &staff,
            tier.clone(),
        ))
        .await;
    expect(&changed, 200);
    assert_eq!(changed.body["account_tier"], "silver");
    expect(
        &api.send_invalid(api.put(
            format!("{AUTH}/api/auth/user/{}/tier", other.id),
            &staff,
            json!({ "account_tier": "platinum" }),
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.put(format!("{AUTH}/api/auth/user/999999999/tier"), &staff, tier))
            .await,
        404,
    );

    // Refresh rotates; the spent token is refused; logout ends the session.
    let refreshed = api
        .send(
            http.post(format!("{AUTH}/api/auth/refresh"))
                .json(&json!({ "refresh_token": account.refresh_token })),
        )
        .await;
    expect(&refreshed, 200);
    expect(
        &api.send(
            http.post(format!("{AUTH}/api/auth/refresh"))
                .json(&json!({ "refresh_token": account.refresh_token })),
        )
        .await,
        401,
    );
    let fresh = api
        .send(
            http.post(format!("{AUTH}/api/auth/login"))
                .json(&json!({ "username": email, "password": "correct-horse-42" })),
        )
        .await;
    let token = fresh.body["access_token"].as_str().unwrap().to_owned();
    let logout = api
        .send(
            http.post(format!("{AUTH}/api/auth/logout"))
                .bearer_auth(&token),
        )
        .await;
    expect(&logout, 204);
    expect(
        &api.send(
            http.get(format!("{AUTH}/api/auth/verify-token"))
                .bearer_auth(&token),
        )
        .await,
        401,
    );
}

#[tokio::test]
async fn openapi_kyc_wallet_payment_answers_conform() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let staff = staff_account(&platform).await;

    // KYC: before verification wallet creation is refused; a submission is decided at once.
    let pending = register_and_login(&platform, "openapi-kyc").await;
    let other = register_and_login(&platform, "openapi-kyc-other").await;
    expect(
        &api.send(api.post(
            format!("{WALLET}/api/wallet/create"),
            &pending,
            json!({ "currency": "USD" }),
        ))
        .await,
        403,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &pending))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/kyc/risk/{}", pending.id), &pending))
            .await,
        404,
    );
    let submission = api
        .send(api.post(
            format!("{KYC}/api/kyc/submit"),
            &pending,
            json!({ "user_id": pending.id, "document_type": "passport", "document_url": "https://example.com/passport.jpg", "country": "GB" }),
        ))
        .await;
    expect(&submission, 201);
    let submission_id = submission.body["submission_id"].as_u64().unwrap();
    expect(&api.send(api.post(format!("{KYC}/api/kyc/submit"), &pending, json!({ "user_id": other.id, "document_type": "passport", "document_url": "https://example.com/p.jpg" }))).await, 403);
    expect(&api.send_invalid(api.post(format!("{KYC}/api/kyc/submit"), &other, json!({ "user_id": other.id, "document_type": "selfie", "document_url": "https://example.com/p.jpg" }))).await, 422);
    expect(
        &api.send(api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &pending))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/kyc/risk/{}", pending.id), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &other))
            .await,
        403,
    );
    let review = json!({ "decision": "verified", "reason": "documents checked" });
    expect(
        &api.send(api.post(
            format!("{KYC}/api/kyc/review/{submission_id}"),
            &other,
            review.clone(),
        ))
        .await,
        403,
    );
    expect(
        &api.send(api.post(
            format!("{KYC}/api/kyc/review/{submission_id}"),
            &staff,
            review.clone(),
        ))
        .await,
        409,
    );
    expect(
        &api.send(api.post(format!("{KYC}/api/kyc/review/999999999"), &staff, review))
            .await,
        404,
    );

    // Wallets of two verified users.
    let (payer, _) = verified_account(&platform, "openapi-payer").await;
    let (payee, _) = verified_account(&platform, "openapi-payee").await;
    let created = api
        .send(api.post(
            format!("{WALLET}/api/wallet/create"),
            &payer,
            json!({ "currency": "usd" }),
        ))
        .await;
    expect(&created, 201);
    let from = created.body["id"].as_u64().unwrap();
    expect(
        &api.send(api.post(
            format!("{WALLET}/api/wallet/create"),
            &payer,
            json!({ "currency": "USD" }),
        ))
        .await,
        409,
    );
    expect(
        &api.send_invalid(api.post(
            format!("{WALLET}/api/wallet/create"),
            &payer,
            json!({ "currency": "XYZ" }),
        ))
        .await,
        422,
    );
    let to = api
        .send(api.post(
            format!("{WALLET}/api/v1/wallet/create"),
            &payee,
            json!({ "currency": "USD" }),
        ))
        .await;
    expect(&to, 201);
    let to = to.body["id"].as_u64().unwrap();

    expect(
        &api.send(
            platform
                .http
                .get(format!("{WALLET}/api/wallet/config/precision")),
        )
        .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{WALLET}/api/wallet/{from}"), &payer))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{WALLET}/api/wallet/{from}"), &payee))
            .await,
        404,
    );
    expect(
        &api.send(api.get(format!("{WALLET}/api/wallet/{from}/balance"), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{WALLET}/api/wallet/user/{}", payer.id), &payer))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{WALLET}/api/wallet/user/{}", payer.id), &payee))
            .await,
        403,
    );

    // Deposits: a JSON number read exactly, a string, a replay, and what is refused.
    let key = uuid::Uuid::new_v4().to_string();
    let deposit = |amount: Value| json!({ "amount": amount, "reference": "openapi top-up" });
    let first = api
        .send(
            api.post(
                format!("{WALLET}/api/wallet/{from}/deposit"),
                &payer,
                deposit(json!(1000.25)),
            )
            .header("Idempotency-Key", &key),
        )
        .await;
    expect(&first, 200);
    assert_eq!(first.body["wallet"]["balance"], "1000.2500");
    let replay = api
        .send(
            api.post(
                format!("{WALLET}/api/wallet/{from}/deposit"),
                &payer,
                deposit(json!(1000.25)),
            )
            .header("Idempotency-Key", &key),
        )
        .await;
    expect(&replay, 200);
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    expect(
        &api.send(api.post(
            format!("{WALLET}/api/wallet/{from}/deposit"),
            &payer,
            deposit(json!("2")),
        ))
        .await,
        200,
    );
    expect(
        &api.send_invalid(api.post(
            format!("{WALLET}/api/wallet/{from}/deposit"),
            &payer,
            deposit(json!("0.00001")),
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.post(
            format!("{WALLET}/api/wallet/{from}/deposit"),
            &payer,
            deposit(json!("99999")),
        ))
        .await,
        400,
    );
    expect(
        &api.send(
            api.post(
                format!("{WALLET}/api/wallet/{from}/deposit"),
                &payer,
                deposit(json!("1")),
            )
            .header("Idempotency-Key", &key),
        )
        .await,
        422,
    );
    expect(
        &api.send(api.get(
            format!("{WALLET}/api/wallet/{from}/transactions?limit=2"),
            &payer,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{WALLET}/api/wallet/{from}/transactions?limit=0"),
            &payer,
        ))
        .await,
        422,
    );

    // Status: the seed's bare string, then the object form; a frozen source refuses transfers.
    let frozen = api
        .send(api.put(
            format!("{WALLET}/api/wallet/{from}/status"),
            &payer,
            json!("frozen"),
        ))
        .await;
    expect(&frozen, 200);
    assert_eq!(frozen.body["status"], "frozen");
    let transfer = |amount: Value| json!({ "from_wallet_id": from, "to_wallet_id": to, "amount": amount, "currency": "USD", "description": "openapi" });
    let refused = api
        .send(api.post(
            format!("{PAYMENT}/api/payment/transfer"),
            &payer,
            transfer(json!("10")),
        ))
        .await;
    expect(&refused, 400);
    assert_eq!(refused.body["detail"], "Source wallet is frozen");
    expect(
        &api.send(api.put(
            format!("{WALLET}/api/wallet/{from}/status"),
            &payer,
            json!({ "status": "active", "reason": "done" }),
        ))
        .await,
        200,
    );
    expect(
        &api.send_invalid(api.put(
            format!("{WALLET}/api/wallet/{from}/status"),
            &payer,
            json!("melted"),
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.put(
            format!("{WALLET}/api/wallet/{from}/status"),
            &payer,
            json!("closed"),
        ))
        .await,
        409,
    );

    // Transfers: exact amounts as number or string, a replayed key, refusals.
    let key = uuid::Uuid::new_v4().to_string();
    let paid = api
        .send(
            api.post(
                format!("{PAYMENT}/api/payment/transfer"),
                &payer,
                transfer(json!(12.5)),
            )
            .header("Idempotency-Key", &key),
        )
        .await;
    expect(&paid, 201);
    assert_eq!(
        (paid.body["status"].as_str(), paid.body["amount"].as_str()),
        (Some("COMPLETED"), Some("12.5000"))
    );
    let payment_id = paid.body["id"].as_u64().unwrap();
    let replay = api
        .send(
            api.post(
                format!("{PAYMENT}/api/payment/transfer"),
                &payer,
                transfer(json!(12.5)),
            )
            .header("Idempotency-Key", &key),
        )
        .await;
    expect(&replay, 201);
    assert_eq!(replay.body["id"], payment_id);
    expect(
        &api.send_invalid(api.post(
            format!("{PAYMENT}/api/payment/transfer"),
            &payer,
            transfer(json!("0.00001")),
        ))
        .await,
        400,
    );
    expect(
        &api.send(api.post(
            format!("{PAYMENT}/api/payment/transfer"),
            &payer,
            transfer(json!("5000")),
        ))
        .await,
        400,
    );
    expect(
        &api.send(api.post(
            format!("{PAYMENT}/api/payment/transfer"),
            &payee,
            transfer(json!("1")),
        ))
        .await,
        404,
    );
    expect(
        &api.send_invalid(api.post(
            format!("{PAYMENT}/api/payment/transfer"),
            &payer,
            json!({ "to_wallet_id": to, "amount": "1", "currency": "USD" }),
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &payee))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &other))
            .await,
        404,
    );
    expect(
        &api.send(api.get(
            format!("{PAYMENT}/api/payment/history?status=completed&limit=5"),
            &payer,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{PAYMENT}/api/payment/history?status=lost"), &payer))
            .await,
        422,
    );
    let ledger = api
        .send(api.get(format!("{WALLET}/api/wallet/{to}/transactions"), &payee))
        .await;
    expect(&ledger, 200);
    assert_eq!(ledger.body["items"][0]["amount"], "12.5000");
}

#[tokio::test]
async fn openapi_aml_notification_reporting_answers_conform() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let staff = staff_account(&platform).await;
    let (payer, _) = verified_account(&platform, "openapi-aml-payer").await;
    let (payee, _) = verified_account(&platform, "openapi-aml-payee").await;
    let from = api
        .send(api.post(
            format!("{WALLET}/api/wallet/create"),
            &payer,
            json!({ "currency": "USD" }),
        ))
        .await
        .body["id"]
        .as_u64()
        .unwrap();
    let to = api
        .send(api.post(
            format!("{WALLET}/api/wallet/create"),
            &payee,
            json!({ "currency": "USD" }),
        ))
        .await
        .body["id"]
        .as_u64()
        .unwrap();
    expect(
        &api.send(api.post(
            format!("{WALLET}/api/wallet/{from}/deposit"),
            &payer,
            json!({ "amount": "3000" }),
        ))
        .await,
        200,
    );

    // 950 out of a fresh bronze account's 3000 is held (structuring), and becomes a case.
    let held = api
        .send(api.post(format!("{PAYMENT}/api/payment/transfer"), &payer, json!({ "from_wallet_id": from, "to_wallet_id": to, "amount": "950", "currency": "USD" })))
        .await;
    expect(&held, 201);
    assert_eq!(held.body["status"], "ON_HOLD", "{}", held.body);
    let payment_id = held.body["id"].as_u64().unwrap();
    let held_wallet = api
        .send(api.get(format!("{WALLET}/api/wallet/{from}"), &payer))
        .await;
    assert_eq!(held_wallet.body["held_balance"], "950.0000");

    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases"), &payer))
            .await,
        403,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases?status=closed"), &staff))
            .await,
        422,
    );
    let (case_id, _) = eventually("compliance to open the case", CASCADE_TIMEOUT, || async {
        let mut cursor = String::new();
        loop {
            let page = api_get(
                &platform,
                &staff,
                &format!("{KYC}/api/aml/cases?status=open&limit=100{cursor}"),
            )
            .await;
            if let Some(case) = page["items"]
                .as_array()?
                .iter()
                .find(|c| c["payment_id"] == payment_id)
            {
                return case["case_id"].as_u64();
            }
            cursor = format!("&cursor={}", page["next_cursor"].as_str()?);
        }
    })
    .await;
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases?status=open&limit=5"), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases/{case_id}"), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases/999999999"), &staff))
            .await,
        404,
    );
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/activity/{}", payer.id), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.post(
            format!("{KYC}/api/aml/cases/{case_id}/resolve"),
            &payer,
            json!({ "action": "release" }),
        ))
        .await,
        403,
    );
    expect(
        &api.send_invalid(api.post(
            format!("{KYC}/api/aml/cases/{case_id}/resolve"),
            &staff,
            json!({ "action": "approve" }),
        ))
        .await,
        422,
    );
    let resolved = api
        .send(api.post(
            format!("{KYC}/api/aml/cases/{case_id}/resolve"),
            &staff,
            json!({ "action": "void", "note": "openapi" }),
        ))
        .await;
    expect(&resolved, 200);
    assert_eq!(resolved.body["decision"]["action"], "void");
    expect(
        &api.send(api.post(
            format!("{KYC}/api/aml/cases/{case_id}/resolve"),
            &staff,
            json!({ "action": "release" }),
        ))
        .await,
        409,
    );
    // The case closes once payment voided the hold: its outcome fields are filled then.
    eventually("the case to close", CASCADE_TIMEOUT, || async {
        let case = api_get(&platform, &staff, &format!("{KYC}/api/aml/cases/{case_id}")).await;
        (case["outcome"] == "voided").then_some(())
    })
    .await;
    expect(
        &api.send(api.get(format!("{KYC}/api/aml/cases/{case_id}"), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &payer))
            .await,
        200,
    );

    // Notifications of what happened, and preferences.
    expect(
        &api.send(api.get(
            format!("{NOTIFICATION}/api/notification/preferences"),
            &payer,
        ))
        .await,
        200,
    );
    let preferences = api
        .send(api.put(
            format!("{NOTIFICATION}/api/notification/preferences"),
            &payer,
            json!({ "channels": { "sms": { "payments": false } } }),
        ))
        .await;
    expect(&preferences, 200);
    assert_eq!(preferences.body["channels"]["sms"]["payments"], false);
    expect(
        &api.send_invalid(api.put(
            format!("{NOTIFICATION}/api/notification/preferences"),
            &payer,
            json!({ "channels": { "email": { "security": false } } }),
        ))
        .await,
        422,
    );
    expect(
        &api.send_invalid(api.put(
            format!("{NOTIFICATION}/api/notification/preferences"),
            &payer,
            json!({ "channel": {} }),
        ))
        .await,
        422,
    );
    eventually("notifications for the payer", CASCADE_TIMEOUT, || async {
        let page = api_get(
            &platform,
            &payer,
            &format!("{NOTIFICATION}/api/notification/list"),
        )
        .await;
        (!page["items"].as_array()?.is_empty()).then_some(())
    })
    .await;
    expect(
        &api.send(api.get(
            format!("{NOTIFICATION}/api/notification/list?limit=50"),
            &payer,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{NOTIFICATION}/api/notification/list?cursor=bogus"),
            &payer,
        ))
        .await,
        422,
    );

    // Reports: the user's own figures, and the staff reports.
    eventually("reporting to know the payer", CASCADE_TIMEOUT, || async {
        let response = platform
            .http
            .get(format!(
                "{REPORTING}/api/reports/users/{}/analytics",
                payer.id
            ))
            .bearer_auth(&payer.access_token)
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/users/{}/analytics", payer.id),
            &payer,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/users/{}/analytics", payer.id),
            &payee,
        ))
        .await,
        403,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/users/999999999/analytics"),
            &staff,
        ))
        .await,
        404,
    );
    expect(
        &api.send(api.get(format!("{REPORTING}/api/reports/transactions"), &payer))
            .await,
        403,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/transactions?currency=usd&status=on_hold"),
            &staff,
        ))
        .await,
        200,
    );
    let csv = api
        .send(
            api.get(format!("{REPORTING}/api/reports/transactions"), &staff)
                .header("accept", "text/csv"),
        )
        .await;
    expect(&csv, 200);
    assert!(
        csv.body
            .as_str()
            .is_some_and(|b| b.starts_with("date,currency,status,count,volume"))
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/transactions?format=csv"),
            &staff,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/transactions?from=2026-02-30"),
            &staff,
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.get(format!("{REPORTING}/api/reports/dashboard"), &staff))
            .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/dashboard?from=2026-03-02&to=2026-03-01"),
            &staff,
        ))
        .await,
        422,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/compliance?limit=5"),
            &staff,
        ))
        .await,
        200,
    );
    expect(
        &api.send(api.get(
            format!("{REPORTING}/api/reports/compliance?limit=0"),
            &staff,
        ))
        .await,
        422,
    );

    // Health everywhere, at /health and at the route the template declares.
    for (service, port) in SERVICES {
        for path in ["/health".to_owned(), format!("/api/{service}/health")] {
            let answer = api
                .send(platform.http.get(format!("http://127.0.0.1:{port}{path}")))
                .await;
            assert!(
                answer.status == 200 || answer.status == 503,
                "{service} {path}: {}",
                answer.status
            );
        }
    }
}

/// A GET whose JSON body the polling loops read (checked by the final, conforming call).
async fn api_get(platform: &Platform, who: &Account, url: &str) -> Value {
    let response = platform
        .http
        .get(url)
        .bearer_auth(&who.access_token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the request is sent");
    response.json().await.unwrap_or(Value::Null)
}
