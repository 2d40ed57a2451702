//! `finflow bench`: what a running platform does under a burst of transfers, in figures.
//!
//! Against the API (the local gateway of `infra/up` by default, or a deployed stage), it
//! makes `pairs` fresh payer/payee pairs through the real cascade (register, login, KYC,
//! wallet once wallet has learned the verification, a deposit), fires `transfers` transfers
//! from `concurrency` clients at once, each with its own idempotency key, and waits until
//! reporting has counted every accepted one. It prints the request latency percentiles, the
//! throughput, the statuses (and how many AML's screening held: a payer making five transfers
//! in ten minutes trips its velocity rule, so a workload that should look like real use gives
//! each payer at most four), and three cascade lags: KYC decision → wallet, the last transfer
//! → reporting, and a transfer → its payee's notification. With `hot_wallet` every transfer
//! goes to one payee's wallet (contention: each conflict is read and decided again, counted
//! by payment's `TransferConflicts` metric, which `--log` reads). At the end it checks that
//! money was conserved: the bench's wallets hold exactly what was deposited. It asserts
//! nothing: figures on an emulator describe the emulator as much as FinFlow, and a benchmark
//! is not a test.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};

pub struct Options {
    pub api: String,
    pub pairs: usize,
    pub transfers: usize,
    pub concurrency: usize,
    /// Every transfer into the first payee's wallet.
    pub hot_wallet: bool,
    /// How long a cascade may take before the bench gives up on it.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            api: "http://127.0.0.1:8000".into(),
            pairs: 10,
            transfers: 100,
            concurrency: 10,
            hot_wallet: false,
            timeout: Duration::from_secs(120),
        }
    }
}

/// Latencies, summarised.
#[derive(Debug, PartialEq)]
pub struct Percentiles {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// Nearest-rank percentiles; `None` for no samples.
    pub fn of(samples: &[Duration]) -> Option<Percentiles> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let max = *sorted.last()?;
        let rank = |p: usize| sorted[(sorted.len() * p).div_ceil(100) - 1];
        Some(Percentiles {
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max,
        })
    }
}

pub struct Figures {
    options: (usize, usize, usize),
    hot_wallet: bool,
    setup: Duration,
    kyc_to_wallet: Option<Percentiles>,
    elapsed: Duration,
    latency: Option<Percentiles>,
    /// HTTP status and, for accepted transfers, the payment's status → how many.
    outcomes: BTreeMap<String, usize>,
    to_reporting: Duration,
    to_notification: Option<Duration>,
    /// What the bench's wallets hold against what was deposited into them.
    conservation: Result<String, String>,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pairs, transfers, concurrency) = self.options;
        let target = if self.hot_wallet {
            format!("from {pairs} payers into one hot wallet")
        } else {
            format!("between {pairs} pairs")
        };
        writeln!(
            f,
            "finflow bench: {transfers} transfers {target}, {concurrency} at a time"
        )?;
        writeln!(f, "  setup               {:.1?}", self.setup)?;
        if let Some(lag) = &self.kyc_to_wallet {
            writeln!(f, "  KYC → wallet lag    {}", summary(lag))?;
        }
        let per_second = transfers as f64 / self.elapsed.as_secs_f64();
        writeln!(
            f,
            "  transfers           {:.1?} in all, {per_second:.1}/s",
            self.elapsed
        )?;
        if let Some(latency) = &self.latency {
            writeln!(f, "  transfer latency    {}", summary(latency))?;
        }
        for (outcome, count) in &self.outcomes {
            writeln!(f, "    {outcome:<18}{count}")?;
        }
        let accepted: usize = self
            .outcomes
            .iter()
            .filter(|(outcome, _)| outcome.starts_with("201"))
            .map(|(_, count)| count)
            .sum();
        let held = self.outcomes.get("201 ON_HOLD").copied().unwrap_or(0);
        if accepted > 0 {
            writeln!(
                f,
                "  held by AML screening: {held} of {accepted} accepted ({:.0}%)",
                100.0 * held as f64 / accepted as f64
            )?;
        }
        writeln!(
            f,
            "  last transfer → reporting counted all: {:.1?}",
            self.to_reporting
        )?;
        if let Some(lag) = self.to_notification {
            writeln!(f, "  a transfer → its payee's notification: {lag:.1?}")?;
        }
        match &self.conservation {
            Ok(held) => writeln!(f, "  money conserved: {held}"),
            Err(problem) => writeln!(f, "  MONEY NOT CONSERVED: {problem}"),
        }
    }
}

fn summary(p: &Percentiles) -> String {
    format!(
        "p50 {:.1?}  p90 {:.1?}  p99 {:.1?}  max {:.1?}",
        p.p50, p.p90, p.p99, p.max
    )
}

