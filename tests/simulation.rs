//! A seeded simulation of real use (think TigerBeetle's VOPR, scaled to this platform).
//!
//! One seed drives a random workload through the public HTTP API, exactly as clients use it:
//! registrations, KYC, wallets in USD and EUR, deposits and transfers with and without
//! `Idempotency-Key`, transfers that AML holds and staff release or void, freezes, tier
//! changes, and client retries (the same request re-sent with its key, and re-sent after a
//! 5xx). Meanwhile the local runner injects faults derived from the seed into every AWS call
//! the functions make (`PUT /faults/aws`) and crashes consumers after their batches
//! (`PUT /faults/consumers`). Then faults are disarmed, the platform is left to quiesce (every
//! consumer queue drained, every outbox row published), and the invariants are checked on the
//! tables themselves, scoped to what this seed created:
//! 1. per currency, balances plus held amounts equal the committed deposits; nothing negative;
//! 2. every wallet's ledger replays to its balance, and its held amount is its payments on hold;
//! 3. each client request produced at most one deposit or payment, a 2xx answer exactly one,
//!    and a repeated key got the first answer byte for byte;
//! 4. every committed event reached every consumer of its type, applied at most once, with
//!    its inbox marker;
//! 5. every hold has its AML case (one), and every resolved case settled its payment once;
//! 6. reporting's analytics of each user equal a recomputation from the wallet and payment
//!    tables.
//!
//! `FINFLOW_FAULT_SEED=S` runs seed S (a failing seed prints that line); `FINFLOW_SIM_SEEDS=N`
//! runs N seeds from S (or from a fixed base); `FINFLOW_SIM_FAULTS=off` runs without faults;
//! `FINFLOW_SIM_OPS=N` sets the operations per seed. `infra/simulate` runs many seeds on a
//! private platform.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use finflow_shared::jwt::Role;
use finflow_system_tests::accounts::{PASSWORD, STAFF_EMAIL, set_role_as_operator};
use finflow_system_tests::services::{KYC, PAYMENT, REPORTING, WALLET};
use finflow_system_tests::{AUTH, Platform, faults, log_field};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Seeds start here unless `FINFLOW_FAULT_SEED` says otherwise.
const BASE_SEED: u64 = 1000;
/// Seeds CI runs (`FINFLOW_SIM_SEEDS` overrides).
const DEFAULT_SEEDS: u64 = 2;
/// Workload operations per seed after setup (`FINFLOW_SIM_OPS` overrides).
const DEFAULT_OPS: usize = 60;
/// How long the platform may take to quiesce after the workload.
const QUIESCE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a client waits for a key locked by a failed request (the lock lives 30 s).
const KEY_LOCK_WAIT: Duration = Duration::from_secs(40);
/// How long a cascade (KYC → wallet, hold → case) may take while faults are armed.
const CASCADE: Duration = Duration::from_secs(60);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

fn faults_enabled() -> bool {
    !matches!(
        std::env::var("FINFLOW_SIM_FAULTS").as_deref(),
        Ok("off" | "0" | "false" | "no")
    )
}

