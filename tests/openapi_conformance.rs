//! Real responses against the OpenAPI documents (`events/openapi/<service>.json`): every
//! documented operation is served (under `/api` and `/api/v1`), and a representative set of
//! operations of each service, successes and typical 4xx, answers only what its document
//! allows: a documented status and content type, and a body its schema accepts. The JSON
//! requests sent for successes must be accepted by the documented request schemas too.
//!
//! Each test is a few tables of rows, a row being a request (method, path, who, body) and the
//! status its answer must have. A table sends its rows in order and then fails once, naming
//! every row (by its line) whose answer had another status or did not conform. Ids that later
//! rows need come from the answers of an earlier table.
//!
//! Every test uses its own users; other tests run against the same platform concurrently.

use std::panic::Location;
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

/// One row of a table: a request, the status its answer must have, and the line it is written
/// on, which names it in a failure.
struct Row {
    request: RequestBuilder,
    /// Whether the documents must accept the request itself (its JSON body included).
    valid: bool,
    status: u16,
    at: &'static Location<'static>,
}

impl Row {
    /// A request the documents accept, and the status of its answer.
    #[track_caller]
    fn sent(request: RequestBuilder, status: u16) -> Row {
        Row {
            request,
            valid: true,
            status,
            at: Location::caller(),
        }
    }

    /// A request meant to be refused: its answer must conform, the request need not.
    #[track_caller]
    fn invalid(request: RequestBuilder, status: u16) -> Row {
        Row {
            valid: false,
            ..Row::sent(request, status)
        }
    }
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

