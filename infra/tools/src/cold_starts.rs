//! `finflow bench cold`: how long a new execution environment takes to answer, for every
//! function, measured as the local platform runs functions (AWS's Runtime Interface Emulator,
//! `finflow_local::lambda`), beside the floor and what the seed's stack would cost.
//!
//! A cold start here is the time from starting the emulator and the bootstrap to the first
//! invocation's answer: the process's init (the SDK's configuration, the signing secret read
//! from Secrets Manager, the clients) and the first request, whose AWS calls open the SDK's
//! first connections. Each function gets its invocation payload (`events/invoke/`), and an
//! HTTP payload a customer's token, so that the request goes past authentication to DynamoDB.
//! The second invocation of the same environment is the warm figure.
//!
//! Beside them, four subjects that measure the floor and the alternative: lambda-perf's hello
//! world and a one-GetItem probe (a DynamoDB client made during init), each in Rust
//! (`infra/bench/probe`) and in Python 3.11 with boto3 (`infra/bench/python`, under
//! awslambdaric, the runtime interface client of AWS's Python images). The emulator's own
//! start-up is in every figure, so the hello world is the floor to compare with.
//!
//! What the emulator cannot show: TLS (the local endpoint is plain HTTP, where AWS's first
//! call also pays a TLS handshake) and Lambda's own placement of the environment.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use finflow_local::lambda::{FunctionPool, FunctionSpec, Logs, locate_rie};
use finflow_local::manifest::Manifest;
use serde_json::{Value, json};

use crate::bench::{Client, Percentiles};

pub struct ColdOptions {
    pub runs: usize,
    pub manifest: PathBuf,
    /// Where the functions' bootstraps (and `bench-hello`, `bench-probe`) were built.
    pub bin_dir: PathBuf,
    /// The venv whose `aws-sam-cli` ships the Runtime Interface Emulator.
    pub sam_venv: PathBuf,
    /// A venv with awslambdaric and boto3 (`infra/bench/python/requirements.txt`), for the
    /// Python subjects; without one they are left out.
    pub python: Option<PathBuf>,
    /// The API, for the customer whose token the HTTP payloads carry.
    pub api: String,
}

/// One subject's figures.
struct Measured {
    name: String,
    cold: Percentiles,
    warm: Percentiles,
    failures: usize,
    first_failure: Option<String>,
}

/// Starts `runs` environments of `spec` one after another, each invoked twice with `event`.
async fn measure(name: &str, spec: &FunctionSpec, event: &Value, runs: usize) -> Measured {
    let (mut cold, mut warm, mut failures) = (Vec::new(), Vec::new(), 0);
    let mut first_failure = None;
    for _ in 0..runs {
        let pool = FunctionPool::new(spec.clone());
        let started = Instant::now();
        let first = pool.invoke(event).await;
        cold.push(started.elapsed());
        let again = Instant::now();
        let second = pool.invoke(event).await;
        warm.push(again.elapsed());
        for answer in [first, second] {
            if let Err(error) = answer {
                failures += 1;
                first_failure.get_or_insert_with(|| error.to_string());
            }
        }
        pool.shutdown();
    }
    Measured {
        name: name.to_owned(),
        cold: Percentiles::of(&cold).expect("at least one run"),
        warm: Percentiles::of(&warm).expect("at least one run"),
        failures,
        first_failure,
    }
}