struct Customer {
    id: u64,
    token: String,
    wallet: u64,
}

/// The API, as the bench's customers call it.
pub(crate) struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
    pub(crate) fn new(api: &str) -> Self {
        Client {
            http: reqwest::Client::new(),
            api: api.trim_end_matches('/').to_owned(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.request(method, format!("{}{path}", self.api));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        want: u16,
    ) -> Result<Value, String> {
        match self.call(method, path, token, Some(body)).await? {
            (status, body) if status == want => Ok(body),
            (status, body) => Err(format!("{path}: {status} {body}")),
        }
    }

    /// A new customer, registered and logged in: its id and access token.
    pub(crate) async fn sign_up(&self, tag: &str) -> Result<(u64, String), String> {
        use reqwest::Method;
        let email = format!("bench-{tag}-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "bench-password-42";
        let user = self
            .expect(
                Method::POST,
                "/api/auth/register",
                None,
                json!({ "email": email, "password": password, "name": "Bench" }),
                201,
            )
            .await?;
        let id = user["id"].as_u64().ok_or("register answered no id")?;
        let tokens = self
            .expect(
                Method::POST,
                "/api/auth/login",
                None,
                json!({ "username": email, "password": password }),
                200,
            )
            .await?;
        let token = tokens["access_token"]
            .as_str()
            .ok_or("login answered no token")?
            .to_owned();
        Ok((id, token))
    }

    /// A verified customer with a USD wallet holding `deposit`, and how long wallet took to
    /// learn the KYC verification.
    async fn customer(
        &self,
        tag: &str,
        deposit: &str,
        timeout: Duration,
    ) -> Result<(Customer, Duration), String> {
        use reqwest::Method;
        let (id, token) = self.sign_up(tag).await?;
        self.expect(
            Method::POST,
            "/api/kyc/submit",
            Some(&token),
            json!({ "user_id": id, "document_type": "passport", "document_url": "https://example.com/passport.jpg" }),
            201,
        )
        .await?;
        let decided = Instant::now();
        let wallet = loop {
            match self
                .call(
                    Method::POST,
                    "/api/wallet/create",
                    Some(&token),
                    Some(json!({ "currency": "USD" })),
                )
                .await?
            {
                (201, body) => break body["id"].as_u64().ok_or("wallet create answered no id")?,
                (403, _) if decided.elapsed() < timeout => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                (status, body) => return Err(format!("wallet create: {status} {body}")),
            }
        };
        let lag = decided.elapsed();
        if deposit != "0" {
            self.expect(
                Method::POST,
                &format!("/api/wallet/{wallet}/deposit"),
                Some(&token),
                json!({ "amount": deposit }),
                200,
            )
            .await?;
        }
        Ok((Customer { id, token, wallet }, lag))
    }

    /// Whether `customer` has a notification of the request traced `trace_id`.
    async fn notified(&self, customer: &Customer, trace_id: &str) -> Result<bool, String> {
        let (_, page) = self
            .call(
                reqwest::Method::GET,
                "/api/notification/list?limit=50",
                Some(&customer.token),
                None,
            )
            .await?;
        Ok(page["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|n| n["trace_id"] == trace_id)))
    }

    /// The balances of every wallet the bench made, against what was deposited into them:
    /// transfers only move money between them, held ones included.
    async fn conservation(
        &self,
        pairs: &[(Customer, Customer)],
        hot_wallet: bool,
        deposit: &str,
    ) -> Result<String, String> {
        use finflow_shared::Money;
        let mut held = Money::from_units(0);
        for customer in pairs.iter().flat_map(|(payer, payee)| [payer, payee]) {
            let path = format!("/api/wallet/{}/balance", customer.wallet);
            let (status, balance) = self
                .call(reqwest::Method::GET, &path, Some(&customer.token), None)
                .await?;
            let amount = balance["balance"]
                .as_str()
                .and_then(|text| Money::parse(text).ok())
                .ok_or_else(|| format!("{path}: {status} {balance}"))?;
            held = held.checked_add(amount).map_err(|e| e.to_string())?;
        }
        let mut deposited = Money::from_units(0);
        let deposit = Money::parse(deposit).map_err(|e| e.to_string())?;
        for _ in pairs {
            deposited = deposited.checked_add(deposit).map_err(|e| e.to_string())?;
        }
        let wallets = pairs.len() * 2;
        let into = if hot_wallet { ", one of them hot" } else { "" };
        if held == deposited {
            Ok(format!("{wallets} wallets{into} hold {held}, as deposited"))
        } else {
            Err(format!(
                "{wallets} wallets hold {held}, {deposited} was deposited"
            ))
        }
    }

    /// Payments `payer` sent, over every status, as reporting counts them.
    async fn counted(&self, payer: &Customer) -> Result<u64, String> {
        let path = format!("/api/reports/users/{}/analytics", payer.id);
        let (status, analytics) = self
            .call(reqwest::Method::GET, &path, Some(&payer.token), None)
            .await?;
        if status == 404 {
            return Ok(0);
        }
        let sent = analytics["currencies"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["currency"] == "USD"))
            .and_then(|usd| usd["sent"].as_object().cloned())
            .unwrap_or_default();
        Ok(sent.values().filter_map(|s| s["count"].as_u64()).sum())
    }
}

/// What each payer deposits: the bronze tier's daily limit, far above what the bench sends.
const PAYER_DEPOSIT: &str = "2000";

pub async fn run(options: &Options) -> Result<Figures, String> {
    if options.pairs == 0 || options.concurrency == 0 {
        return Err("--pairs and --concurrency must be at least 1".into());
    }
    let client = Client::new(&options.api);
    let started = Instant::now();
    // Customers sign up `concurrency` at a time, as the transfers run.
    let made: Vec<Result<_, String>> = stream::iter(0..options.pairs)
        .map(|n| {
            let client = &client;
            async move {
                // Small amounts stay inside the bronze tier's limits: 1,000 per transfer,
                // 2,000 a day.
                let payer = client
                    .customer(&format!("payer{n}"), PAYER_DEPOSIT, options.timeout)
                    .await?;
                let payee = client
                    .customer(&format!("payee{n}"), "0", options.timeout)
                    .await?;
                Ok((payer, payee))
            }
        })
        .buffered(options.concurrency)
        .collect()
        .await;
    let mut pairs = Vec::new();
    let mut kyc_lags = Vec::new();
    for pair in made {
        let ((payer, lag), (payee, other)) = pair?;
        kyc_lags.extend([lag, other]);
        pairs.push((payer, payee));
    }
    let setup = started.elapsed();

    let amount = "0.0100";
    let pairs = &pairs;
    let burst = Instant::now();
    let results: Vec<Sent> = stream::iter(0..options.transfers)
        .map(|n| {
            let index = n % pairs.len();
            let (payer, payee) = &pairs[index];
            let payee = if options.hot_wallet {
                &pairs[0].1
            } else {
                payee
            };
            let client = &client;
            async move {
                let sent = Instant::now();
                let response = client
                    .http
                    .post(format!("{}/api/payment/transfer", client.api))
                    .bearer_auth(&payer.token)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&json!({
                        "from_wallet_id": payer.wallet,
                        "to_wallet_id": payee.wallet,
                        "amount": amount,
                        "currency": "USD",
                    }))
                    .send()
                    .await;
                let mut trace_id = None;
                let outcome = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        trace_id = response
                            .headers()
                            .get("x-trace-id")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        match body["status"].as_str() {
                            Some(payment) if status == 201 => format!("201 {payment}"),
                            _ => status.to_string(),
                        }
                    }
                    Err(error) => format!("error: {error}"),
                };
                Sent {
                    pair: index,
                    latency: sent.elapsed(),
                    outcome,
                    trace_id,
                    answered: Instant::now(),
                }
            }
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let elapsed = burst.elapsed();
    let last_sent = Instant::now();

    let mut outcomes = BTreeMap::new();
    let mut accepted = vec![0u64; pairs.len()];
    for sent in &results {
        *outcomes.entry(sent.outcome.clone()).or_insert(0) += 1;
        if sent.outcome.starts_with("201") {
            accepted[sent.pair] += 1;
        }
    }
    let reporting = async {
        for ((payer, _), want) in pairs.iter().zip(&accepted) {
            loop {
                if client.counted(payer).await? >= *want {
                    break;
                }
                if last_sent.elapsed() > options.timeout {
                    return Err(format!(
                        "reporting had not counted {want} payments of user {} after {:?}",
                        payer.id, options.timeout
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(last_sent.elapsed())
    };
    // The last transfer that completed, as its payee hears of it.
    let notified = async {
        let Some(sent) = results
            .iter()
            .filter(|s| s.outcome == "201 COMPLETED")
            .max_by_key(|s| s.answered)
        else {
            return Ok(None);
        };
        let payee = if options.hot_wallet {
            &pairs[0].1
        } else {
            &pairs[sent.pair].1
        };
        let trace_id = sent.trace_id.as_deref().unwrap_or_default();
        loop {
            if client.notified(payee, trace_id).await? {
                return Ok(Some(sent.answered.elapsed()));
            }
            if sent.answered.elapsed() > options.timeout {
                return Err(format!(
                    "user {} had no notification of transfer {trace_id} after {:?}",
                    payee.id, options.timeout
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (to_reporting, to_notification) = tokio::join!(reporting, notified);
    let conservation = client
        .conservation(pairs, options.hot_wallet, PAYER_DEPOSIT)
        .await;
    let latencies: Vec<Duration> = results.iter().map(|s| s.latency).collect();
    Ok(Figures {
        options: (options.pairs, options.transfers, options.concurrency),
        hot_wallet: options.hot_wallet,
        setup,
        kyc_to_wallet: Percentiles::of(&kyc_lags),
        elapsed,
        latency: Percentiles::of(&latencies),
        outcomes,
        to_reporting: to_reporting?,
        to_notification: to_notification?,
        conservation,
    })
}

/// What payment's metrics say of the run (`finflow_payment::metrics`, read from the embedded
/// metric lines of the runner's log): transfers recorded and the attempts that met a conflict.
pub fn contention(log: &str) -> String {
    let sum = |metric: &str| -> u64 {
        let key = format!("\"{metric}\"");
        log.lines()
            .filter(|line| line.contains("\"_aws\"") && line.contains(&key))
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|line| line[metric].as_u64())
            .sum()
    };
    let (transfers, conflicts) = (sum("Transfers"), sum("TransferConflicts"));
    format!(
        "  payment's metrics: {transfers} transfers recorded, {conflicts} attempts met a conflict and were decided again ({:.2} per transfer)\n",
        conflicts as f64 / transfers.max(1) as f64
    )
}

/// The gateway's authorizer runs before every authenticated request: its invocations' own
/// durations (the emulator's REPORT lines in the runner's log), the share of a request's
/// latency that the authorizer, not the handler, costs.
pub fn authorizer(log: &str) -> String {
    let durations: Vec<Duration> = log
        .lines()
        .filter(|line| line.contains("\"REPORT ") && line.contains("AuthAuthorizerFunction"))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["function"] == "AuthAuthorizerFunction")
        .filter_map(|line| {
            let (_, rest) = line["message"].as_str()?.split_once("\tDuration: ")?;
            let ms: f64 = rest.split_once(" ms")?.0.parse().ok()?;
            Some(Duration::from_secs_f64(ms / 1000.0))
        })
        .collect();
    let Some(percentiles) = Percentiles::of(&durations) else {
        return String::new();
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "  the gateway's authorizer: {} invocations, each {:.1} ms p50, {:.1} ms p99 (its REPORT lines)\n",
        durations.len(),
        ms(percentiles.p50),
        ms(percentiles.p99)
    )
}

/// One transfer the bench sent.
struct Sent {
    pair: usize,
    latency: Duration,
    /// The HTTP status, and the payment's status when accepted.
    outcome: String,
    trace_id: Option<String>,
    answered: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn authorizer_durations_come_from_its_report_lines() {
        let report = |function: &str, ms: &str| {
            serde_json::json!({
                "function": function,
                "message": format!("REPORT RequestId: x\tInit Duration: 70.00 ms\tDuration: {ms} ms\tBilled Duration: 3 ms\t"),
            })
            .to_string()
        };
        let log = [
            report("AuthAuthorizerFunction", "1.50"),
            report("AuthAuthorizerFunction", "2.50"),
            report("AuthAuthorizerFunction", "9.00"),
            report("PaymentApiFunction", "40.00"),
        ]
        .join("\n");
        assert_eq!(
            authorizer(&log),
            "  the gateway's authorizer: 3 invocations, each 2.5 ms p50, 9.0 ms p99 (its REPORT lines)\n"
        );
        assert_eq!(authorizer(""), "");
    }

    #[test]
    fn contention_sums_payments_metrics_lines() {
        let log = [
            r#"{"_aws":{},"Transfers":3,"Currency":"USD","Status":"COMPLETED"}"#,
            r#"{"_aws":{},"Transfers":1,"Currency":"USD","Status":"ON_HOLD"}"#,
            r#"{"_aws":{},"TransferConflicts":2}"#,
            r#"{"message":"Transfers","Transfers":99}"#,
        ]
        .join("\n");
        assert!(
            contention(&log).contains("4 transfers recorded, 2 attempts met a conflict"),
            "{}",
            contention(&log)
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples = ms(&(1..=100).rev().collect::<Vec<_>>());
        let p = Percentiles::of(&samples).unwrap();
        assert_eq!(
            (p.p50, p.p90, p.p99, p.max),
            (
                Duration::from_millis(50),
                Duration::from_millis(90),
                Duration::from_millis(99),
                Duration::from_millis(100)
            )
        );
        let one = Percentiles::of(&ms(&[7])).unwrap();
        assert_eq!(
            (one.p50, one.max),
            (Duration::from_millis(7), Duration::from_millis(7))
        );
        assert_eq!(Percentiles::of(&[]), None);
    }
}
