//! `finflow-local`: runs every function of template.yaml as Lambda would, each as its own
//! bootstrap process under AWS's Runtime Interface Emulator (`finflow_local::lambda`), with the
//! environment the manifest resolves for it. HTTP functions get API Gateway's payload-2.0
//! events from the local gateway on the seed's ports; consumers get their queues as SQS
//! events with Lambda's batch semantics; the outbox relay gets the outbox table's stream as
//! DynamoDB stream events; scheduled functions get EventBridge's scheduled event on their
//! rate. Each function starts one environment when the runner starts (its `Init Duration` in
//! the log), more when requests overlap. A function the runner cannot run is an error, not a gap.

mod control;
mod faults;
mod gateway;
mod schedules;
mod sqs_poller;
mod stream_poller;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use finflow_local::lambda::{FunctionPool, FunctionSpec, default_bin_dir, locate_rie};
use finflow_local::manifest::Manifest;
use finflow_local::ports::{GATEWAY_PORT, SERVICES};
use finflow_local::scheduled::scheduled_event;
use finflow_local::warm_up::warm_up_event;
use finflow_shared::config::aws_sdk_config;

use crate::faults::{AwsFaults, ConsumerCrashes, FaultSwitch};
use crate::gateway::Routes;
use crate::schedules::{Job, ScheduledFunction};

struct Options {
    manifest: PathBuf,
    control_port: u16,
    bin_dir: PathBuf,
    venv: PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        manifest: PathBuf::from("infra/.state/stack.json"),
        control_port: 4599,
        bin_dir: default_bin_dir(),
        venv: PathBuf::from("infra/.sam-venv"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest" => options.manifest = args.next().expect("--manifest takes a path").into(),
            "--bin-dir" => options.bin_dir = args.next().expect("--bin-dir takes a path").into(),
            "--venv" => options.venv = args.next().expect("--venv takes a path").into(),
            "--control-port" => {
                options.control_port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--control-port takes a port")
            }
            other => panic!(
                "unknown argument {other}; use --manifest PATH --control-port PORT --bin-dir DIR --venv DIR"
            ),
        }
    }
    options
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    finflow_shared::telemetry::logs::init("finflow-local");
    let options = options();
    let manifest = Manifest::load(&options.manifest)?;
    let rie = locate_rie(&options.venv)?;
    // The runner's own calls (the pollers, playing Lambda's part) never meet injected faults;
    // the functions' calls go through the plan the control port arms (`/faults/aws`): every
    // function process gets it as `FINFLOW_FAULTS`.
    let sdk = aws_sdk_config().await;
    let aws_faults = Arc::new(AwsFaults::new(std::path::absolute(
        options
            .manifest
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("aws-faults.json"),
    )?)?);
    let faults = Arc::new(FaultSwitch::default());
    let crashes = Arc::new(ConsumerCrashes::default());
    let ready = Arc::new(AtomicBool::new(false));
    let schedules = Arc::new(OnceLock::new());

    let control = tokio::net::TcpListener::bind(("127.0.0.1", options.control_port)).await?;
    let control_app = control::router(control::ControlState {
        ready: ready.clone(),
        faults: faults.clone(),
        aws_faults: aws_faults.clone(),
        crashes: crashes.clone(),
        schedules: schedules.clone(),
    });
    tokio::spawn(async move { axum::serve(control, control_app).await });

    // Every function of template.yaml gets its pool of execution environments.
    let mut pools: HashMap<String, Arc<FunctionPool>> = HashMap::new();
    for (logical_id, function) in &manifest.functions {
        let mut spec = FunctionSpec::new(logical_id, function, &options.bin_dir, &rie)?;
        spec.environment.insert(
            finflow_shared::aws_faults::ENV.into(),
            aws_faults.plan_file.display().to_string(),
        );
        pools.insert(logical_id.clone(), Arc::new(FunctionPool::new(spec)));
    }
    tracing::info!(
        functions = pools.len(),
        rie = %rie.display(),
        bin_dir = %options.bin_dir.display(),
        "every function runs as its own bootstrap under the Runtime Interface Emulator; starting one environment of each"
    );
    warm_up(&manifest, &pools).await?;

    let mut scheduled: BTreeMap<String, Arc<ScheduledFunction>> = BTreeMap::new();
    for (logical_id, function) in &manifest.functions {
        let pool = pools[logical_id].clone();
        for source in &function.sqs_sources {
            tokio::spawn(sqs_poller::run(
                logical_id.clone(),
                source.clone(),
                manifest.region.clone(),
                aws_sdk_sqs::Client::new(&sdk),
                pool.clone(),
                crashes.clone(),
            ));
        }
        for source in &function.stream_sources {
            tokio::spawn(stream_poller::run(
                logical_id.clone(),
                source.clone(),
                manifest.region.clone(),
                aws_sdk_dynamodbstreams::Client::new(&sdk),
                pool.clone(),
                faults.clone(),
            ));
        }
        let enabled: Vec<_> = function.schedules.iter().filter(|s| s.enabled).collect();
        if let Some(first) = enabled.first() {
            let job = schedule_job(&manifest, logical_id, &first.name, pool.clone());
            let runs = Arc::new(ScheduledFunction::new(function.binary.clone(), job));
            for schedule in &enabled {
                let period = schedules::rate(&schedule.expression)
                    .map_err(|e| format!("{logical_id}.{}: {e}", schedule.name))?;
                tokio::spawn(schedules::every(
                    runs.clone(),
                    schedule.expression.clone(),
                    period,
                ));
            }
            scheduled.insert(function.binary.clone(), runs);
        }
    }

    let routes = Arc::new(Routes::from_manifest(&manifest, &pools)?);
    for service in routes.services() {
        let (_, port) = service_port(&service)?;
        serve(
            &service,
            port,
            gateway::app(routes.clone(), Some(service.clone()), port),
        )
        .await?;
    }
    serve(
        "gateway",
        GATEWAY_PORT,
        gateway::app(routes.clone(), None, GATEWAY_PORT),
    )
    .await?;
    schedules
        .set(scheduled)
        .map_err(|_| "the scheduled functions are set twice")?;

    ready.store(true, Ordering::SeqCst);
    tracing::info!(endpoint = %manifest.endpoint, control_port = options.control_port, "FinFlow is running locally; Ctrl-C stops it");
    shutdown_signal().await?;
    tracing::info!("stopping every execution environment");
    for pool in pools.values() {
        pool.shutdown();
    }
    Ok(())
}

