//! Lambda execution environments on this machine: each one is AWS's Runtime Interface
//! Emulator (the `aws-lambda-rie` that the pinned `aws-sam-cli` wheel ships) running one
//! function's bootstrap binary through the Lambda Runtime API, on two ports of its own.
//!
//! A [`FunctionPool`] keeps a function's environments as Lambda does: an invocation takes an
//! idle (warm) environment, or starts a new (cold) one when every environment is busy, up to
//! [`MAX_ENVIRONMENTS`]; one environment runs one invocation at a time. The emulator starts
//! the bootstrap on an environment's first invocation and reports the init phase
//! (`INIT REPORT(durationMs: …)`); the pool logs it as Lambda's `REPORT` line does
//! (`Init Duration: … ms`). Every environment runs in its own process group, and
//! [`FunctionPool::shutdown`] stops the emulator and the bootstrap together.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::manifest::Function;

/// Most execution environments one function gets at once (Lambda's concurrency, scaled down).
pub const MAX_ENVIRONMENTS: usize = 8;

/// How long an invocation may take, the emulator's own timeout included.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a new emulator may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// Variables of the runner's own environment every function gets besides its manifest
/// environment: where the emulator is, the region and the credentials (as Lambda provides
/// its execution role's), and the AWS fault plan (`finflow_shared::config`).
const PASSED_THROUGH: [&str; 6] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "FINFLOW_FAULTS",
];

/// The Runtime Interface Emulator: `FINFLOW_RIE` when set, else the binary the `aws-sam-cli`
/// wheel installed in `venv` (found through the venv's Python, not a hard-coded path).
pub fn locate_rie(venv: &Path) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("FINFLOW_RIE") {
        return Ok(PathBuf::from(path));
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "arm64",
        other => return Err(format!("no Runtime Interface Emulator for {other}")),
    };
    let python = venv.join("bin/python");
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            "import importlib.util, os, sys; spec = importlib.util.find_spec('samcli'); \
             print(os.path.join(list(spec.submodule_search_locations)[0], 'local', 'rapid', \
             'aws-lambda-rie-' + sys.argv[1]))",
            arch,
        ])
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (infra/up or infra/test creates the venv)",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "{} cannot find the aws-sam-cli package (infra/requirements-sam.txt pins it): {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    Ok(path)
}

/// Where cargo put the bootstrap binaries: next to the running executable (the shared target
/// directory's profile folder), unless `FINFLOW_BIN_DIR` says otherwise.
pub fn default_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FINFLOW_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/debug"));
    // A test binary runs from the profile folder's `deps`.
    match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().map(Path::to_path_buf).unwrap_or(dir),
        _ => dir,
    }
}

/// Invokes `logical_id` of the manifest at `manifest` once with `event`, in a new execution
/// environment against the emulator the manifest names, and stops it: `sam local invoke -e`
/// for the local platform (`finflow invoke`). Its output goes to stderr.
pub async fn invoke_once(
    manifest: &Path,
    logical_id: &str,
    event: &Value,
    venv: &Path,
) -> Result<Value, String> {
    let manifest = crate::manifest::Manifest::load(manifest)?;
    let rie = locate_rie(venv)?;
    let mut spec = FunctionSpec::standalone(&manifest, logical_id, &default_bin_dir(), &rie)?;
    spec.logs = Logs::Stderr;
    let pool = FunctionPool::new(spec);
    let answer = pool.invoke(event).await;
    pool.shutdown();
    answer.map_err(|e| e.to_string())
}

/// Where an environment's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Into the runner's log: the function's JSON lines intact on stdout (with its logical id
    /// added), the emulator's lines as the runner's log events.
    Runner,
    /// Every line as it is, on stderr (`finflow invoke`, like `sam local invoke`).
    Stderr,
    /// Nowhere (`finflow bench cold`, whose output is its figures).
    Discard,
}

