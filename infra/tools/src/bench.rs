//! `finflow bench`: what a running platform does under a burst of transfers, in figures.
//!
//! Against the API (the local gateway of `infra/up` by default, or a deployed stage), it
//! makes `pairs` fresh payer/payee pairs through the real cascade (register, login, KYC,
//! wallet once wallet has learned the verification, a deposit), fires `transfers` transfers
//! from `concurrency` clients at once, each with its own idempotency key, and waits until
//! reporting has counted every accepted one. It prints the request latency percentiles, the
//! throughput, the statuses (and how many AML's screening held: a payer making five transfers
//! in ten minutes trips its velocity rule, so a workload that should look like real use gives
//! each payer at most four), and two cascade lags: KYC decision → wallet, and the last
//! transfer → reporting. It asserts nothing: figures on an emulator describe the emulator as
//! much as FinFlow, and a benchmark is not a test.

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
    setup: Duration,
    kyc_to_wallet: Option<Percentiles>,
    elapsed: Duration,
    latency: Option<Percentiles>,
    /// HTTP status and, for accepted transfers, the payment's status → how many.
    outcomes: BTreeMap<String, usize>,
    to_reporting: Duration,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pairs, transfers, concurrency) = self.options;
        writeln!(
            f,
            "finflow bench: {transfers} transfers between {pairs} pairs, {concurrency} at a time"
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
        )
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

struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
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

    /// A verified customer with a USD wallet holding `deposit`, and how long wallet took to
    /// learn the KYC verification.
    async fn customer(
        &self,
        tag: &str,
        deposit: &str,
        timeout: Duration,
    ) -> Result<(Customer, Duration), String> {
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

pub async fn run(options: &Options) -> Result<Figures, String> {
    if options.pairs == 0 || options.concurrency == 0 {
        return Err("--pairs and --concurrency must be at least 1".into());
    }
    let client = Client {
        http: reqwest::Client::new(),
        api: options.api.trim_end_matches('/').to_owned(),
    };
    let started = Instant::now();
    // Customers sign up `concurrency` at a time, as the transfers run.
    let made: Vec<Result<_, String>> = stream::iter(0..options.pairs)
        .map(|n| {
            let client = &client;
            async move {
                // Small amounts stay inside the bronze tier's limits: 1,000 per transfer,
                // 2,000 a day.
                let payer = client
                    .customer(&format!("payer{n}"), "2000", options.timeout)
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
    let results: Vec<(usize, Duration, String)> = stream::iter(0..options.transfers)
        .map(|n| {
            let index = n % pairs.len();
            let (payer, payee) = &pairs[index];
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
                let outcome = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        match body["status"].as_str() {
                            Some(payment) if status == 201 => format!("201 {payment}"),
                            _ => status.to_string(),
                        }
                    }
                    Err(error) => format!("error: {error}"),
                };
                (index, sent.elapsed(), outcome)
            }
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let elapsed = burst.elapsed();
    let last_sent = Instant::now();

    let mut outcomes = BTreeMap::new();
    let mut accepted = vec![0u64; pairs.len()];
    for (pair, _, outcome) in &results {
        *outcomes.entry(outcome.clone()).or_insert(0) += 1;
        if outcome.starts_with("201") {
            accepted[*pair] += 1;
        }
    }
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
    let latencies: Vec<Duration> = results.iter().map(|(_, latency, _)| *latency).collect();
    Ok(Figures {
        options: (options.pairs, options.transfers, options.concurrency),
        setup,
        kyc_to_wallet: Percentiles::of(&kyc_lags),
        elapsed,
        latency: Percentiles::of(&latencies),
        outcomes,
        to_reporting: last_sent.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
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