    /// Sends the rows in order and returns their answers, once every row had its status and
    /// every answer conformed; otherwise fails, naming each row that did not.
    async fn table<const N: usize>(&mut self, rows: [Row; N]) -> [Answer; N] {
        let mut answers = Vec::with_capacity(N);
        let mut failures = Vec::new();
        for row in rows {
            let (answer, mut problems) = self.exchange(row.request, row.valid).await;
            if answer.status != row.status {
                problems.push(format!(
                    "answered {} where {} was expected: {}",
                    answer.status, row.status, answer.body
                ));
            }
            failures.extend(
                problems
                    .into_iter()
                    .map(|p| format!("row at {}: {p}", row.at)),
            );
            answers.push(answer);
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
        answers
            .try_into()
            .unwrap_or_else(|_| unreachable!("one answer per row"))
    }

    /// The answer to `request`, and what in the exchange the documents do not allow: the
    /// answer, and (for a `valid` request) a JSON body the request schema refuses.
    async fn exchange(&mut self, request: RequestBuilder, valid: bool) -> (Answer, Vec<String>) {
        let request = request.build().expect("the request builds");
        let method = request.method().as_str().to_owned();
        let url = request.url().clone();
        let json_body = request
            .headers()
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
        let mut problems = Vec::new();
        if valid && json_body {
            let bytes = request
                .body()
                .and_then(|b| b.as_bytes())
                .unwrap_or_default();
            let body: Value = serde_json::from_slice(bytes).expect("test requests are JSON");
            let service = Contracts::service_of_port(url.port().unwrap()).unwrap();
            problems.extend(
                self.contracts
                    .request_problems(service, &method, url.path(), &body)
                    .into_iter()
                    .map(|p| format!("the documented request schema refuses it: {p}")),
            );
        }
        let response = self
            .platform
            .http
            .execute(request)
            .await
            .expect("the request is sent");
        let headers = response.headers().clone();
        let (status, body, answer_problems) = self.contracts.check(&method, response).await;
        problems.extend(answer_problems);
        (
            Answer {
                status,
                body,
                headers,
            },
            problems,
        )
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
                let (answer, problems) = api.exchange(request, false).await;
                assert!(
                    problems.is_empty(),
                    "{method} {at}: {}",
                    problems.join("\n")
                );
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
    let [user] = api
        .table([Row::sent(
            http.post(format!("{AUTH}/api/auth/register")).json(&body),
            201,
        )])
        .await;
    let id = user.body["id"].as_u64().unwrap();
    let [_, invalid] = api
        .table([
            Row::sent(
                http.post(format!("{AUTH}/api/v1/auth/register"))
                    .json(&body),
                409,
            ),
            Row::invalid(
                http.post(format!("{AUTH}/api/auth/register"))
                    .json(&json!({ "email": "nope", "password": "short", "name": "" })),
                422,
            ),
        ])
        .await;
    assert!(
        invalid.body["errors"]
            .as_array()
            .is_some_and(|e| e.len() >= 2),
        "{}",
        invalid.body
    );
    api.table([
        Row::invalid(
            http.post(format!("{AUTH}/api/auth/register"))
                .header("content-type", "application/json")
                .body("{\"email\":"),
            400,
        ),
        Row::invalid(
            http.post(format!("{AUTH}/api/auth/register"))
                .header("content-type", "text/plain")
                .body("hi"),
            415,
        ),
    ])
    .await;
    // Login as the seed does (multipart), as a urlencoded form, and as JSON.
    let form = reqwest::multipart::Form::new()
        .text("username", email.clone())
        .text("password", "correct-horse-42");
    let [tokens, _, _, _, _] = api
        .table([
            Row::sent(
                http.post(format!("{AUTH}/api/auth/login")).multipart(form),
                200,
            ),
            Row::sent(
                http.post(format!("{AUTH}/api/auth/login")).form(&[
                    ("username", email.as_str()),
                    ("password", "correct-horse-42"),
                ]),
                200,
            ),
            Row::sent(
                http.post(format!("{AUTH}/api/auth/login"))
                    .json(&json!({ "email": email, "password": "correct-horse-42" })),
                200,
            ),
            Row::sent(
                http.post(format!("{AUTH}/api/auth/login"))
                    .json(&json!({ "username": email, "password": "wrong-horse-43" })),
                401,
            ),
            Row::invalid(
                http.post(format!("{AUTH}/api/auth/login"))
                    .json(&json!({ "username": email })),
                422,
            ),
        ])
        .await;
    let account = Account {
        id,
        email: email.clone(),
        access_token: tokens.body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens.body["refresh_token"].as_str().unwrap().to_owned(),
    };
    api.table([
        Row::sent(api.get(format!("{AUTH}/api/auth/me"), &account), 200),
        Row::sent(
            api.get(format!("{AUTH}/api/auth/verify-token"), &account),
            200,
        ),
        Row::sent(api.get(format!("{AUTH}/api/auth/user/{id}"), &account), 200),
        Row::sent(
            http.get(format!("{AUTH}/api/auth/me"))
                .bearer_auth("not-a-token"),
            401,
        ),
    ])
    .await;
    let other = register_and_login(&platform, "openapi-auth-other").await;
    api.table([
        Row::sent(
            api.get(format!("{AUTH}/api/auth/user/{}", other.id), &account),
            403,
        ),
        Row::sent(api.get(format!("{AUTH}/api/auth/user/0"), &account), 404),
    ])
    .await;
    // Tiers: staff only; a bad tier is a 422 and an unknown user a 404.
    let staff = staff_account(&platform).await;
    let tier = json!({ "account_tier": "silver" });
    let [_, changed] = api
        .table([
            Row::sent(
                api.put(
                    format!("{AUTH}/api/auth/user/{}/tier", other.id),
                    &account,
                    tier.clone(),
                ),
                403,
            ),
            Row::sent(
                api.put(
                    format!("{AUTH}/api/auth/user/{}/tier", other.id),
                    &staff,
                    tier.clone(),
                ),
                200,
            ),
        ])
        .await;
    assert_eq!(changed.body["account_tier"], "silver");
    let [_, _, _, _] = api
        .table([
            Row::invalid(
                api.put(
                    format!("{AUTH}/api/auth/user/{}/tier", other.id),
                    &staff,
                    json!({ "account_tier": "platinum" }),
                ),
                422,
            ),
            Row::sent(
                api.put(format!("{AUTH}/api/auth/user/999999999/tier"), &staff, tier),
                404,
            ),
            // Refresh rotates; the spent token is refused; logout ends the session.
            Row::sent(
                http.post(format!("{AUTH}/api/auth/refresh"))
                    .json(&json!({ "refresh_token": account.refresh_token })),
                200,
            ),
            Row::sent(
                http.post(format!("{AUTH}/api/auth/refresh"))
                    .json(&json!({ "refresh_token": account.refresh_token })),
                401,
            ),
        ])
        .await;
    let [fresh] = api
        .table([Row::sent(
            http.post(format!("{AUTH}/api/auth/login"))
                .json(&json!({ "username": email, "password": "correct-horse-42" })),
            200,
        )])
        .await;
    let token = fresh.body["access_token"].as_str().unwrap().to_owned();
    let [_, _] = api
        .table([
            Row::sent(
                http.post(format!("{AUTH}/api/auth/logout"))
                    .bearer_auth(&token),
                204,
            ),
            Row::sent(
                http.get(format!("{AUTH}/api/auth/verify-token"))
                    .bearer_auth(&token),
                401,
            ),
        ])
        .await;
}

#[tokio::test]
async fn openapi_kyc_wallet_payment_answers_conform() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let staff = staff_account(&platform).await;
    // KYC: before verification wallet creation is refused; a submission is decided at once.
    let pending = register_and_login(&platform, "openapi-kyc").await;
    let other = register_and_login(&platform, "openapi-kyc-other").await;
    let [_, _, _, submission] = api
        .table([
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/create"),
                    &pending,
                    json!({ "currency": "USD" }),
                ),
                403,
            ),
            Row::sent(
                api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &pending),
                200,
            ),
            Row::sent(
                api.get(format!("{KYC}/api/kyc/risk/{}", pending.id), &pending),
                404,
            ),
            Row::sent(
                api.post(
                    format!("{KYC}/api/kyc/submit"),
                    &pending,
                    json!({
                        "user_id": pending.id,
                        "document_type": "passport",
                        "document_url": "https://example.com/passport.jpg",
                        "country": "GB"
                    }),
                ),
                201,
            ),
        ])
        .await;
    let submission_id = submission.body["submission_id"].as_u64().unwrap();
    let submit = |user_id: u64, document_type: &str| {
        json!({
            "user_id": user_id,
            "document_type": document_type,
            "document_url": "https://example.com/p.jpg"
        })
    };
    api.table([
        // Someone else's submission, and a document type the API does not know.
        Row::sent(
            api.post(
                format!("{KYC}/api/kyc/submit"),
                &pending,
                submit(other.id, "passport"),
            ),
            403,
        ),
        Row::invalid(
            api.post(
                format!("{KYC}/api/kyc/submit"),
                &other,
                submit(other.id, "selfie"),
            ),
            422,
        ),
        Row::sent(
            api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &pending),
            200,
        ),
        Row::sent(
            api.get(format!("{KYC}/api/kyc/risk/{}", pending.id), &staff),
            200,
        ),
        Row::sent(
            api.get(format!("{KYC}/api/kyc/status/{}", pending.id), &other),
            403,
        ),
    ])
    .await;
    let review = json!({ "decision": "verified", "reason": "documents checked" });
    api.table([
        Row::sent(
            api.post(
                format!("{KYC}/api/kyc/review/{submission_id}"),
                &other,
                review.clone(),
            ),
            403,
        ),
        Row::sent(
            api.post(
                format!("{KYC}/api/kyc/review/{submission_id}"),
                &staff,
                review.clone(),
            ),
            409,
        ),
        Row::sent(
            api.post(format!("{KYC}/api/kyc/review/999999999"), &staff, review),
            404,
        ),
    ])
    .await;
    // Wallets of two verified users.
    let (payer, _) = verified_account(&platform, "openapi-payer").await;
    let (payee, _) = verified_account(&platform, "openapi-payee").await;
    let [created] = api
        .table([Row::sent(
            api.post(
                format!("{WALLET}/api/wallet/create"),
                &payer,
                json!({ "currency": "usd" }),
            ),
            201,
        )])
        .await;
    let from = created.body["id"].as_u64().unwrap();
    let [_, _, to] = api
        .table([
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/create"),
                    &payer,
                    json!({ "currency": "USD" }),
                ),
                409,
            ),
            Row::invalid(
                api.post(
                    format!("{WALLET}/api/wallet/create"),
                    &payer,
                    json!({ "currency": "XYZ" }),
                ),
                422,
            ),
            Row::sent(
                api.post(
                    format!("{WALLET}/api/v1/wallet/create"),
                    &payee,
                    json!({ "currency": "USD" }),
                ),
                201,
            ),
        ])
        .await;
    let to = to.body["id"].as_u64().unwrap();
    api.table([
        Row::sent(
            platform
                .http
                .get(format!("{WALLET}/api/wallet/config/precision")),
            200,
        ),
        Row::sent(api.get(format!("{WALLET}/api/wallet/{from}"), &payer), 200),
        Row::sent(api.get(format!("{WALLET}/api/wallet/{from}"), &payee), 404),
        Row::sent(
            api.get(format!("{WALLET}/api/wallet/{from}/balance"), &staff),
            200,
        ),
        Row::sent(
            api.get(format!("{WALLET}/api/wallet/user/{}", payer.id), &payer),
            200,
        ),
        Row::sent(
            api.get(format!("{WALLET}/api/wallet/user/{}", payer.id), &payee),
            403,
        ),
    ])
    .await;
    // Deposits: a JSON number read exactly, a string, a replay, and what is refused.
    let key = uuid::Uuid::new_v4().to_string();
    let deposit = |amount: Value| json!({ "amount": amount, "reference": "openapi top-up" });
    let [first] = api
        .table([Row::sent(
            api.post(
                format!("{WALLET}/api/wallet/{from}/deposit"),
                &payer,
                deposit(json!(1000.25)),
            )
            .header("Idempotency-Key", &key),
            200,
        )])
        .await;
    assert_eq!(first.body["wallet"]["balance"], "1000.2500");
    let [replay] = api
        .table([Row::sent(
            api.post(
                format!("{WALLET}/api/wallet/{from}/deposit"),
                &payer,
                deposit(json!(1000.25)),
            )
            .header("Idempotency-Key", &key),
            200,
        )])
        .await;
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let [_, _, _, _, _, _, frozen] = api
        .table([
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/{from}/deposit"),
                    &payer,
                    deposit(json!("2")),
                ),
                200,
            ),
            Row::invalid(
                api.post(
                    format!("{WALLET}/api/wallet/{from}/deposit"),
                    &payer,
                    deposit(json!("0.00001")),
                ),
                422,
            ),
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/{from}/deposit"),
                    &payer,
                    deposit(json!("99999")),
                ),
                400,
            ),
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/{from}/deposit"),
                    &payer,
                    deposit(json!("1")),
                )
                .header("Idempotency-Key", &key),
                422,
            ),
            Row::sent(
                api.get(
                    format!("{WALLET}/api/wallet/{from}/transactions?limit=2"),
                    &payer,
                ),
                200,
            ),
            Row::sent(
                api.get(
                    format!("{WALLET}/api/wallet/{from}/transactions?limit=0"),
                    &payer,
                ),
                422,
            ),
            // Status: the seed's bare string, then the object form; a frozen source refuses
            // transfers.
            Row::sent(
                api.put(
                    format!("{WALLET}/api/wallet/{from}/status"),
                    &payer,
                    json!("frozen"),
                ),
                200,
            ),
        ])
        .await;
    assert_eq!(frozen.body["status"], "frozen");
    let transfer = |amount: Value| {
        json!({
            "from_wallet_id": from,
            "to_wallet_id": to,
            "amount": amount,
            "currency": "USD",
            "description": "openapi"
        })
    };
    let [refused] = api
        .table([Row::sent(
            api.post(
                format!("{PAYMENT}/api/payment/transfer"),
                &payer,
                transfer(json!("10")),
            ),
            400,
        )])
        .await;
    assert_eq!(refused.body["detail"], "Source wallet is frozen");
    api.table([
        Row::sent(
            api.put(
                format!("{WALLET}/api/wallet/{from}/status"),
                &payer,
                json!({ "status": "active", "reason": "done" }),
            ),
            200,
        ),
        Row::invalid(
            api.put(
                format!("{WALLET}/api/wallet/{from}/status"),
                &payer,
                json!("melted"),
            ),
            422,
        ),
        Row::sent(
            api.put(
                format!("{WALLET}/api/wallet/{from}/status"),
                &payer,
                json!("closed"),
            ),
            409,
        ),
    ])
    .await;
    // Transfers: exact amounts as number or string, a replayed key, refusals.
    let key = uuid::Uuid::new_v4().to_string();
    let [paid] = api
        .table([Row::sent(
            api.post(
                format!("{PAYMENT}/api/payment/transfer"),
                &payer,
                transfer(json!(12.5)),
            )
            .header("Idempotency-Key", &key),
            201,
        )])
        .await;
    assert_eq!(
        (paid.body["status"].as_str(), paid.body["amount"].as_str()),
        (Some("COMPLETED"), Some("12.5000"))
    );
    let payment_id = paid.body["id"].as_u64().unwrap();
    let [replay] = api
        .table([Row::sent(
            api.post(
                format!("{PAYMENT}/api/payment/transfer"),
                &payer,
                transfer(json!(12.5)),
            )
            .header("Idempotency-Key", &key),
            201,
        )])
        .await;
    assert_eq!(replay.body["id"], payment_id);
    let [_, _, _, _, _, _, _, _, ledger] = api
        .table([
            Row::invalid(
                api.post(
                    format!("{PAYMENT}/api/payment/transfer"),
                    &payer,
                    transfer(json!("0.00001")),
                ),
                400,
            ),
            Row::sent(
                api.post(
                    format!("{PAYMENT}/api/payment/transfer"),
                    &payer,
                    transfer(json!("5000")),
                ),
                400,
            ),
            Row::sent(
                api.post(
                    format!("{PAYMENT}/api/payment/transfer"),
                    &payee,
                    transfer(json!("1")),
                ),
                404,
            ),
            Row::invalid(
                api.post(
                    format!("{PAYMENT}/api/payment/transfer"),
                    &payer,
                    json!({ "to_wallet_id": to, "amount": "1", "currency": "USD" }),
                ),
                422,
            ),
            Row::sent(
                api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &payee),
                200,
            ),
            Row::sent(
                api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &other),
                404,
            ),
            Row::sent(
                api.get(
                    format!("{PAYMENT}/api/payment/history?status=completed&limit=5"),
                    &payer,
                ),
                200,
            ),
            Row::sent(
                api.get(format!("{PAYMENT}/api/payment/history?status=lost"), &payer),
                422,
            ),
            Row::sent(
                api.get(format!("{WALLET}/api/wallet/{to}/transactions"), &payee),
                200,
            ),
        ])
        .await;
    assert_eq!(ledger.body["items"][0]["amount"], "12.5000");
}