#[tokio::test]
async fn simulation_of_seeded_workloads_under_faults_keeps_every_invariant() {
    let platform = Platform::connect().await;
    let first = env_u64("FINFLOW_FAULT_SEED");
    let seeds =
        env_u64("FINFLOW_SIM_SEEDS").unwrap_or(if first.is_some() { 1 } else { DEFAULT_SEEDS });
    let first = first.unwrap_or(BASE_SEED);
    let ops = env_u64("FINFLOW_SIM_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    let faults = faults_enabled();
    let started = Instant::now();
    let mut total = Coverage::default();
    let mut failures = Vec::new();
    for seed in first..first + seeds {
        let seed_started = Instant::now();
        // A panic inside the workload (an answer no client should ever get) names its seed too.
        let guard = SeedGuard(seed);
        let outcome = run_seed(&platform, seed, ops, faults).await;
        std::mem::forget(guard);
        println!(
            "simulation seed {seed}: {} in {:.1?}\n  answers: {:?}",
            outcome.coverage,
            seed_started.elapsed(),
            outcome.coverage.answers
        );
        total.add(&outcome.coverage);
        if !outcome.violations.is_empty() {
            let mut message = format!(
                "seed {seed} broke {} invariant(s):\n",
                outcome.violations.len()
            );
            for violation in &outcome.violations {
                let _ = writeln!(message, "  - {violation}");
            }
            let _ = writeln!(
                message,
                "FINFLOW_FAULT_SEED={seed} reproduces this (infra/simulate --seed {seed})"
            );
            eprintln!("{message}");
            failures.push(message);
        }
    }
    println!(
        "simulation: {seeds} seed(s) from {first} ({}), {total}, in {:.1?}",
        if faults { "faults armed" } else { "no faults" },
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Prints the reproduction line if the seed's run panics.
struct SeedGuard(u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "FINFLOW_FAULT_SEED={} reproduces this (infra/simulate --seed {})",
                self.0, self.0
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the client did: every request, its key and every answer it got.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    /// 0 when no answer came back (connection error or timeout).
    status: u16,
    body: String,
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The outcome is unknown to the client: a 5xx or no answer.
    fn unknown(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
    /// Worth sending again: an unknown outcome, or a 409 saying something was busy or changed
    /// concurrently (nothing was done; the answer asks to retry). Not a 409 that states a fact
    /// ("already registered", "already resolved", "already have an open wallet").
    fn retryable(&self) -> bool {
        if self.unknown() {
            return true;
        }
        let detail = self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        self.status == 409 && !detail.contains("already")
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deposit,
    Transfer,
}

/// One logical client request that moves money: sent once, or more times with its key.
#[derive(Debug, Clone)]
struct MoneyRequest {
    kind: Kind,
    /// Deposits carry it as `reference`, transfers as `description`: unique per request.
    reference: String,
    key: Option<String>,
    wallet: u64,
    to_wallet: Option<u64>,
    amount: Decimal,
    attempts: Vec<Answer>,
}

/// Everything the seed created and asked for.
#[derive(Debug, Default)]
struct Record {
    users: BTreeMap<u64, String>,
    /// wallet id → (owner, currency)
    wallets: BTreeMap<u64, (u64, String)>,
    requests: Vec<MoneyRequest>,
    /// case id → (payment id, the action staff decided first)
    resolutions: BTreeMap<u64, (u64, String)>,
    trace_ids: BTreeSet<String>,
    http_requests: usize,
    unexpected: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// What the tables and the runner's log say, scoped to the seed.

#[derive(Debug, Clone)]
struct WalletRow {
    id: u64,
    user_id: u64,
    currency: String,
    status: String,
    balance: Decimal,
    held: Decimal,
}

#[derive(Debug, Clone)]
struct EntryRow {
    sort_key: String,
    kind: String,
    amount: Decimal,
    balance_after: Decimal,
    reference_type: String,
    reference_id: String,
    description: String,
    created_at: String,
}

#[derive(Debug, Clone)]
struct PaymentRow {
    id: u64,
    from_wallet: u64,
    to_wallet: u64,
    payer: u64,
    payee: u64,
    amount: Decimal,
    currency: String,
    status: String,
    description: String,
    held: bool,
    resolution: String,
}

#[derive(Debug, Clone)]
struct CaseRow {
    case_id: u64,
    status: String,
    action: Option<String>,
    /// The payment's status as the case learned it from payment's events.
    payment_status: Option<String>,
}

#[derive(Debug, Clone)]
struct EventRow {
    event_id: String,
    event_type: String,
    published: bool,
}

#[derive(Debug, Default)]
struct World {
    wallets: BTreeMap<u64, WalletRow>,
    entries: BTreeMap<u64, Vec<EntryRow>>,
    payments: BTreeMap<u64, PaymentRow>,
    /// payment id → its cases (the AMLCASES listing)
    cases: BTreeMap<u64, Vec<CaseRow>>,
    /// payment id → the case AML recorded for it
    watched_case: BTreeMap<u64, Option<u64>>,
    events: Vec<EventRow>,
    /// event id → (consumer, outcome) for every "event consumed" line
    deliveries: BTreeMap<String, Vec<(String, String)>>,
    /// event type → the consumers the runner delivered it to (any event of the run)
    routes: BTreeMap<String, BTreeSet<String>>,
    /// (consumer, event id) markers present in the inbox
    inbox: BTreeSet<(String, String)>,
    /// DLQ → the seed's events in it (by event id)
    dead_letters: BTreeMap<String, Vec<String>>,
    /// user → (tier, kyc status) as auth has them
    profiles: BTreeMap<u64, (String, String)>,
    /// user → reporting's analytics (None: 404)
    analytics: BTreeMap<u64, Option<Value>>,
}

#[derive(Debug, Default, Clone)]
struct Coverage {
    seeds: u64,
    http_requests: usize,
    money_requests: usize,
    operations: usize,
    wallets: usize,
    ledger_entries: usize,
    payments: usize,
    holds: usize,
    cases_resolved: usize,
    events: usize,
    deliveries: usize,
    faults: usize,
    consumer_crashes: usize,
    fault_kinds: BTreeMap<String, usize>,
    /// "Transfer 201 ON_HOLD" → how many answers of that kind the client got
    answers: BTreeMap<String, usize>,
}

impl Coverage {
    fn add(&mut self, other: &Coverage) {
        self.seeds += other.seeds;
        self.http_requests += other.http_requests;
        self.money_requests += other.money_requests;
        self.operations += other.operations;
        self.wallets += other.wallets;
        self.ledger_entries += other.ledger_entries;
        self.payments += other.payments;
        self.holds += other.holds;
        self.cases_resolved += other.cases_resolved;
        self.events += other.events;
        self.deliveries += other.deliveries;
        self.faults += other.faults;
        self.consumer_crashes += other.consumer_crashes;
        for (kind, count) in &other.fault_kinds {
            *self.fault_kinds.entry(kind.clone()).or_default() += count;
        }
        for (kind, count) in &other.answers {
            *self.answers.entry(kind.clone()).or_default() += count;
        }
    }
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} operations, {} HTTP requests ({} moving money), {} wallets, {} ledger entries, \
             {} payments ({} held, {} cases resolved), {} events, {} consumer deliveries, \
             {} injected faults {:?}, {} consumer crashes",
            self.operations,
            self.http_requests,
            self.money_requests,
            self.wallets,
            self.ledger_entries,
            self.payments,
            self.holds,
            self.cases_resolved,
            self.events,
            self.deliveries,
            self.faults,
            self.fault_kinds,
            self.consumer_crashes
        )
    }
}

struct SeedOutcome {
    coverage: Coverage,
    violations: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The client.

struct User {
    id: u64,
    token: String,
    verified: bool,
}

struct Sim<'a> {
    platform: &'a Platform,
    rng: StdRng,
    seed: u64,
    /// Unique per run, so a seed can run again on the same platform.
    run: String,
    faults: bool,
    record: Record,
    staff_token: String,
    users: Vec<User>,
    counter: usize,
    /// Held payments staff tried to resolve, whatever the answer.
    tried_to_resolve: BTreeSet<u64>,
}

fn dec(text: &str) -> Decimal {
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a decimal"))
}

fn money_of(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

impl<'a> Sim<'a> {
    fn next_name(&mut self, tag: &str) -> String {
        self.counter += 1;
        format!("sim{}-{}-{tag}{}", self.seed, self.run, self.counter)
    }

    /// One HTTP request, with a fresh trace id the seed remembers (every event it causes
    /// carries it). Never panics: a transport error is an answer with status 0.
    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Answer {
        let trace = uuid::Uuid::new_v4().simple().to_string();
        self.record.trace_ids.insert(trace.clone());
        self.record.http_requests += 1;
        let mut request = self
            .platform
            .http
            .request(method, url)
            .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                Answer { status, body }
            }
            Err(error) => Answer {
                status: 0,
                body: format!("transport error: {error}"),
            },
        }
    }

    /// Notes an answer no client should get; with faults armed, a 5xx (or a 409 asking to
    /// retry, after the client retried a few times) is expected.
    fn expect(&mut self, what: &str, answer: &Answer, allowed: &[u16]) {
        if allowed.contains(&answer.status) || (self.faults && answer.retryable()) {
            return;
        }
        self.record.unexpected.push(format!(
            "{what}: answered {} {}",
            answer.status,
            answer.body.chars().take(300).collect::<String>()
        ));
    }

    /// Sends until the outcome is known (no 5xx, no 409 asking to retry), at most `tries` times.
    async fn until_known(
        &mut self,
        method: reqwest::Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
        tries: usize,
    ) -> Vec<Answer> {
        let mut answers = Vec::new();
        for _ in 0..tries {
            let answer = self.send(method.clone(), url, token, body, key).await;
            let again = answer.retryable();
            answers.push(answer);
            if !again {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        answers
    }

    async fn staff_login(&mut self) {
        let body = json!({ "email": STAFF_EMAIL, "password": PASSWORD, "name": "Operations" });
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{AUTH}/api/auth/register"),
                None,
                Some(&body),
                None,
                8,
            )
            .await;
        let last = answers.last().unwrap().clone();
        self.expect("staff registration", &last, &[201, 409]);
        set_role_as_operator(STAFF_EMAIL, Role::Staff).await;
        self.staff_token = self.login(STAFF_EMAIL).await.expect("staff can log in");
    }

    async fn login(&mut self, email: &str) -> Option<String> {
        let body = json!({ "username": email, "password": PASSWORD });
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{AUTH}/api/auth/login"),
                None,
                Some(&body),
                None,
                8,
            )
            .await;
        let last = answers.last().unwrap().clone();
        self.expect("login", &last, &[200]);
        last.json()["access_token"].as_str().map(str::to_owned)
    }

    /// Registers a user; a retry after an unknown outcome may meet its own registration (409).
    async fn register(&mut self) -> Option<User> {
        let email = format!("{}@example.com", self.next_name("user"));
        let body = json!({ "email": email, "password": PASSWORD, "name": "Sim User" });
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{AUTH}/api/auth/register"),
                None,
                Some(&body),
                None,
                8,
            )
            .await;
        let last = answers.last().unwrap().clone();
        let after_unknown = answers.len() > 1;
        let allowed: &[u16] = if after_unknown { &[201, 409] } else { &[201] };
        self.expect("registration", &last, allowed);
        if !allowed.contains(&last.status) {
            return None;
        }
        let token = self.login(&email).await?;
        let me = self
            .until_known(
                reqwest::Method::GET,
                &format!("{AUTH}/api/auth/me"),
                Some(&token),
                None,
                None,
                8,
            )
            .await;
        let id = me.last().unwrap().json()["id"].as_u64()?;
        self.record.users.insert(id, email);
        Some(User {
            id,
            token,
            verified: false,
        })
    }

    /// Submits a passport (verified automatically) and waits until wallet knows it.
    async fn verify(&mut self, index: usize) {
        let (id, token) = (self.users[index].id, self.users[index].token.clone());
        let body = json!({ "user_id": id, "document_type": "passport", "document_url": "https://example.com/passport.jpg" });
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{KYC}/api/kyc/submit"),
                Some(&token),
                Some(&body),
                None,
                8,
            )
            .await;
        let last = answers.last().unwrap().clone();
        let allowed: &[u16] = if answers.len() > 1 {
            &[201, 409]
        } else {
            &[201]
        };
        self.expect("KYC submission", &last, allowed);
        let platform = self.platform;
        let verified = poll(CASCADE, || async {
            let item = platform
                .item("WalletTable", &format!("CUSTOMER#{id}"), Some("PROFILE"))
                .await?;
            (item.get("kyc_status")?.as_s().ok()? == "verified").then_some(())
        })
        .await
        .is_some();
        if !verified {
            self.record.unexpected.push(format!(
                "user {id}: wallet never learned the KYC verification within {CASCADE:?}"
            ));
        }
        self.users[index].verified = verified;
    }

    async fn open_wallet(&mut self, index: usize, currency: &str) {
        let (id, token, verified) = (
            self.users[index].id,
            self.users[index].token.clone(),
            self.users[index].verified,
        );
        let body = json!({ "currency": currency });
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{WALLET}/api/wallet/create"),
                Some(&token),
                Some(&body),
                None,
                8,
            )
            .await;
        let last = answers.last().unwrap().clone();
        if !verified {
            self.expect("wallet of an unverified user", &last, &[403]);
            return;
        }
        let allowed: &[u16] = if answers.len() > 1 {
            &[201, 409]
        } else {
            &[201]
        };
        self.expect("wallet creation", &last, allowed);
        if last.status == 201 {
            if let Some(wallet) = last.json()["id"].as_u64() {
                self.record.wallets.insert(wallet, (id, currency.into()));
            }
        } else if last.status == 409 {
            // The first attempt committed: the wallet is listed under the user.
            let listed = self
                .until_known(
                    reqwest::Method::GET,
                    &format!("{WALLET}/api/wallet/user/{id}"),
                    Some(&token),
                    None,
                    None,
                    8,
                )
                .await;
            let listed = listed.last().unwrap().json();
            for wallet in listed.as_array().into_iter().flatten() {
                if wallet["currency"] == currency
                    && let Some(wallet_id) = wallet["id"].as_u64()
                {
                    self.record.wallets.insert(wallet_id, (id, currency.into()));
                }
            }
        }
    }

    fn token_of(&self, user: u64) -> String {
        self.users
            .iter()
            .find(|u| u.id == user)
            .map(|u| u.token.clone())
            .expect("a user of the seed")
    }

    fn amount(&mut self, low: u64, high: u64) -> Decimal {
        let cents = self.rng.random_range(low * 100..=high * 100);
        let mut amount = Decimal::new(cents as i64, 2);
        if self.rng.random_bool(0.2) {
            // Four decimals, the platform's precision.
            amount += Decimal::new(self.rng.random_range(1..100), 4);
        }
        amount
    }

    /// Sends a money request once, then re-sends it while its outcome is unknown: with its
    /// key always, without one sometimes (as a new request, since the server cannot tell).
    async fn money(&mut self, mut request: MoneyRequest) {
        let mut waited_for_lock = Duration::ZERO;
        loop {
            let (url, token, body) = self.money_call(&request);
            let answer = self
                .send(
                    reqwest::Method::POST,
                    &url,
                    Some(&token),
                    Some(&body),
                    request.key.as_deref(),
                )
                .await;
            let what = format!("{:?} {}", request.kind, request.reference);
            let allowed: &[u16] = match request.kind {
                Kind::Deposit => &[200, 400, 403, 409],
                Kind::Transfer => &[201, 400, 403, 409],
            };
            self.expect(&what, &answer, allowed);
            let (again, unknown) = (answer.retryable(), answer.unknown());
            // A key whose first request failed stays locked until its lock expires (the
            // outcome may be unknown): the client keeps asking, then gets the final answer.
            let locked = answer.status == 409 && answer.body.contains("still in progress");
            request.attempts.push(answer);
            if locked && waited_for_lock < KEY_LOCK_WAIT {
                tokio::time::sleep(Duration::from_secs(2)).await;
                waited_for_lock += Duration::from_secs(2);
                continue;
            }
            if !again || request.attempts.len() >= 4 {
                break;
            }
            // A refusal to retry (409) changed nothing: the same request again, key or not.
            if request.key.is_none() && unknown {
                if self.rng.random_bool(0.5) {
                    // Re-sent as a new request: its own reference.
                    self.record.requests.push(request.clone());
                    request.reference = self.next_name("again");
                    request.attempts.clear();
                } else {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.record.requests.push(request);
    }

    fn money_call(&self, request: &MoneyRequest) -> (String, String, Value) {
        let owner = self.record.wallets[&request.wallet].0;
        let token = self.token_of(owner);
        match request.kind {
            Kind::Deposit => (
                format!("{WALLET}/api/wallet/{}/deposit", request.wallet),
                token,
                json!({ "amount": request.amount.to_string(), "reference": request.reference }),
            ),
            Kind::Transfer => (
                format!("{PAYMENT}/api/payment/transfer"),
                token,
                json!({
                    "from_wallet_id": request.wallet,
                    "to_wallet_id": request.to_wallet,
                    "amount": request.amount.to_string(),
                    "currency": self.record.wallets[&request.wallet].1,
                    "description": request.reference,
                }),
            ),
        }
    }

    async fn deposit(&mut self) {
        let Some(&wallet) = self
            .record
            .wallets
            .keys()
            .collect::<Vec<_>>()
            .choose(&mut self.rng)
            .copied()
        else {
            return;
        };
        let amount = self.amount(5, 2500);
        let key = self.rng.random_bool(0.6).then(|| self.next_name("key"));
        let request = MoneyRequest {
            kind: Kind::Deposit,
            reference: self.next_name("dep"),
            key,
            wallet,
            to_wallet: None,
            amount,
            attempts: Vec::new(),
        };
        self.money(request).await;
    }

    async fn transfer(&mut self) {
        let wallets: Vec<(u64, u64, String)> = self
            .record
            .wallets
            .iter()
            .map(|(id, (user, currency))| (*id, *user, currency.clone()))
            .collect();
        let Some((from, payer, currency)) = wallets.choose(&mut self.rng).cloned() else {
            return;
        };
        let payees: Vec<u64> = wallets
            .iter()
            .filter(|(_, user, c)| *user != payer && *c == currency)
            .map(|(id, _, _)| *id)
            .collect();
        let Some(&to) = payees.choose(&mut self.rng) else {
            return;
        };
        // Mostly everyday amounts; some large enough for AML to hold (structuring, a large
        // amount to a new counterparty); some above the bronze limit or the balance.
        let amount = match self.rng.random_range(0..10) {
            0..=5 => self.amount(1, 200),
            6..=8 => self.amount(500, 999),
            _ => self.amount(1001, 3000),
        };
        let key = self.rng.random_bool(0.6).then(|| self.next_name("key"));
        let request = MoneyRequest {
            kind: Kind::Transfer,
            reference: self.next_name("pay"),
            key,
            wallet: from,
            to_wallet: Some(to),
            amount,
            attempts: Vec::new(),
        };
        self.money(request).await;
    }

    /// A client re-sends an earlier keyed request: it must get the first answer.
    async fn replay(&mut self) {
        let keyed: Vec<usize> = (0..self.record.requests.len())
            .filter(|i| self.record.requests[*i].key.is_some())
            .collect();
        let Some(&index) = keyed.choose(&mut self.rng) else {
            return;
        };
        let request = self.record.requests[index].clone();
        let (url, token, body) = self.money_call(&request);
        let answer = self
            .send(
                reqwest::Method::POST,
                &url,
                Some(&token),
                Some(&body),
                request.key.as_deref(),
            )
            .await;
        self.record.requests[index].attempts.push(answer);
    }

    async fn change_status(&mut self) {
        let wallets: Vec<u64> = self.record.wallets.keys().copied().collect();
        let Some(&wallet) = wallets.choose(&mut self.rng) else {
            return;
        };
        let status = if self.rng.random_bool(0.35) {
            "frozen"
        } else {
            "active"
        };
        // Only staff lift a staff freeze: staff unfreeze often, freeze rarely.
        let by_staff = self
            .rng
            .random_bool(if status == "active" { 0.5 } else { 0.15 });
        let token = if by_staff {
            self.staff_token.clone()
        } else {
            self.token_of(self.record.wallets[&wallet].0)
        };
        let body = if self.rng.random_bool(0.5) {
            json!(status)
        } else {
            json!({ "status": status, "reason": "simulation" })
        };
        let answers = self
            .until_known(
                reqwest::Method::PUT,
                &format!("{WALLET}/api/wallet/{wallet}/status"),
                Some(&token),
                Some(&body),
                None,
                6,
            )
            .await;
        let last = answers.last().unwrap().clone();
        // 403: the owner cannot lift a staff freeze; 409: busy.
        self.expect(
            &format!("status of wallet {wallet}"),
            &last,
            &[200, 403, 409],
        );
    }

    async fn change_tier(&mut self) {
        let users: Vec<u64> = self.users.iter().map(|u| u.id).collect();
        let Some(&user) = users.choose(&mut self.rng) else {
            return;
        };
        let tier = *["bronze", "silver", "gold"].choose(&mut self.rng).unwrap();
        let token = self.staff_token.clone();
        let answers = self
            .until_known(
                reqwest::Method::PUT,
                &format!("{AUTH}/api/auth/user/{user}/tier"),
                Some(&token),
                Some(&json!({ "account_tier": tier })),
                None,
                6,
            )
            .await;
        let last = answers.last().unwrap().clone();
        self.expect(&format!("tier of user {user}"), &last, &[200, 409]);
    }

    /// Payments the seed saw answered ON_HOLD and has not resolved yet.
    fn open_holds(&self) -> Vec<u64> {
        let resolved = &self.tried_to_resolve;
        self.record
            .requests
            .iter()
            .filter(|r| r.kind == Kind::Transfer)
            .flat_map(|r| r.attempts.iter())
            .filter(|a| a.ok())
            .filter_map(|a| {
                let body = a.json();
                (body["status"] == "ON_HOLD").then(|| body["id"].as_u64())?
            })
            .filter(|id| !resolved.contains(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Staff release or void a held payment once compliance opened its case.
    async fn resolve(&mut self) {
        let holds = self.open_holds();
        let Some(&payment) = holds.choose(&mut self.rng) else {
            return;
        };
        self.tried_to_resolve.insert(payment);
        let platform = self.platform;
        let case = poll(CASCADE, || async {
            let item = platform
                .item(
                    "KycTable",
                    &format!("AMLPAYMENT#{payment}"),
                    Some("PAYMENT"),
                )
                .await?;
            item.get("case_id")?.as_n().ok()?.parse::<u64>().ok()
        })
        .await;
        let Some(case) = case else {
            self.record.unexpected.push(format!(
                "payment {payment} was answered ON_HOLD but no AML case opened within {CASCADE:?}"
            ));
            return;
        };
        let action = *["release", "void"].choose(&mut self.rng).unwrap();
        let token = self.staff_token.clone();
        let answers = self
            .until_known(
                reqwest::Method::POST,
                &format!("{KYC}/api/aml/cases/{case}/resolve"),
                Some(&token),
                Some(&json!({ "action": action, "note": "simulation" })),
                None,
                6,
            )
            .await;
        let last = answers.last().unwrap().clone();
        // A retry after an unknown outcome meets its own decision: 409 already resolved.
        let allowed: &[u16] = if answers.len() > 1 {
            &[200, 409]
        } else {
            &[200]
        };
        self.expect(&format!("resolve case {case}"), &last, allowed);
        if last.ok() || (answers.len() > 1 && last.status == 409) {
            self.record
                .resolutions
                .insert(case, (payment, action.to_owned()));
        }
    }
}

/// Polls `probe` until it yields a value or `timeout` passes (then `None`).
async fn poll<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if started.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

// ---------------------------------------------------------------------------------------------
// Faults.

/// The fault plan of a seed: small probabilities on every operation, from the seed alone.
/// One seed in three is a storm (three times as likely), so that some faults outlast the SDK's
/// retries and reach the client as a 5xx, which it then retries itself.
fn fault_plan(seed: u64) -> (Value, f64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xFA17);
    let storm = if seed % 3 == 2 { 3.0 } else { 1.0 };
    let mut p =
        |low: f64, high: f64| (rng.random_range(low..high) * storm * 1000.0).round() / 1000.0;
    let rules = json!([
        { "operation": "dynamodb:TransactWriteItems", "fault": "commit_then_lose", "probability": p(0.02, 0.08) },
        { "operation": "dynamodb:TransactWriteItems", "fault": "transaction_conflict", "probability": p(0.02, 0.06) },
        { "operation": "dynamodb:PutItem", "fault": "commit_then_lose", "probability": p(0.01, 0.04) },
        { "operation": "dynamodb:UpdateItem", "fault": "commit_then_lose", "probability": p(0.01, 0.04) },
        { "operation": "dynamodb:DeleteItem", "fault": "commit_then_lose", "probability": p(0.01, 0.04) },
        { "operation": "dynamodb:*", "fault": "throttle", "probability": p(0.005, 0.02) },
        { "operation": "dynamodb:*", "fault": "error_before_send", "probability": p(0.005, 0.02) },
        { "operation": "events:PutEvents", "fault": "partial_failure", "probability": p(0.02, 0.06) },
        { "operation": "events:PutEvents", "fault": "commit_then_lose", "probability": p(0.02, 0.06) },
        { "operation": "sns:*", "fault": "commit_then_lose", "probability": p(0.02, 0.06) },
        { "operation": "sqs:*", "fault": "error_before_send", "probability": p(0.01, 0.03) },
        { "operation": "*", "fault": "throttle", "probability": p(0.005, 0.015) },
        { "operation": "*", "fault": "slow", "probability": p(0.01, 0.03), "delay_ms": 200 },
    ]);
    let aws = json!({ "seed": seed, "rules": rules });
    (aws, p(0.03, 0.08))
}

async fn arm(platform: &Platform, seed: u64) {
    let (aws, crash_probability) = fault_plan(seed);
    faults::arm(platform, aws).await;
    faults::crash_consumers(platform, seed, crash_probability).await;
}

async fn disarm(platform: &Platform) {
    faults::disarm(platform).await;
    faults::stop_crashing_consumers(platform).await;
}

/// Disarms the faults if the workload panics, so the platform stays usable.
struct Armed<'a>(&'a Platform);

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let url = self.0.control_url.clone();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let client = reqwest::Client::new();
                    for path in ["/faults/aws", "/faults/consumers"] {
                        let _ = client.delete(format!("{url}{path}")).send().await;
                    }
                });
                Some(())
            })
            .join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One seed.