/// What starting one of a function's environments takes.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub bootstrap: PathBuf,
    pub rie: PathBuf,
    /// The whole environment of the emulator, which passes it on to the bootstrap.
    pub environment: BTreeMap<String, String>,
    pub logs: Logs,
}

impl FunctionSpec {
    /// `function` of the manifest, its bootstrap in `bin_dir`; fails when it was not built.
    pub fn new(
        logical_id: &str,
        function: &Function,
        bin_dir: &Path,
        rie: &Path,
    ) -> Result<Self, String> {
        let bootstrap = bin_dir.join(&function.binary);
        if !bootstrap.is_file() {
            return Err(format!(
                "{logical_id}: no bootstrap {} (cargo build --workspace --bins builds it)",
                bootstrap.display()
            ));
        }
        let mut environment: BTreeMap<String, String> = function
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, value) in std::env::vars() {
            if name.starts_with("AWS_ENDPOINT_URL") || PASSED_THROUGH.contains(&name.as_str()) {
                environment.insert(name, value);
            }
        }
        // Lambda's own variable; the emulator would call every function "test_function".
        environment.insert("AWS_LAMBDA_FUNCTION_NAME".into(), logical_id.to_owned());
        Ok(FunctionSpec {
            logical_id: logical_id.to_owned(),
            bootstrap,
            rie: rie.to_path_buf(),
            environment,
            logs: Logs::Runner,
        })
    }

    /// `logical_id` of `manifest` run outside the runner, against the emulator the manifest
    /// names with test credentials, unless this process's environment says otherwise.
    pub fn standalone(
        manifest: &crate::manifest::Manifest,
        logical_id: &str,
        bin_dir: &Path,
        rie: &Path,
    ) -> Result<Self, String> {
        let function = manifest.functions.get(logical_id).ok_or_else(|| {
            let known: Vec<&str> = manifest.functions.keys().map(String::as_str).collect();
            format!(
                "{logical_id} is not a function of template.yaml; its functions: {}",
                known.join(", ")
            )
        })?;
        Ok(FunctionSpec::new(logical_id, function, bin_dir, rie)?.with_emulator(manifest))
    }

    /// This spec against the emulator `manifest` names, with its region and test credentials,
    /// where this process's environment does not say otherwise.
    pub fn with_emulator(mut self, manifest: &crate::manifest::Manifest) -> Self {
        let endpoints = [
            ("AWS_ENDPOINT_URL", Some(&manifest.endpoint)),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                manifest.dynamodb_endpoint.as_ref(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
                manifest.dynamodbstreams_endpoint.as_ref(),
            ),
            ("AWS_REGION", Some(&manifest.region)),
        ];
        for (name, value) in endpoints {
            if let Some(value) = value {
                self.environment
                    .entry(name.into())
                    .or_insert_with(|| value.clone());
            }
        }
        for (name, value) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ] {
            self.environment
                .entry(name.into())
                .or_insert_with(|| value.to_owned());
        }
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and failed (Lambda's `X-Amz-Function-Error`): an error it returned,
    /// or its runtime exited.
    #[error("{function} failed: {error_type}: {message}")]
    Function {
        function: String,
        error_type: String,
        message: String,
    },
    /// The environment could not run the invocation at all.
    #[error("{function}: {message}")]
    Environment { function: String, message: String },
}

/// One execution environment: an emulator process (the leader of its own process group, which
/// the bootstrap joins) and its two ports.
struct Environment {
    number: usize,
    child: Child,
    pgid: i32,
    invoke_url: String,
    invocations: u64,
}