#[tokio::test]
async fn openapi_aml_notification_reporting_answers_conform() {
    let platform = Platform::connect().await;
    let mut api = Api::new(&platform);
    let staff = staff_account(&platform).await;
    let (payer, _) = verified_account(&platform, "openapi-aml-payer").await;
    let (payee, _) = verified_account(&platform, "openapi-aml-payee").await;
    let usd = json!({ "currency": "USD" });
    let [from, to] = api
        .table([
            Row::sent(
                api.post(format!("{WALLET}/api/wallet/create"), &payer, usd.clone()),
                201,
            ),
            Row::sent(
                api.post(format!("{WALLET}/api/wallet/create"), &payee, usd),
                201,
            ),
        ])
        .await
        .map(|created| created.body["id"].as_u64().unwrap());
    let [_, held] = api
        .table([
            Row::sent(
                api.post(
                    format!("{WALLET}/api/wallet/{from}/deposit"),
                    &payer,
                    json!({ "amount": "3000" }),
                ),
                200,
            ),
            // 950 out of a fresh bronze account's 3000 is held (structuring), and becomes a case.
            Row::sent(
                api.post(
                    format!("{PAYMENT}/api/payment/transfer"),
                    &payer,
                    json!({
                        "from_wallet_id": from,
                        "to_wallet_id": to,
                        "amount": "950",
                        "currency": "USD"
                    }),
                ),
                201,
            ),
        ])
        .await;
    assert_eq!(held.body["status"], "ON_HOLD", "{}", held.body);
    let payment_id = held.body["id"].as_u64().unwrap();
    let [held_wallet] = api
        .table([Row::sent(
            api.get(format!("{WALLET}/api/wallet/{from}"), &payer),
            200,
        )])
        .await;
    assert_eq!(held_wallet.body["held_balance"], "950.0000");
    api.table([
        Row::sent(api.get(format!("{KYC}/api/aml/cases"), &payer), 403),
        Row::sent(
            api.get(format!("{KYC}/api/aml/cases?status=closed"), &staff),
            422,
        ),
    ])
    .await;
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
    let [_, _, _, _, _, _, resolved] = api
        .table([
            Row::sent(
                api.get(format!("{KYC}/api/aml/cases?status=open&limit=5"), &staff),
                200,
            ),
            Row::sent(
                api.get(format!("{KYC}/api/aml/cases/{case_id}"), &staff),
                200,
            ),
            Row::sent(
                api.get(format!("{KYC}/api/aml/cases/999999999"), &staff),
                404,
            ),
            Row::sent(
                api.get(format!("{KYC}/api/aml/activity/{}", payer.id), &staff),
                200,
            ),
            Row::sent(
                api.post(
                    format!("{KYC}/api/aml/cases/{case_id}/resolve"),
                    &payer,
                    json!({ "action": "release" }),
                ),
                403,
            ),
            Row::invalid(
                api.post(
                    format!("{KYC}/api/aml/cases/{case_id}/resolve"),
                    &staff,
                    json!({ "action": "approve" }),
                ),
                422,
            ),
            Row::sent(
                api.post(
                    format!("{KYC}/api/aml/cases/{case_id}/resolve"),
                    &staff,
                    json!({ "action": "void", "note": "openapi" }),
                ),
                200,
            ),
        ])
        .await;
    assert_eq!(resolved.body["decision"]["action"], "void");
    api.table([Row::sent(
        api.post(
            format!("{KYC}/api/aml/cases/{case_id}/resolve"),
            &staff,
            json!({ "action": "release" }),
        ),
        409,
    )])
    .await;
    // The case closes once payment voided the hold: its outcome fields are filled then.
    eventually("the case to close", CASCADE_TIMEOUT, || async {
        let case = api_get(&platform, &staff, &format!("{KYC}/api/aml/cases/{case_id}")).await;
        (case["outcome"] == "voided").then_some(())
    })
    .await;
    let [_, _, _, preferences] = api
        .table([
            Row::sent(
                api.get(format!("{KYC}/api/aml/cases/{case_id}"), &staff),
                200,
            ),
            Row::sent(
                api.get(format!("{PAYMENT}/api/payment/{payment_id}"), &payer),
                200,
            ),
            // Notifications of what happened, and preferences.
            Row::sent(
                api.get(
                    format!("{NOTIFICATION}/api/notification/preferences"),
                    &payer,
                ),
                200,
            ),
            Row::sent(
                api.put(
                    format!("{NOTIFICATION}/api/notification/preferences"),
                    &payer,
                    json!({ "channels": { "sms": { "payments": false } } }),
                ),
                200,
            ),
        ])
        .await;
    assert_eq!(preferences.body["channels"]["sms"]["payments"], false);
    api.table([
        Row::invalid(
            api.put(
                format!("{NOTIFICATION}/api/notification/preferences"),
                &payer,
                json!({ "channels": { "email": { "security": false } } }),
            ),
            422,
        ),
        Row::invalid(
            api.put(
                format!("{NOTIFICATION}/api/notification/preferences"),
                &payer,
                json!({ "channel": {} }),
            ),
            422,
        ),
    ])
    .await;
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
    api.table([
        Row::sent(
            api.get(
                format!("{NOTIFICATION}/api/notification/list?limit=50"),
                &payer,
            ),
            200,
        ),
        Row::sent(
            api.get(
                format!("{NOTIFICATION}/api/notification/list?cursor=bogus"),
                &payer,
            ),
            422,
        ),
    ])
    .await;
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
    let [_, _, _, _, _, csv] = api
        .table([
            Row::sent(
                api.get(
                    format!("{REPORTING}/api/reports/users/{}/analytics", payer.id),
                    &payer,
                ),
                200,
            ),
            Row::sent(
                api.get(
                    format!("{REPORTING}/api/reports/users/{}/analytics", payer.id),
                    &payee,
                ),
                403,
            ),
            Row::sent(
                api.get(
                    format!("{REPORTING}/api/reports/users/999999999/analytics"),
                    &staff,
                ),
                404,
            ),
            Row::sent(
                api.get(format!("{REPORTING}/api/reports/transactions"), &payer),
                403,
            ),
            Row::sent(
                api.get(
                    format!("{REPORTING}/api/reports/transactions?currency=usd&status=on_hold"),
                    &staff,
                ),
                200,
            ),
            Row::sent(
                api.get(format!("{REPORTING}/api/reports/transactions"), &staff)
                    .header("accept", "text/csv"),
                200,
            ),
        ])
        .await;
    assert!(
        csv.body
            .as_str()
            .is_some_and(|b| b.starts_with("date,currency,status,count,volume"))
    );
    api.table([
        Row::sent(
            api.get(
                format!("{REPORTING}/api/reports/transactions?format=csv"),
                &staff,
            ),
            200,
        ),
        Row::sent(
            api.get(
                format!("{REPORTING}/api/reports/transactions?from=2026-02-30"),
                &staff,
            ),
            422,
        ),
        Row::sent(
            api.get(format!("{REPORTING}/api/reports/dashboard"), &staff),
            200,
        ),
        Row::sent(
            api.get(
                format!("{REPORTING}/api/reports/dashboard?from=2026-03-02&to=2026-03-01"),
                &staff,
            ),
            422,
        ),
        Row::sent(
            api.get(
                format!("{REPORTING}/api/reports/compliance?limit=5"),
                &staff,
            ),
            200,
        ),
        Row::sent(
            api.get(
                format!("{REPORTING}/api/reports/compliance?limit=0"),
                &staff,
            ),
            422,
        ),
    ])
    .await;

    // Health everywhere, at /health and at the route the template declares.
    for (service, port) in SERVICES {
        for path in ["/health".to_owned(), format!("/api/{service}/health")] {
            let request = platform.http.get(format!("http://127.0.0.1:{port}{path}"));
            let (answer, problems) = api.exchange(request, true).await;
            assert!(
                problems.is_empty(),
                "{service} {path}: {}",
                problems.join("\n")
            );
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