async fn run_seed(platform: &Platform, seed: u64, ops: usize, faults: bool) -> SeedOutcome {
    let faults_before = faults::injected(platform).len();
    let crashes_before = faults::consumer_crashes(platform);
    let mut sim = Sim {
        platform,
        rng: StdRng::seed_from_u64(seed),
        seed,
        run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        faults,
        record: Record::default(),
        staff_token: String::new(),
        users: Vec::new(),
        counter: 0,
        tried_to_resolve: BTreeSet::new(),
    };
    // Staff first, without faults: the operator is not under test.
    sim.staff_login().await;
    let armed = faults.then(|| Armed(platform));
    if faults {
        arm(platform, seed).await;
    }

    // Setup: users, KYC, wallets.
    let user_count = sim.rng.random_range(4..=6);
    for _ in 0..user_count {
        if let Some(user) = sim.register().await {
            sim.users.push(user);
        }
    }
    assert!(
        sim.users.len() >= 3,
        "seed {seed}: fewer than 3 users registered: {:?}",
        sim.record.unexpected
    );
    // At most one user stays unverified (the last), and the first two always hold USD, so
    // every seed has payments to check.
    let unverified = if sim.rng.random_bool(0.7) {
        sim.users.len() - 1
    } else {
        usize::MAX
    };
    for index in 0..sim.users.len() {
        if index != unverified {
            sim.verify(index).await;
        }
    }
    for index in 0..sim.users.len() {
        let currencies: &[&str] = match sim.rng.random_range(0..4) {
            0 if index >= 2 => &["EUR"],
            1 => &["USD", "EUR"],
            _ => &["USD"],
        };
        for currency in currencies {
            sim.open_wallet(index, currency).await;
        }
    }

    // Every wallet starts with some money, so transfers have something to move.
    let wallets: Vec<u64> = sim.record.wallets.keys().copied().collect();
    for wallet in wallets {
        let amount = sim.amount(1000, 4000);
        let key = sim.rng.random_bool(0.5).then(|| sim.next_name("key"));
        let reference = sim.next_name("dep");
        sim.money(MoneyRequest {
            kind: Kind::Deposit,
            reference,
            key,
            wallet,
            to_wallet: None,
            amount,
            attempts: Vec::new(),
        })
        .await;
    }

    // The workload.
    for _ in 0..ops {
        match sim.rng.random_range(0..100) {
            0..=19 => sim.deposit().await,
            20..=62 => sim.transfer().await,
            63..=74 => sim.replay().await,
            75..=80 => sim.change_status().await,
            81..=85 => sim.change_tier().await,
            _ => sim.resolve().await,
        }
    }
    if faults {
        disarm(platform).await;
    }
    drop(armed);

    let quiet = quiesce(platform, &sim.record.trace_ids).await;
    let world = observe(platform, &sim).await;
    let mut coverage = Coverage {
        seeds: 1,
        operations: ops,
        consumer_crashes: faults::consumer_crashes(platform) - crashes_before,
        ..Coverage::default()
    };
    for (_, operation, fault) in faults::injected(platform).into_iter().skip(faults_before) {
        coverage.faults += 1;
        *coverage
            .fault_kinds
            .entry(format!("{operation} {fault}"))
            .or_default() += 1;
    }
    let mut report = check(&sim.record, &world);
    if let Err(stuck) = quiet {
        report.violations.insert(0, stuck);
    }
    for unexpected in &sim.record.unexpected {
        report
            .violations
            .push(format!("unexpected answer: {unexpected}"));
    }
    if faults && coverage.faults == 0 {
        report
            .violations
            .push("faults were armed but the runner's log shows none injected".into());
    }
    for request in &sim.record.requests {
        for answer in &request.attempts {
            let status = answer.json()["status"].as_str().map(str::to_owned);
            let detail = answer.json()["detail"].as_str().map(str::to_owned);
            let what = format!(
                "{:?} {} {}",
                request.kind,
                answer.status,
                status.or(detail).unwrap_or_default()
            );
            *coverage.answers.entry(what).or_default() += 1;
        }
    }
    coverage.http_requests = sim.record.http_requests;
    coverage.money_requests = sim.record.requests.len();
    coverage.wallets = report.coverage.wallets;
    coverage.ledger_entries = report.coverage.ledger_entries;
    coverage.payments = report.coverage.payments;
    coverage.holds = report.coverage.holds;
    coverage.cases_resolved = sim.record.resolutions.len();
    coverage.events = report.coverage.events;
    coverage.deliveries = report.coverage.deliveries;
    for note in &report.notes {
        println!("seed {seed} note: {note}");
    }
    SeedOutcome {
        coverage,
        violations: report.violations,
    }
}