impl Environment {
    fn stop(&mut self) {
        stop_group(self.pgid);
        let _ = self.child.start_kill();
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to the whole process group: the emulator and the bootstrap it started.
fn stop_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: killpg only sends a signal; pgid is the group of a child we spawned.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// A function's execution environments.
pub struct FunctionPool {
    spec: FunctionSpec,
    idle: Mutex<Vec<Environment>>,
    /// One permit per environment that may run at once.
    slots: Semaphore,
    started: AtomicUsize,
    /// Process groups of every live environment, for shutdown.
    groups: Arc<Mutex<BTreeMap<usize, i32>>>,
    http: reqwest::Client,
}

impl FunctionPool {
    pub fn new(spec: FunctionSpec) -> Self {
        FunctionPool {
            spec,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(MAX_ENVIRONMENTS),
            started: AtomicUsize::new(0),
            groups: Arc::new(Mutex::new(BTreeMap::new())),
            http: reqwest::Client::builder()
                .timeout(INVOKE_TIMEOUT)
                .build()
                .expect("an HTTP client builds"),
        }
    }

    pub fn logical_id(&self) -> &str {
        &self.spec.logical_id
    }

    /// Invokes the function with `event` and answers its result, as `lambda:Invoke` does.
    pub async fn invoke(&self, event: &Value) -> Result<Value, InvokeError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the pool is never closed");
        let warm = self.idle.lock().expect("not poisoned").pop();
        let mut environment = match warm {
            Some(environment) => environment,
            None => self.start().await?,
        };
        let started = Instant::now();
        let outcome = self.send(&environment, event).await;
        environment.invocations += 1;
        match &outcome {
            // The runtime exited or the emulator broke: this environment is done.
            Err(InvokeError::Environment { .. }) => self.discard(environment),
            Err(InvokeError::Function { error_type, .. }) if error_type.starts_with("Runtime.") => {
                self.discard(environment)
            }
            _ => {
                tracing::debug!(
                    function = %self.spec.logical_id,
                    environment = environment.number,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "invoked"
                );
                self.idle.lock().expect("not poisoned").push(environment);
            }
        }
        outcome
    }

    async fn send(&self, environment: &Environment, event: &Value) -> Result<Value, InvokeError> {
        let failed = |message: String| InvokeError::Environment {
            function: self.spec.logical_id.clone(),
            message,
        };
        let response = self
            .http
            .post(&environment.invoke_url)
            .json(event)
            .send()
            .await
            .map_err(|e| failed(format!("invoke failed: {e}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| failed(format!("reading the answer failed: {e}")))?;
        let answer: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|_| {
                failed(format!(
                    "the answer is not JSON ({status}): {}",
                    String::from_utf8_lossy(&body)
                ))
            })?
        };
        if let Some((error_type, message)) = function_error(&answer) {
            return Err(InvokeError::Function {
                function: self.spec.logical_id.clone(),
                error_type,
                message,
            });
        }
        if !status.is_success() {
            return Err(failed(format!("the emulator answered {status}: {answer}")));
        }
        Ok(answer)
    }

    /// Starts a new (cold) environment: the emulator on two free ports, in a process group of
    /// its own; the emulator starts the bootstrap on the first invocation.
    async fn start(&self) -> Result<Environment, InvokeError> {
        let failed = |message: String| InvokeError::Environment {
            function: self.spec.logical_id.clone(),
            message,
        };
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let (invoke_port, api_port) = (free_port(), free_port());
        let (invoke_port, api_port) = (
            invoke_port.map_err(|e| failed(format!("no free port: {e}")))?,
            api_port.map_err(|e| failed(format!("no free port: {e}")))?,
        );
        let mut child = Command::new(&self.spec.rie)
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{invoke_port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api_port}"))
            .arg(&self.spec.bootstrap)
            .env_clear()
            .envs(&self.spec.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(format!("cannot start {}: {e}", self.spec.rie.display())))?;
        let pgid = child.id().map(|id| id as i32).unwrap_or(0);
        self.groups
            .lock()
            .expect("not poisoned")
            .insert(number, pgid);
        let label = format!("{}#{number}", self.spec.logical_id);
        let cold = Arc::new(Mutex::new(ColdStart::default()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_output(
                label.clone(),
                stdout,
                self.spec.logs,
                cold.clone(),
            ));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_output(label.clone(), stderr, self.spec.logs, cold));
        }
        let environment = Environment {
            number,
            child,
            pgid,
            invoke_url: format!("http://127.0.0.1:{invoke_port}{INVOKE_PATH}"),
            invocations: 0,
        };
        // Both ports, since the emulator binds them separately: an invocation accepted before
        // the Runtime API listens starts a bootstrap that finds none, fails its init and is
        // answered 502 (seen once under load at the runner's warm-up: connection refused on
        // the Runtime API port while the invoke port answered).
        let deadline = Instant::now() + START_TIMEOUT;
        while !(listens(invoke_port).await && listens(api_port).await) {
            if Instant::now() >= deadline {
                self.discard(environment);
                return Err(failed(format!(
                    "the emulator did not listen on {invoke_port} and {api_port} within \
                     {START_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::info!(
            function = %self.spec.logical_id,
            environment = number,
            invoke_port,
            api_port,
            "execution environment started (cold)"
        );
        Ok(environment)
    }

    fn discard(&self, mut environment: Environment) {
        tracing::warn!(
            function = %self.spec.logical_id,
            environment = environment.number,
            invocations = environment.invocations,
            "execution environment discarded"
        );
        environment.stop();
        self.groups
            .lock()
            .expect("not poisoned")
            .remove(&environment.number);
    }

    /// Stops every environment of the function, emulators and bootstraps alike.
    pub fn shutdown(&self) {
        stopping();
        let groups = std::mem::take(&mut *self.groups.lock().expect("not poisoned"));
        for pgid in groups.values() {
            stop_group(*pgid);
        }
        self.idle.lock().expect("not poisoned").clear();
    }
}

/// `{"errorType", "errorMessage"}`, the answer of a failed invocation.
fn function_error(answer: &Value) -> Option<(String, String)> {
    let object = answer.as_object()?;
    let error_type = object.get("errorType")?.as_str()?;
    if object.contains_key("statusCode") {
        return None;
    }
    let message = object
        .get("errorMessage")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some((error_type.to_owned(), message.to_owned()))
}

/// Whether something accepts connections on `port` (the emulator's, once it has bound it).
async fn listens(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// A port nothing listens on, for an emulator to bind. The system names a free one, but the
/// emulator binds it only later, and meanwhile the system may name the same port again: environments
/// starting together (the runner's warm-up starts one of every function at once) would share
/// it. So a port is handed out once per process, never twice.
fn free_port() -> std::io::Result<u16> {
    static HANDED_OUT: Mutex<std::collections::BTreeSet<u16>> =
        Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..64 {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        if HANDED_OUT.lock().expect("not poisoned").insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "the system keeps naming ports already handed out",
    ))
}

/// Set once the runner is stopping: the bootstraps' complaints about their emulator going
/// away are expected then, not news.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks the runner as stopping (see [`FunctionPool::shutdown`]).
fn stopping() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// The init phase the emulator reported (`INIT REPORT`, on one stream) waiting for its
/// invocation's `REPORT` line (on the other), whose own `Init Duration` field the emulator
/// does not measure.
#[derive(Default)]
struct ColdStart {
    init_ms: Option<f64>,
    /// The cold `REPORT` line went out before the init phase's figure arrived.
    owed: bool,
}

/// Copies an environment's output into the runner's log: the function's JSON lines intact
/// (with the function's logical id added), everything else (the emulator's own lines, a
/// panic) as a log line of the runner naming the function. The cold start's `REPORT` line
/// carries the init phase's duration as Lambda's does (`Init Duration: … ms`).
async fn forward_output(
    label: String,
    output: impl AsyncRead + Unpin,
    logs: Logs,
    cold: Arc<Mutex<ColdStart>>,
) {
    let function = label.split('#').next().unwrap_or_default().to_owned();
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        // Still read, so that a full pipe never blocks the environment.
        if logs == Logs::Discard {
            continue;
        }
        let report = |message: String, init_ms: Option<f64>| match logs {
            Logs::Stderr => eprintln!("{message}"),
            Logs::Discard => {}
            Logs::Runner => match init_ms {
                Some(init_ms) => {
                    tracing::info!(function = %function, environment = %label, init_duration_ms = init_ms, "{message}")
                }
                None => tracing::info!(function = %function, environment = %label, "{message}"),
            },
        };
        let is_report = line.starts_with("REPORT ") || init_duration_ms(&line).is_some();
        if logs == Logs::Stderr && !is_report {
            eprintln!("{line}");
            continue;
        }
        if let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(&line) {
            object.insert("function".into(), Value::String(function.clone()));
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", Value::Object(object));
            continue;
        }
        if let Some(init_ms) = init_duration_ms(&line) {
            let mut cold = cold.lock().expect("not poisoned");
            if std::mem::take(&mut cold.owed) {
                report(
                    format!("REPORT {label}\tInit Duration: {init_ms:.2} ms"),
                    Some(init_ms),
                );
            } else {
                cold.init_ms = Some(init_ms);
            }
        } else if line.starts_with("REPORT ") {
            let (line, emulator_init) = without_init_field(&line);
            let measured = {
                let mut cold = cold.lock().expect("not poisoned");
                let measured = cold.init_ms.take();
                cold.owed = emulator_init && measured.is_none();
                measured
            };
            match measured {
                Some(init_ms) => report(
                    line.replacen(
                        "\tDuration:",
                        &format!("\tInit Duration: {init_ms:.2} ms\tDuration:"),
                        1,
                    ),
                    Some(init_ms),
                ),
                None => report(line, None),
            }
        } else if line.starts_with("START ") || line.starts_with("END ") || line.contains("[INFO]")
        {
            tracing::debug!(function = %function, environment = %label, "{line}");
        } else if !STOPPING.load(Ordering::SeqCst) {
            tracing::warn!(function = %function, environment = %label, "{line}");
        }
    }
}

/// A `REPORT` line without the emulator's own `Init Duration` field, and whether it had one.
fn without_init_field(line: &str) -> (String, bool) {
    let fields: Vec<&str> = line.split('\t').collect();
    let kept: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|field| !field.starts_with("Init Duration:"))
        .collect();
    (kept.join("\t"), kept.len() != fields.len())
}

/// The init phase's duration from the emulator's `INIT REPORT(durationMs: 235.5)` line.
fn init_duration_ms(line: &str) -> Option<f64> {
    let rest = line.split("INIT REPORT(durationMs: ").nth(1)?;
    rest.split(')').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_init_report_gives_the_init_duration() {
        let line = "30 Nov 2026 02:58:45,409 [INFO] (rapid) INIT REPORT(durationMs: 235.500000)";
        assert_eq!(init_duration_ms(line), Some(235.5));
        assert_eq!(
            init_duration_ms("REPORT RequestId: x\tDuration: 1 ms"),
            None
        );
    }

    #[test]
    fn the_emulators_own_init_field_is_dropped() {
        let line = "REPORT RequestId: r\tInit Duration: 0.02 ms\tDuration: 366.94 ms\tBilled Duration: 367 ms\t";
        assert_eq!(
            without_init_field(line),
            (
                "REPORT RequestId: r\tDuration: 366.94 ms\tBilled Duration: 367 ms\t".into(),
                true
            )
        );
    }

    #[test]
    fn a_failed_invocation_is_told_from_an_answer() {
        let error = json!({"errorType": "Runtime.ExitError", "errorMessage": "exit status 3"});
        assert_eq!(
            function_error(&error),
            Some(("Runtime.ExitError".into(), "exit status 3".into()))
        );
        assert_eq!(function_error(&json!({"batchItemFailures": []})), None);
        assert_eq!(
            function_error(&json!({"statusCode": 500, "errorType": "x"})),
            None
        );
    }
}