/// Starts one environment of every function at once (`finflow_local::warm_up`); each one's
/// `REPORT` line in the log carries its `Init Duration`. A function that cannot start is an
/// error: the platform would not serve it.
async fn warm_up(
    manifest: &Manifest,
    pools: &HashMap<String, Arc<FunctionPool>>,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let account = manifest.account_id();
    let mut starts = tokio::task::JoinSet::new();
    for (logical_id, function) in &manifest.functions {
        let event = warm_up_event(function, logical_id, &manifest.region, &account);
        let pool = pools[logical_id].clone();
        starts.spawn(async move { pool.invoke(&event).await.map_err(|e| e.to_string()) });
    }
    while let Some(outcome) = starts.join_next().await {
        outcome.map_err(|e| format!("a warm-up panicked: {e}"))??;
    }
    tracing::info!(
        functions = manifest.functions.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "every function has one warm execution environment (its cold start is in its REPORT line)"
    );
    Ok(())
}

/// One run of a scheduled function: its scheduled event, invoked; the answer is the function's.
fn schedule_job(manifest: &Manifest, logical_id: &str, name: &str, pool: Arc<FunctionPool>) -> Job {
    let (region, account) = (manifest.region.clone(), manifest.account_id());
    let (logical_id, name) = (logical_id.to_owned(), name.to_owned());
    Arc::new(move || {
        let event = scheduled_event(&region, &account, &logical_id, &name);
        let pool = pool.clone();
        Box::pin(async move { pool.invoke(&event).await.map_err(|e| e.to_string()) })
    })
}

/// Ctrl-C from a terminal, or SIGTERM from a script or supervisor.
async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

async fn serve(name: &str, port: u16, app: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(name, port, "serving HTTP");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok(())
}

fn service_port(name: &str) -> Result<(&'static str, u16), String> {
    SERVICES
        .iter()
        .find(|(service, _)| *service == name)
        .copied()
        .ok_or_else(|| format!("unknown service {name}; expected one of the seed's six"))
}