async fn queue_depth(platform: &Platform, url: &str) -> Option<i64> {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesDelayed,
        ApproximateNumberOfMessagesNotVisible,
    };
    let output = platform
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .attribute_names(ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .ok()?;
    let attributes = output.attributes()?;
    Some(
        attributes
            .values()
            .filter_map(|v| v.parse::<i64>().ok())
            .sum(),
    )
}

/// The events of the seed (by trace id) in each DLQ, peeked at without hiding them.
async fn dead_letters(
    platform: &Platform,
    traces: &BTreeSet<String>,
) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, queue) in &platform.manifest.queues {
        if !id.ends_with("DLQ") || queue_depth(platform, &queue.url).await.unwrap_or(0) == 0 {
            continue;
        }
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            let Ok(output) = platform
                .sqs
                .receive_message()
                .queue_url(&queue.url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
            else {
                break;
            };
            let mut new = 0;
            for message in output.messages() {
                if !seen.insert(message.message_id().unwrap_or_default().to_owned()) {
                    continue;
                }
                new += 1;
                let body: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
                let detail = &body["detail"];
                if detail["trace_id"]
                    .as_str()
                    .is_some_and(|trace| traces.contains(trace))
                {
                    found
                        .entry(id.clone())
                        .or_default()
                        .push(detail["event_id"].as_str().unwrap_or("?").to_owned());
                }
            }
            if new == 0 {
                break;
            }
        }
    }
    found
}

/// Waits until every consumer queue is empty and every outbox row of the seed is published,
/// twice in a row; runs the outbox sweeper meanwhile for rows whose publishing failed.
async fn quiesce(platform: &Platform, traces: &BTreeSet<String>) -> Result<(), String> {
    let started = Instant::now();
    let mut calm = 0;
    let mut last = String::new();
    while started.elapsed() < QUIESCE_TIMEOUT {
        let mut busy = Vec::new();
        for queue in platform.consumer_queues() {
            let depth = queue_depth(platform, &platform.queue(queue).url)
                .await
                .unwrap_or(1);
            if depth > 0 {
                busy.push(format!("{queue}: {depth}"));
            }
        }
        let unpublished = outbox_rows(platform)
            .await
            .into_iter()
            .filter(|(trace, row)| traces.contains(trace) && !row.published)
            .count();
        if unpublished > 0 {
            busy.push(format!("{unpublished} outbox rows unpublished"));
            let _ = platform
                .http
                .post(format!(
                    "{}/schedules/outbox-sweeper/run",
                    platform.control_url
                ))
                .send()
                .await;
        }
        if busy.is_empty() {
            calm += 1;
            if calm >= 2 {
                return Ok(());
            }
        } else {
            calm = 0;
            last = busy.join(", ");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!(
        "the platform did not quiesce within {QUIESCE_TIMEOUT:?}: {last}"
    ))
}

/// Every outbox row: (trace id, row).
async fn outbox_rows(platform: &Platform) -> Vec<(String, EventRow)> {
    let items = finflow_system_tests::events::outbox_items(platform).await;
    items
        .iter()
        .map(|item| {
            let text = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            (
                text("trace_id"),
                EventRow {
                    event_id: text("pk").trim_start_matches("EVENT#").to_owned(),
                    event_type: text("event_type"),
                    published: !item.contains_key("unpublished"),
                },
            )
        })
        .collect()
}

async fn query_all(
    platform: &Platform,
    table: &str,
    pk: &str,
    prefix: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = platform
            .dynamo
            .query()
            .table_name(platform.table(table))
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {table} {pk}: {e}"));
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v) | AttributeValue::N(v)) => v.clone(),
        _ => String::new(),
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    text(item, name).parse().unwrap_or(0)
}