/// The event `logical_id` is invoked with, an HTTP one carrying `token`.
fn payload(logical_id: &str, token: &str) -> Result<Value, String> {
    let path = Path::new("events/invoke").join(format!("{logical_id}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut event: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let is_http = event["requestContext"]["http"].is_object();
    let is_authorizer = event["type"] == "REQUEST";
    if is_http
        && !is_authorizer
        && let Some(headers) = event["headers"].as_object_mut()
    {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    Ok(event)
}

/// A subject outside the manifest: `bootstrap` with the emulator's endpoint and credentials.
fn bare_spec(name: &str, bootstrap: PathBuf, rie: &Path, manifest: &Manifest) -> FunctionSpec {
    // A table keyed by pk and sk, as the probes' GetItem is.
    let table = manifest
        .tables
        .get("WalletTable")
        .cloned()
        .unwrap_or_default();
    let environment = [
        // boto3 reads the region from here; Lambda sets it beside AWS_REGION.
        ("AWS_DEFAULT_REGION", manifest.region.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("PROBE_TABLE", table.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    FunctionSpec {
        logical_id: name.to_owned(),
        bootstrap,
        rie: rie.to_path_buf(),
        environment,
        logs: Logs::Discard,
    }
    .with_emulator(manifest)
}

/// A bootstrap that runs `module.handler` of `infra/bench/python` under awslambdaric.
fn python_bootstrap(venv: &Path, module: &str, dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let sources = std::fs::canonicalize("infra/bench/python").map_err(|e| e.to_string())?;
    // Absolute but not canonical: the venv's python is a symlink, and only called by its own
    // path does it find the venv's packages.
    let python = std::path::absolute(venv.join("bin/python")).map_err(|e| e.to_string())?;
    let path = dir.join(format!("python-{module}"));
    let script = format!(
        "#!/bin/sh\nexport PYTHONPATH={}\nexec {} -m awslambdaric {module}.handler\n",
        sources.display(),
        python.display()
    );
    std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

pub async fn run(options: &ColdOptions) -> Result<String, String> {
    if options.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let manifest = Manifest::load(&options.manifest)?;
    let rie = locate_rie(&options.sam_venv)?;
    let (_, token) = Client::new(&options.api).sign_up("cold").await?;
    let scratch = std::env::temp_dir().join(format!("finflow-bench-cold-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;

    let mut floors = Vec::new();
    let http_event = json!({ "bench": "cold start" });
    for (name, binary) in [
        ("hello, Rust", "bench-hello"),
        ("GetItem probe, Rust", "bench-probe"),
    ] {
        let spec = bare_spec(name, options.bin_dir.join(binary), &rie, &manifest);
        floors.push(measure(name, &spec, &http_event, options.runs).await);
    }
    if let Some(venv) = &options.python {
        for (name, module) in [
            ("hello, Python 3.11", "hello"),
            ("GetItem probe, Python 3.11 + boto3", "probe"),
        ] {
            let bootstrap = python_bootstrap(venv, module, &scratch)?;
            let spec = bare_spec(name, bootstrap, &rie, &manifest);
            floors.push(measure(name, &spec, &http_event, options.runs).await);
        }
    }
    let mut functions = Vec::new();
    for logical_id in manifest.functions.keys() {
        let mut spec = FunctionSpec::standalone(&manifest, logical_id, &options.bin_dir, &rie)?;
        spec.logs = Logs::Discard;
        let event = payload(logical_id, &token)?;
        functions.push(measure(logical_id, &spec, &event, options.runs).await);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(render(options.runs, &floors, &functions))
}

fn render(runs: usize, floors: &[Measured], functions: &[Measured]) -> String {
    let floor = floors
        .iter()
        .find(|m| m.name == "hello, Rust")
        .map(|m| m.cold.p50);
    let times_floor = |m: &Measured| {
        floor.map_or(String::new(), |floor| {
            format!("{:.1}×", m.cold.p50.as_secs_f64() / floor.as_secs_f64())
        })
    };
    let row = |m: &Measured| {
        let failed = match &m.first_failure {
            Some(error) => format!("  ({} failed invocations, first: {error})", m.failures),
            None => String::new(),
        };
        format!(
            "  {:<40}{:>11}{:>11}{:>11}{:>9}{failed}\n",
            m.name,
            ms(m.cold.p50),
            ms(m.cold.p90),
            ms(m.warm.p50),
            times_floor(m)
        )
    };
    let mut out = format!(
        "cold starts through the Runtime Interface Emulator, {runs} of each: start of the emulator and \
         bootstrap → first answer (warm: the same environment's second answer)\n  {:<40}{:>11}{:>11}{:>11}{:>9}\n",
        "subject", "cold p50", "cold p90", "warm p50", "÷ hello"
    );
    for measured in floors {
        out.push_str(&row(measured));
    }
    let p50 = |name: &str| floors.iter().find(|m| m.name == name).map(|m| m.cold.p50);
    for (what, rust, python) in [
        ("hello world", "hello, Rust", "hello, Python 3.11"),
        (
            "GetItem probe",
            "GetItem probe, Rust",
            "GetItem probe, Python 3.11 + boto3",
        ),
    ] {
        if let (Some(rust), Some(python)) = (p50(rust), p50(python)) {
            out.push_str(&format!(
                "  {what}: Python's cold start is {:.1}× Rust's\n",
                python.as_secs_f64() / rust.as_secs_f64()
            ));
        }
    }
    out.push_str("  FinFlow's functions, each with its events/invoke payload (HTTP ones with a customer's token):\n");
    for measured in functions {
        out.push_str(&row(measured));
    }
    if let Some(slowest) = functions.iter().max_by_key(|m| m.cold.p50) {
        out.push_str(&format!(
            "  slowest: {} at {} p50 ({})\n",
            slowest.name,
            ms(slowest.cold.p50),
            times_floor(slowest)
        ));
    }
    out
}