fn amount(item: &HashMap<String, AttributeValue>, name: &str) -> Decimal {
    text(item, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} of {item:?} is not a decimal"))
}

/// Reads what the seed's users, wallets, payments and events became.
async fn observe(platform: &Platform, sim: &Sim<'_>) -> World {
    let mut world = World::default();
    for &wallet in sim.record.wallets.keys() {
        let Some(item) = platform
            .item("WalletTable", &format!("WALLET#{wallet}"), Some("META"))
            .await
        else {
            continue;
        };
        world.wallets.insert(
            wallet,
            WalletRow {
                id: wallet,
                user_id: number(&item, "user_id"),
                currency: text(&item, "currency"),
                status: text(&item, "status"),
                balance: amount(&item, "balance"),
                held: amount(&item, "held"),
            },
        );
        let entries = query_all(platform, "WalletTable", &format!("WALLET#{wallet}"), "TX#")
            .await
            .iter()
            .map(|item| EntryRow {
                sort_key: text(item, "sk"),
                kind: text(item, "kind"),
                amount: amount(item, "amount"),
                balance_after: amount(item, "balance_after"),
                reference_type: text(item, "reference_type"),
                reference_id: text(item, "reference_id"),
                description: text(item, "description"),
                created_at: text(item, "created_at"),
            })
            .collect();
        world.entries.insert(wallet, entries);
    }
    for &user in sim.record.users.keys() {
        for copy in query_all(platform, "PaymentTable", &format!("USER#{user}"), "PAY#").await {
            let id = number(&copy, "payment_id");
            if world.payments.contains_key(&id) {
                continue;
            }
            let Some(item) = platform
                .item("PaymentTable", &format!("PAYMENT#{id}"), Some("META"))
                .await
            else {
                continue;
            };
            let held =
                matches!(item.get("hold_reasons"), Some(AttributeValue::L(l)) if !l.is_empty());
            world.payments.insert(
                id,
                PaymentRow {
                    id,
                    from_wallet: number(&item, "from_wallet_id"),
                    to_wallet: number(&item, "to_wallet_id"),
                    payer: number(&item, "payer_id"),
                    payee: number(&item, "payee_id"),
                    amount: amount(&item, "amount"),
                    currency: text(&item, "currency"),
                    status: text(&item, "status"),
                    description: text(&item, "description"),
                    held,
                    resolution: text(&item, "resolution"),
                },
            );
        }
    }
    let held_payments: BTreeSet<u64> = world
        .payments
        .values()
        .filter(|p| p.held)
        .map(|p| p.id)
        .collect();
    for item in query_all(platform, "KycTable", "AMLCASES", "CASE#").await {
        let payment = number(&item, "payment_id");
        if !world.payments.contains_key(&payment) {
            continue;
        }
        let action = item
            .get("decision")
            .and_then(|d| d.as_m().ok())
            .and_then(|d| d.get("action"))
            .and_then(|a| a.as_s().ok())
            .cloned()
            .or_else(|| {
                let direct = text(&item, "decision_action");
                (!direct.is_empty()).then_some(direct)
            });
        world.cases.entry(payment).or_default().push(CaseRow {
            case_id: number(&item, "case_id"),
            status: text(&item, "status"),
            action,
            payment_status: None,
        });
    }
    for &payment in &held_payments {
        let watched = platform
            .item(
                "KycTable",
                &format!("AMLPAYMENT#{payment}"),
                Some("PAYMENT"),
            )
            .await
            .and_then(|item| {
                item.contains_key("case_id")
                    .then(|| number(&item, "case_id"))
            });
        world.watched_case.insert(payment, watched);
    }
    // A case's decision, as staff see it (the API is the one reader of its layout).
    for cases in world.cases.values_mut() {
        for case in cases.iter_mut() {
            let response = platform
                .http
                .get(format!("{KYC}/api/aml/cases/{}", case.case_id))
                .bearer_auth(&sim.staff_token)
                .send()
                .await
                .expect("case request is sent");
            let body: Value = response.json().await.unwrap_or(Value::Null);
            case.action = body["decision"]["action"].as_str().map(str::to_owned);
            case.payment_status = body["payment_status"].as_str().map(str::to_owned);
            if let Some(status) = body["status"].as_str() {
                case.status = status.to_owned();
            }
        }
    }

    world.events = outbox_rows(platform)
        .await
        .into_iter()
        .filter(|(trace, _)| sim.record.trace_ids.contains(trace))
        .map(|(_, row)| row)
        .collect();
    for line in &platform.runner_log() {
        if line["message"] != "event consumed" {
            continue;
        }
        let field = |name: &str| log_field(line, name).map(str::to_owned);
        if field("replay_name").is_some() {
            continue;
        }
        let (Some(event_id), Some(consumer), Some(event_type)) =
            (field("event_id"), field("consumer"), field("event_type"))
        else {
            continue;
        };
        world
            .routes
            .entry(event_type)
            .or_default()
            .insert(consumer.clone());
        let outcome = line["outcome"].as_str().unwrap_or("?").to_owned();
        world
            .deliveries
            .entry(event_id)
            .or_default()
            .push((consumer, outcome));
    }
    for event in &world.events {
        for consumer in world
            .routes
            .get(&event.event_type)
            .cloned()
            .unwrap_or_default()
        {
            let key = format!("INBOX#{consumer}#{}", event.event_id);
            if platform
                .item("IdempotencyTable", &key, None)
                .await
                .is_some()
            {
                world.inbox.insert((consumer, event.event_id.clone()));
            }
        }
    }
    world.dead_letters = dead_letters(platform, &sim.record.trace_ids).await;
    for &user in sim.record.users.keys() {
        let profile = platform
            .http
            .get(format!("{AUTH}/api/auth/user/{user}"))
            .bearer_auth(&sim.staff_token)
            .send()
            .await
            .expect("user request is sent");
        let profile: Value = profile.json().await.unwrap_or(Value::Null);
        world.profiles.insert(
            user,
            (
                profile["account_tier"].as_str().unwrap_or("?").to_owned(),
                profile["kyc_status"].as_str().unwrap_or("?").to_owned(),
            ),
        );
        let response = platform
            .http
            .get(format!("{REPORTING}/api/reports/users/{user}/analytics"))
            .bearer_auth(&sim.staff_token)
            .send()
            .await
            .expect("analytics request is sent");
        let analytics = if response.status() == 404 {
            None
        } else {
            Some(response.json().await.unwrap_or(Value::Null))
        };
        world.analytics.insert(user, analytics);
    }
    world
}

// ---------------------------------------------------------------------------------------------
// The invariants: a pure function of what the client did and what the tables say.

#[derive(Debug, Default)]
struct Checked {
    wallets: usize,
    ledger_entries: usize,
    payments: usize,
    holds: usize,
    events: usize,
    deliveries: usize,
}

#[derive(Debug, Default)]
struct Report {
    coverage: Checked,
    violations: Vec<String>,
    /// What is worth knowing but breaks no invariant.
    notes: Vec<String>,
}

fn check(record: &Record, world: &World) -> Report {
    let mut report = Report::default();
    let mut violations = Vec::new();
    check_money(record, world, &mut report.coverage, &mut violations);
    check_requests(record, world, &mut violations);
    check_holds(record, world, &mut report.coverage, &mut violations);
    check_events(
        world,
        &mut report.coverage,
        &mut violations,
        &mut report.notes,
    );
    check_reporting(record, world, &mut violations);
    // A checker that looked at nothing proves nothing.
    let coverage = &report.coverage;
    for (what, count) in [
        ("wallets", coverage.wallets),
        ("ledger entries", coverage.ledger_entries),
        ("payments", coverage.payments),
        ("events", coverage.events),
        ("consumer deliveries", coverage.deliveries),
    ] {
        if count == 0 {
            violations.push(format!(
                "the checker saw no {what}: the workload or the reading of the tables is broken"
            ));
        }
    }
    report.violations = violations;
    report
}

/// Invariants 1 and 2: conservation per currency, nothing negative, ledgers replay.
fn check_money(record: &Record, world: &World, checked: &mut Checked, out: &mut Vec<String>) {
    let mut held_by_wallet: BTreeMap<u64, Decimal> = BTreeMap::new();
    for payment in world.payments.values() {
        if payment.status == "ON_HOLD" {
            *held_by_wallet.entry(payment.from_wallet).or_default() += payment.amount;
        }
    }
    let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for &wallet_id in record.wallets.keys() {
        let Some(wallet) = world.wallets.get(&wallet_id) else {
            out.push(format!(
                "wallet {wallet_id} was answered 201 but is not in the table"
            ));
            continue;
        };
        checked.wallets += 1;
        if wallet.balance.is_sign_negative() || wallet.held.is_sign_negative() {
            out.push(format!(
                "wallet {}: negative balance {} or held {}",
                wallet.id, wallet.balance, wallet.held
            ));
        }
        let entries = world.entries.get(&wallet_id).cloned().unwrap_or_default();
        checked.ledger_entries += entries.len();
        let mut ordered = entries.clone();
        ordered.sort_by(|a, b| {
            (a.created_at.as_str(), a.sort_key.as_str())
                .cmp(&(b.created_at.as_str(), b.sort_key.as_str()))
        });
        let mut running = Decimal::ZERO;
        let mut deposits = Decimal::ZERO;
        for entry in &ordered {
            match entry.kind.as_str() {
                "credit" => running += entry.amount,
                "debit" => running -= entry.amount,
                other => out.push(format!(
                    "wallet {}: entry {} of unknown kind {other}",
                    wallet.id, entry.sort_key
                )),
            }
            if entry.reference_type == "deposit" {
                deposits += entry.amount;
            }
        }
        // Each entry's balance_after continues the one before it. Timestamps come from the
        // request that planned the write (and several processes), so they need not be the
        // commit order: the check is that some order of all entries forms the chain.
        if let Err((placed, at)) = chain(&ordered) {
            out.push(format!(
                "wallet {}: ledger breaks after {placed} of {} entries: no entry continues from \
                 {at} (entries: {:?})",
                wallet.id,
                ordered.len(),
                ordered
                    .iter()
                    .map(|e| format!(
                        "{} {} {} -> {} ({} {})",
                        e.sort_key, e.kind, e.amount, e.balance_after, e.description, e.created_at
                    ))
                    .collect::<Vec<_>>()
            ));
        }
        if running != wallet.balance {
            out.push(format!(
                "wallet {}: ledger replays to {running}, balance is {}",
                wallet.id, wallet.balance
            ));
        }
        let held = held_by_wallet.get(&wallet_id).copied().unwrap_or_default();
        if held != wallet.held {
            out.push(format!(
                "wallet {}: held {} but its payments on hold sum to {held}",
                wallet.id, wallet.held
            ));
        }
        let total = totals.entry(wallet.currency.clone()).or_default();
        total.0 += wallet.balance + wallet.held;
        total.1 += deposits;
    }
    for (currency, (sum, deposits)) in totals {
        if sum != deposits {
            out.push(format!(
                "{currency}: balances plus held amounts are {sum}, committed deposits {deposits} \
                 (money was created or destroyed: {})",
                sum - deposits
            ));
        }
    }
}

/// Whether the entries, in some order, form the chain 0 → balance_after → balance_after ...;
/// otherwise how many the longest chain found placed and the balance it stopped at. Entries in
/// time order are tried first, so the search rarely backtracks; it gives up after a bound.
fn chain(entries: &[EntryRow]) -> Result<(), (usize, Decimal)> {
    fn step(
        entries: &[EntryRow],
        used: &mut Vec<bool>,
        running: Decimal,
        placed: usize,
        best: &mut (usize, Decimal),
        budget: &mut usize,
    ) -> bool {
        if placed == entries.len() {
            return true;
        }
        if placed > best.0 {
            *best = (placed, running);
        }
        for (index, entry) in entries.iter().enumerate() {
            if used[index] || *budget == 0 {
                continue;
            }
            let next = match entry.kind.as_str() {
                "credit" => running + entry.amount,
                _ => running - entry.amount,
            };
            if next != entry.balance_after {
                continue;
            }
            *budget -= 1;
            used[index] = true;
            if step(entries, used, next, placed + 1, best, budget) {
                return true;
            }
            used[index] = false;
        }
        false
    }
    let mut used = vec![false; entries.len()];
    let mut best = (0, Decimal::ZERO);
    let mut budget = 100_000;
    if step(entries, &mut used, Decimal::ZERO, 0, &mut best, &mut budget) {
        Ok(())
    } else {
        Err(best)
    }
}

/// Invariant 3: one request (or key), at most one effect; a 2xx exactly one; a key replays
/// its first answer.
fn check_requests(record: &Record, world: &World, out: &mut Vec<String>) {
    let mut deposits: BTreeMap<&str, Vec<(u64, &EntryRow)>> = BTreeMap::new();
    for (wallet, entries) in &world.entries {
        for entry in entries {
            if entry.reference_type == "deposit" {
                deposits
                    .entry(entry.reference_id.as_str())
                    .or_default()
                    .push((*wallet, entry));
            }
        }
    }
    let mut payments: BTreeMap<&str, Vec<&PaymentRow>> = BTreeMap::new();
    for payment in world.payments.values() {
        payments
            .entry(payment.description.as_str())
            .or_default()
            .push(payment);
    }
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for request in &record.requests {
        known.insert(request.reference.as_str());
        let ok = request.attempts.iter().find(|a| a.ok());
        // Every answer known, none a 2xx: a 4xx (or a 409 asking to retry) means nothing was
        // done. One unknown answer among them and the effect may have happened.
        let refused = !request.attempts.is_empty()
            && request.attempts.iter().all(|a| !a.ok() && !a.unknown());
        let name = format!(
            "{:?} {} (key {:?}, answers {:?})",
            request.kind,
            request.reference,
            request.key,
            request
                .attempts
                .iter()
                .map(|a| a.status)
                .collect::<Vec<_>>()
        );
        let effects = match request.kind {
            Kind::Deposit => {
                let found = deposits
                    .get(request.reference.as_str())
                    .cloned()
                    .unwrap_or_default();
                for (wallet, entry) in &found {
                    if *wallet != request.wallet || entry.amount != request.amount {
                        out.push(format!(
                            "{name}: credited {} to wallet {wallet}, asked {} to wallet {}",
                            entry.amount, request.amount, request.wallet
                        ));
                    }
                }
                if let Some(answer) = ok {
                    let body = answer.json();
                    let entry_amount = money_of(&body["transaction"]["amount"]);
                    if entry_amount != Some(request.amount) {
                        out.push(format!("{name}: answered {}", answer.body));
                    }
                }
                found.len()
            }
            Kind::Transfer => {
                let found = payments
                    .get(request.reference.as_str())
                    .cloned()
                    .unwrap_or_default();
                for payment in &found {
                    if payment.from_wallet != request.wallet
                        || Some(payment.to_wallet) != request.to_wallet
                        || payment.amount != request.amount
                    {
                        out.push(format!(
                            "{name}: payment {} moves {} from {} to {}",
                            payment.id, payment.amount, payment.from_wallet, payment.to_wallet
                        ));
                    }
                }
                if let Some(answer) = ok {
                    let id = answer.json()["id"].as_u64();
                    if !found.iter().any(|p| Some(p.id) == id) {
                        out.push(format!(
                            "{name}: answered payment {id:?}, which is not in the table"
                        ));
                    }
                }
                found.len()
            }
        };
        if effects > 1 {
            out.push(format!("{name}: {effects} effects for one request"));
        }
        if ok.is_some() && effects != 1 {
            out.push(format!(
                "{name}: a 2xx answer, but {effects} effects in the tables"
            ));
        }
        if ok.is_none() && refused && effects != 0 && request.key.is_none() {
            out.push(format!("{name}: refused, yet {effects} effects"));
        }
        if request.key.is_some() {
            // The first final answer (not a 5xx, not a 409 asking to retry) is the one every
            // later final answer repeats.
            let known_answers: Vec<&Answer> =
                request.attempts.iter().filter(|a| !a.retryable()).collect();
            if let Some(first) = known_answers.first() {
                for later in &known_answers[1..] {
                    if later != first {
                        let same_json = later.status == first.status
                            && later.json() == first.json()
                            && !first.json().is_null();
                        out.push(format!(
                            "{name}: a repeated key answered {} {}, the first answer was {} {}{}",
                            later.status,
                            later.body,
                            first.status,
                            first.body,
                            if same_json {
                                " (the same JSON, other bytes: the replay is not the stored answer)"
                            } else {
                                ""
                            }
                        ));
                    }
                }
                if !first.ok() && effects != 0 {
                    out.push(format!(
                        "{name}: answered {} (refused) yet {effects} effects",
                        first.status
                    ));
                }
            }
        }
    }
    // Every deposit and payment among the seed's wallets came from one of its requests.
    for (reference, found) in &deposits {
        if !known.contains(reference) {
            out.push(format!(
                "{} deposit entries with reference {reference:?} no request of the seed made",
                found.len()
            ));
        }
    }
    for (description, found) in &payments {
        if !known.contains(description) {
            out.push(format!(
                "payments {:?} with description {description:?} no request of the seed made",
                found.iter().map(|p| p.id).collect::<Vec<_>>()
            ));
        }
    }
}

/// Invariant 5 (and the per-payment half of 2): each payment's ledger entries match its
/// status, once each; every hold has one case; a resolved case settled its payment once.
fn check_holds(record: &Record, world: &World, checked: &mut Checked, out: &mut Vec<String>) {
    for payment in world.payments.values() {
        checked.payments += 1;
        let entries = |wallet: u64, kind: &str| -> Vec<&EntryRow> {
            world
                .entries
                .get(&wallet)
                .into_iter()
                .flatten()
                .filter(|e| {
                    e.reference_type == "payment"
                        && e.reference_id == payment.id.to_string()
                        && e.kind == kind
                })
                .collect()
        };
        let debits = entries(payment.from_wallet, "debit");
        let returns = entries(payment.from_wallet, "credit");
        let credits = entries(payment.to_wallet, "credit");
        let expected = match payment.status.as_str() {
            "COMPLETED" => (1, 0, 1),
            "ON_HOLD" => (1, 0, 0),
            "FAILED" => (1, 1, 0),
            other => {
                out.push(format!("payment {}: unknown status {other}", payment.id));
                continue;
            }
        };
        let actual = (debits.len(), returns.len(), credits.len());
        if actual != expected {
            out.push(format!(
                "payment {} ({}, {} {}): payer debited {} time(s), refunded {}, payee credited {}; \
                 its status needs {expected:?}",
                payment.id,
                payment.status,
                payment.amount,
                payment.currency,
                actual.0,
                actual.1,
                actual.2
            ));
        }
        for entry in debits.iter().chain(&returns).chain(&credits) {
            if entry.amount != payment.amount {
                out.push(format!(
                    "payment {}: ledger entry {} of {} for a payment of {}",
                    payment.id, entry.sort_key, entry.amount, payment.amount
                ));
            }
        }
        if !payment.held {
            if let Some(cases) = world.cases.get(&payment.id) {
                out.push(format!(
                    "payment {} was never held but has {} case(s)",
                    payment.id,
                    cases.len()
                ));
            }
            continue;
        }
        checked.holds += 1;
        let cases = world.cases.get(&payment.id).cloned().unwrap_or_default();
        if cases.len() != 1 {
            out.push(format!(
                "held payment {} ({}) has {} AML case(s), not one",
                payment.id,
                payment.status,
                cases.len()
            ));
            continue;
        }
        let case = &cases[0];
        match world.watched_case.get(&payment.id) {
            Some(Some(id)) if *id == case.case_id => {}
            other => out.push(format!(
                "held payment {}: AML's record names case {other:?}, the case list {}",
                payment.id, case.case_id
            )),
        }
        match (payment.status.as_str(), case.action.as_deref()) {
            ("ON_HOLD", None) => {}
            ("ON_HOLD", Some(action)) => out.push(format!(
                "payment {} is still ON_HOLD but case {} decided {action}",
                payment.id, case.case_id
            )),
            ("COMPLETED", Some("release")) => {}
            ("FAILED", Some("void")) => {}
            // Released to a wallet that could no longer receive it: back to the payer.
            ("FAILED", Some("release")) if payment.resolution.contains("cannot receive") => {}
            (status, action) => out.push(format!(
                "payment {} ended {status} ({}) after case {} decided {action:?}",
                payment.id, payment.resolution, case.case_id
            )),
        }
        // The payment's end reached the case (payment.released / voided / failed).
        if case.payment_status.as_deref() != Some(payment.status.as_str()) {
            out.push(format!(
                "case {} knows payment {} as {:?}, the payment is {}",
                case.case_id, payment.id, case.payment_status, payment.status
            ));
        }
        if let Some((_, action)) = record
            .resolutions
            .get(&case.case_id)
            .filter(|(p, _)| *p == payment.id)
            && case.action.as_deref() != Some(action.as_str())
        {
            out.push(format!(
                "case {}: staff decided {action}, the case says {:?}",
                case.case_id, case.action
            ));
        }
    }
    for (case, (payment, action)) in &record.resolutions {
        if !world.payments.contains_key(payment) {
            out.push(format!(
                "case {case} ({action}) is about payment {payment}, which is not in the table"
            ));
        }
    }
}

/// Invariant 4: every committed event reached every consumer of its type, applied at most
/// once, with its inbox marker; nothing went to a DLQ; the outbox published everything.
fn check_events(
    world: &World,
    checked: &mut Checked,
    out: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    for event in &world.events {
        checked.events += 1;
        if !event.published {
            out.push(format!(
                "event {} ({}) is still unpublished",
                event.event_id, event.event_type
            ));
        }
        let Some(consumers) = world.routes.get(&event.event_type) else {
            out.push(format!(
                "event {} ({}): no consumer received any event of its type",
                event.event_id, event.event_type
            ));
            continue;
        };
        let deliveries = world
            .deliveries
            .get(&event.event_id)
            .cloned()
            .unwrap_or_default();
        checked.deliveries += deliveries.len();
        for consumer in consumers {
            let outcomes: Vec<&str> = deliveries
                .iter()
                .filter(|(c, _)| c == consumer)
                .map(|(_, o)| o.as_str())
                .collect();
            let applied = outcomes.iter().filter(|o| **o == "Applied").count();
            if outcomes.is_empty() {
                out.push(format!(
                    "event {} ({}) never reached {consumer}",
                    event.event_id, event.event_type
                ));
            } else if applied > 1 {
                out.push(format!(
                    "event {} ({}) applied {applied} times by {consumer}: {outcomes:?}",
                    event.event_id, event.event_type
                ));
            }
            let marked = world
                .inbox
                .contains(&(consumer.clone(), event.event_id.clone()));
            // Applied, or a duplicate of an apply whose answer was lost: the marker is there.
            let done = outcomes
                .iter()
                .any(|o| *o == "Applied" || *o == "Duplicate");
            if done && !marked {
                out.push(format!(
                    "event {} ({}) applied by {consumer} without its inbox marker",
                    event.event_id, event.event_type
                ));
            }
        }
    }
    // A message in a DLQ is an event some consumer gave up on after maxReceiveCount
    // deliveries. If every consumer of its type had applied it before (a crash after the
    // work, then redeliveries), nothing is lost: a note. Otherwise it is lost until redriven.
    let events: BTreeMap<&str, &EventRow> = world
        .events
        .iter()
        .map(|e| (e.event_id.as_str(), e))
        .collect();
    for (queue, ids) in &world.dead_letters {
        for id in ids {
            let event_type = events
                .get(id.as_str())
                .map_or("?", |e| e.event_type.as_str());
            let deliveries = world.deliveries.get(id).cloned().unwrap_or_default();
            let handled_by_all = world.routes.get(event_type).is_some_and(|consumers| {
                consumers
                    .iter()
                    .all(|c| deliveries.iter().any(|(d, _)| d == c))
            });
            let line =
                format!("event {id} ({event_type}) is in {queue}; its deliveries: {deliveries:?}");
            if handled_by_all {
                notes.push(format!("{line} (every consumer had handled it)"));
            } else {
                out.push(format!("{line}: a consumer never handled it"));
            }
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Figures {
    wallets_opened: i64,
    wallets_frozen: i64,
    deposits: (i64, Decimal),
    sent: BTreeMap<String, (i64, Decimal)>,
    received: BTreeMap<String, (i64, Decimal)>,
}

fn pair(value: &Value) -> (i64, Decimal) {
    (
        value["count"].as_i64().unwrap_or(0),
        money_of(&value["volume"]).unwrap_or_default(),
    )
}

/// Invariant 6: reporting's analytics of each user equal a recomputation from the tables.
fn check_reporting(record: &Record, world: &World, out: &mut Vec<String>) {
    let mut expected: BTreeMap<(u64, String), Figures> = BTreeMap::new();
    for wallet in world.wallets.values() {
        let figures = expected
            .entry((wallet.user_id, wallet.currency.clone()))
            .or_default();
        figures.wallets_opened += 1;
        if wallet.status == "frozen" {
            figures.wallets_frozen += 1;
        }
        for entry in world.entries.get(&wallet.id).into_iter().flatten() {
            if entry.reference_type == "deposit" {
                figures.deposits.0 += 1;
                figures.deposits.1 += entry.amount;
            }
        }
    }
    for payment in world.payments.values() {
        for (user, direction) in [(payment.payer, "sent"), (payment.payee, "received")] {
            let figures = expected
                .entry((user, payment.currency.clone()))
                .or_default();
            let map = if direction == "sent" {
                &mut figures.sent
            } else {
                &mut figures.received
            };
            let slot = map.entry(payment.status.clone()).or_default();
            slot.0 += 1;
            slot.1 += payment.amount;
        }
    }
    for &user in record.users.keys() {
        let analytics = world.analytics.get(&user).cloned().flatten();
        let mut actual: BTreeMap<String, Figures> = BTreeMap::new();
        if let Some(analytics) = &analytics {
            if let Some((tier, kyc)) = world.profiles.get(&user)
                && (analytics["account_tier"] != tier.as_str()
                    || analytics["kyc_status"] != kyc.as_str())
            {
                out.push(format!(
                    "reporting has user {user} as {} / {}, auth as {tier} / {kyc}",
                    analytics["account_tier"], analytics["kyc_status"]
                ));
            }
            for currency in analytics["currencies"].as_array().into_iter().flatten() {
                let mut figures = Figures {
                    wallets_opened: currency["wallets_opened"].as_i64().unwrap_or(0),
                    wallets_frozen: currency["wallets_frozen"].as_i64().unwrap_or(0),
                    deposits: pair(&currency["deposits"]),
                    ..Figures::default()
                };
                for (direction, map) in [
                    ("sent", &mut figures.sent),
                    ("received", &mut figures.received),
                ] {
                    for (status, value) in currency[direction].as_object().into_iter().flatten() {
                        let counted = pair(value);
                        if counted.0 != 0 || !counted.1.is_zero() {
                            map.insert(status.clone(), counted);
                        }
                    }
                }
                actual.insert(
                    currency["currency"].as_str().unwrap_or("?").to_owned(),
                    figures,
                );
            }
        }
        let currencies: BTreeSet<String> = expected
            .keys()
            .filter(|(u, _)| *u == user)
            .map(|(_, c)| c.clone())
            .chain(actual.keys().cloned())
            .collect();
        for currency in currencies {
            let want = expected
                .get(&(user, currency.clone()))
                .cloned()
                .unwrap_or_default();
            let got = actual.get(&currency).cloned().unwrap_or_default();
            if want != got {
                out.push(format!(
                    "reporting of user {user} in {currency}: {got:?}, the tables say {want:?}"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checker can fail: fed a consistent world it passes, fed corruptions it names them.

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        body: body.to_string(),
    }
}

fn sample() -> (Record, World) {
    let mut record = Record::default();
    record.users.insert(1, "a".into());
    record.users.insert(2, "b".into());
    record.wallets.insert(10, (1, "USD".into()));
    record.wallets.insert(20, (2, "USD".into()));
    let deposit_body = json!({ "transaction": { "amount": "100.0000" } });
    record.requests.push(MoneyRequest {
        kind: Kind::Deposit,
        reference: "d1".into(),
        key: Some("k1".into()),
        wallet: 10,
        to_wallet: None,
        amount: dec("100"),
        attempts: vec![
            answer(500, json!({})),
            answer(200, deposit_body.clone()),
            answer(200, deposit_body),
        ],
    });
    record.requests.push(MoneyRequest {
        kind: Kind::Transfer,
        reference: "t1".into(),
        key: None,
        wallet: 10,
        to_wallet: Some(20),
        amount: dec("30"),
        attempts: vec![answer(201, json!({ "id": 7, "status": "COMPLETED" }))],
    });
    let mut world = World::default();
    for (id, user, balance) in [(10, 1, "70"), (20, 2, "30")] {
        world.wallets.insert(
            id,
            WalletRow {
                id,
                user_id: user,
                currency: "USD".into(),
                status: "active".into(),
                balance: dec(balance),
                held: Decimal::ZERO,
            },
        );
    }
    let entry = |sk: &str, kind: &str, amount: &str, after: &str, rt: &str, rid: &str| EntryRow {
        sort_key: sk.into(),
        kind: kind.into(),
        amount: dec(amount),
        balance_after: dec(after),
        reference_type: rt.into(),
        reference_id: rid.into(),
        description: String::new(),
        created_at: format!("2026-01-01T00:00:0{}Z", &sk[3..]),
    };
    world.entries.insert(
        10,
        vec![
            entry("TX#1", "credit", "100", "100", "deposit", "d1"),
            entry("TX#2", "debit", "30", "70", "payment", "7"),
        ],
    );
    world.entries.insert(
        20,
        vec![entry("TX#3", "credit", "30", "30", "payment", "7")],
    );
    world.payments.insert(
        7,
        PaymentRow {
            id: 7,
            from_wallet: 10,
            to_wallet: 20,
            payer: 1,
            payee: 2,
            amount: dec("30"),
            currency: "USD".into(),
            status: "COMPLETED".into(),
            description: "t1".into(),
            held: false,
            resolution: String::new(),
        },
    );
    world.events.push(EventRow {
        event_id: "e1".into(),
        event_type: "payment.completed".into(),
        published: true,
    });
    world.routes.insert(
        "payment.completed".into(),
        BTreeSet::from(["reporting".to_owned()]),
    );
    world.deliveries.insert(
        "e1".into(),
        vec![
            ("reporting".into(), "Applied".into()),
            ("reporting".into(), "Duplicate".into()),
        ],
    );
    world.inbox.insert(("reporting".into(), "e1".into()));
    let usd = |deposits: Value, sent: Value, received: Value| json!({ "currency": "USD", "wallets_opened": 1, "wallets_frozen": 0, "deposits": deposits, "sent": sent, "received": received });
    let none = json!({ "count": 0, "volume": "0.0000" });
    world.analytics.insert(
        1,
        Some(json!({ "account_tier": "bronze", "kyc_status": "verified", "currencies": [usd(
            json!({ "count": 1, "volume": "100.0000" }),
            json!({ "COMPLETED": { "count": 1, "volume": "30.0000" }, "ON_HOLD": none, "FAILED": none }),
            json!({}),
        )] })),
    );
    world.analytics.insert(
        2,
        Some(
            json!({ "account_tier": "bronze", "kyc_status": "verified", "currencies": [usd(
            none.clone(),
            json!({}),
            json!({ "COMPLETED": { "count": 1, "volume": "30.0000" } }),
        )] }),
        ),
    );
    for user in [1, 2] {
        world
            .profiles
            .insert(user, ("bronze".into(), "verified".into()));
    }
    (record, world)
}

fn violations_of(record: &Record, world: &World) -> Vec<String> {
    check(record, world).violations
}

fn assert_caught(what: &str, violations: &[String], needle: &str) {
    assert!(
        violations.iter().any(|v| v.contains(needle)),
        "{what}: expected a violation containing {needle:?}, got {violations:#?}"
    );
}

#[test]
fn simulation_checker_passes_a_consistent_world_and_names_each_corruption() {
    let (record, mut world) = sample();
    assert_eq!(violations_of(&record, &world), Vec::<String>::new());
    // Dead-lettered after every consumer applied it (a crash after the work): a note only.
    world
        .dead_letters
        .insert("ReportingEventsDLQ".into(), vec!["e1".into()]);
    let report = check(&record, &world);
    assert_eq!(report.violations, Vec::<String>::new());
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);

    // A deposit applied twice: one request, two credits, money from nothing.
    let (record, mut world) = sample();
    let twin = EntryRow {
        sort_key: "TX#1b".into(),
        created_at: "2026-01-01T00:00:01.5Z".into(),
        balance_after: dec("200"),
        ..world.entries[&10][0].clone()
    };
    world.entries.get_mut(&10).unwrap().insert(1, twin);
    for entry in world.entries.get_mut(&10).unwrap().iter_mut().skip(2) {
        entry.balance_after += dec("100");
    }
    world.wallets.get_mut(&10).unwrap().balance = dec("170");
    let found = violations_of(&record, &world);
    assert_caught("double deposit", &found, "2 effects for one request");
    assert_caught("double deposit", &found, "reporting of user 1");

    // Entries whose timestamps are not their commit order still form the chain: fine.
    let (record, mut world) = sample();
    world.entries.get_mut(&10).unwrap()[0].created_at = "2026-01-01T00:00:09Z".into();
    assert_eq!(violations_of(&record, &world), Vec::<String>::new());

    // A corrupted ledger: an entry's amount differs from the movement it records.
    let (record, mut world) = sample();
    world.entries.get_mut(&10).unwrap()[1].amount = dec("31");
    let found = violations_of(&record, &world);
    assert_caught(
        "corrupted ledger",
        &found,
        "ledger breaks after 1 of 2 entries",
    );
    assert_caught("corrupted ledger", &found, "ledger replays to 69");

    // A balance changed behind the ledger's back: money created.
    let (record, mut world) = sample();
    world.wallets.get_mut(&20).unwrap().balance = dec("60");
    let found = violations_of(&record, &world);
    assert_caught(
        "created money",
        &found,
        "money was created or destroyed: 30",
    );

    // A transfer answered 201 twice over (a lost answer re-planned): two payments.
    let (record, mut world) = sample();
    let mut twin = world.payments[&7].clone();
    twin.id = 8;
    world.payments.insert(8, twin);
    let found = violations_of(&record, &world);
    assert_caught("double transfer", &found, "2 effects for one request");
    assert_caught("double transfer", &found, "payment 8 (COMPLETED");

    // An unknown answer may have done it: a busy 409 then a 500, and one payment, is fine;
    // a plain refusal with a payment is not.
    let (mut record, world) = sample();
    record.requests[1].attempts = vec![
        answer(409, json!({ "detail": "The wallets are busy; retry" })),
        answer(500, json!({})),
    ];
    assert_eq!(violations_of(&record, &world), Vec::<String>::new());
    record.requests[1].attempts = vec![answer(400, json!({ "detail": "Insufficient funds" }))];
    let found = violations_of(&record, &world);
    assert_caught("refused", &found, "refused, yet 1 effects");

    // A repeated key answered differently the second time.
    let (mut record, world) = sample();
    record.requests[0].attempts[2].body =
        json!({ "transaction": { "amount": "100.0000" }, "x": 1 }).to_string();
    let found = violations_of(&record, &world);
    assert_caught("replay", &found, "a repeated key answered");

    // A hold with no case, and an event applied twice by a consumer.
    let (record, mut world) = sample();
    let payment = world.payments.get_mut(&7).unwrap();
    payment.held = true;
    world
        .deliveries
        .get_mut("e1")
        .unwrap()
        .push(("reporting".into(), "Applied".into()));
    let found = violations_of(&record, &world);
    assert_caught("hold without case", &found, "has 0 AML case(s)");
    assert_caught("double apply", &found, "applied 2 times by reporting");

    // An event that never reached a consumer of its type, and one unpublished.
    let (record, mut world) = sample();
    world.events.push(EventRow {
        event_id: "e2".into(),
        event_type: "payment.completed".into(),
        published: false,
    });
    world
        .dead_letters
        .insert("ReportingEventsDLQ".into(), vec!["e2".into()]);
    let found = violations_of(&record, &world);
    assert_caught("lost event", &found, "a consumer never handled it");
    assert_caught(
        "lost event",
        &found,
        "event e2 (payment.completed) never reached reporting",
    );
    assert_caught("lost event", &found, "is still unpublished");

    // A checker that saw nothing fails.
    let found = violations_of(&Record::default(), &World::default());
    assert_caught("empty", &found, "the checker saw no wallets");
    assert_caught("empty", &found, "the checker saw no events");
}
