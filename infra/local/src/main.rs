//! `finflow-local`: runs every function of template.yaml as a native process against the
//! emulator. HTTP functions are served on the seed's ports through the same routers Lambda
//! serves; consumers get their queues with Lambda's batch semantics; the outbox relay reads
//! the outbox table's stream; scheduled functions run on their rate. A function the runner
//! cannot run is an error, not a gap.

mod control;
mod faults;
mod gateway_health;
mod manifest;
mod schedules;
mod sqs_poller;
mod stream_poller;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::aws_faults;
use finflow_shared::config::{ConfigError, Env, PlatformConfig, aws_sdk_config};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::events::EventBridgePublisher;
use finflow_shared::http::into_app;
use finflow_shared::outbox::{DynamoOutboxRows, OutboxRelay, OutboxSweeper, sweep_grace};

use crate::faults::{AwsFaults, ConsumerCrashes, FaultSwitch, FaultyPublisher};
use crate::manifest::Manifest;
use crate::schedules::{Job, ScheduledFunction};

/// Serves every route of every service, as the one API Gateway does on AWS; health checks
/// reach upstream services through it (template parameter PublicApiUrl).
const GATEWAY_PORT: u16 = 8000;

/// The seed's ports.
const SERVICES: [(&str, u16); 6] = [
    ("auth", 8001),
    ("wallet", 8002),
    ("payment", 8003),
    ("notification", 8004),
    ("kyc", 8005),
    ("reporting", 8006),
];

type HttpFunction = fn(&str, &SdkConfig, &Env) -> Option<Result<Router, ConfigError>>;
type ConsumerFunction =
    fn(&str, &SdkConfig, &Env) -> Option<Result<Arc<dyn EventConsumer>, ConfigError>>;

/// Every service's HTTP functions, looked up by binary name. A service adds itself here.
const HTTP_FUNCTIONS: &[HttpFunction] = &[
    finflow_auth::functions::http_routes,
    finflow_wallet::functions::http_routes,
    finflow_kyc::functions::http_routes,
    finflow_payment::functions::http_routes,
    finflow_reporting::functions::http_routes,
    finflow_notification::functions::http_routes,
];

/// Every service's event consumers, looked up by binary name. A service adds itself here.
const CONSUMER_FUNCTIONS: &[ConsumerFunction] = &[
    finflow_wallet::functions::consumer,
    finflow_kyc::functions::consumer,
    finflow_auth::functions::consumer,
    finflow_payment::functions::consumer,
    finflow_reporting::functions::consumer,
    finflow_notification::functions::consumer,
];

struct Options {
    manifest: PathBuf,
    control_port: u16,
}

fn options() -> Options {
    let mut options = Options {
        manifest: PathBuf::from("infra/.state/stack.json"),
        control_port: 4599,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest" => options.manifest = args.next().expect("--manifest takes a path").into(),
            "--control-port" => {
                options.control_port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--control-port takes a port")
            }
            other => panic!("unknown argument {other}; use --manifest PATH --control-port PORT"),
        }
    }
    options
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    finflow_shared::telemetry::init("finflow-local");
    let options = options();
    let manifest = Manifest::load(&options.manifest)?;
    // The runner's own calls (the pollers, playing Lambda's part) never meet injected faults;
    // the functions' calls go through the plan the control port arms (`/faults/aws`).
    let runner_sdk = aws_sdk_config().await;
    let aws_faults = Arc::new(AwsFaults::new(
        options
            .manifest
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("aws-faults.json"),
    )?);
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

    let mut scheduled: BTreeMap<String, Arc<ScheduledFunction>> = BTreeMap::new();

    let mut apis: BTreeMap<&'static str, Router> = BTreeMap::new();
    for (logical_id, function) in &manifest.functions {
        let env = Env::from_map(function.environment.clone());
        let sdk = aws_faults::inject(
            runner_sdk.clone(),
            aws_faults.plan_file.clone(),
            Some(logical_id.clone()),
        );
        let binary = function.binary.as_str();
        let routes = HTTP_FUNCTIONS
            .iter()
            .find_map(|build| build(binary, &sdk, &env));
        let consumer = CONSUMER_FUNCTIONS
            .iter()
            .find_map(|build| build(binary, &sdk, &env));
        if let Some(routes) = routes {
            let (service, _) = service_port(&function.service)?;
            let merged = apis.remove(service).unwrap_or_default().merge(routes?);
            apis.insert(service, merged);
        } else if let Some(consumer) = consumer {
            let consumer = consumer?;
            for source in &function.sqs_sources {
                let client = aws_sdk_sqs::Client::new(&runner_sdk);
                tokio::spawn(sqs_poller::run(
                    logical_id.clone(),
                    source.clone(),
                    manifest.region.clone(),
                    client,
                    consumer.clone(),
                    crashes.clone(),
                ));
            }
        } else if binary == "outbox-relay" {
            let platform = PlatformConfig::load(&env)?;
            let publisher = FaultyPublisher {
                inner: Arc::new(EventBridgePublisher::new(
                    aws_sdk_eventbridge::Client::new(&sdk),
                    platform.event_bus_name,
                )),
                switch: faults.clone(),
            };
            let rows =
                DynamoOutboxRows::new(aws_sdk_dynamodb::Client::new(&sdk), platform.outbox_table);
            let relay = Arc::new(OutboxRelay::new(Arc::new(publisher), Arc::new(rows)));
            for source in &function.stream_sources {
                let client = aws_sdk_dynamodbstreams::Client::new(&runner_sdk);
                tokio::spawn(stream_poller::run(
                    logical_id.clone(),
                    source.clone(),
                    manifest.region.clone(),
                    client,
                    relay.clone(),
                    faults.clone(),
                ));
            }
        } else if let Some(job) = scheduled_job(binary, &sdk, &env) {
            let function = Arc::new(ScheduledFunction::new(binary.to_owned(), job?));
            for schedule in function_schedules(logical_id, &function, &manifest)? {
                tokio::spawn(schedule);
            }
            scheduled.insert(binary.to_owned(), function);
        } else {
            return Err(format!("{logical_id}: no local handler for binary {binary}").into());
        }
    }

    let mut gateway = Router::new();
    let mut services = Vec::new();
    for (service, routes) in apis {
        let (_, port) = service_port(service)?;
        gateway = gateway.merge(routes.clone());
        services.push((service, routes.clone()));
        serve(service, port, into_app(service, routes)).await?;
    }
    let gateway = gateway.merge(gateway_health::route(services));
    serve("gateway", GATEWAY_PORT, into_app("gateway", gateway)).await?;
    schedules
        .set(scheduled)
        .map_err(|_| "the scheduled functions are set twice")?;

    ready.store(true, Ordering::SeqCst);
    tracing::info!(endpoint = %manifest.endpoint, control_port = options.control_port, "FinFlow is running locally; Ctrl-C stops it");
    shutdown_signal().await?;
    tracing::info!("stopping");
    Ok(())
}

/// Scheduled functions, by binary name: what one invocation does.
fn scheduled_job(binary: &str, sdk: &SdkConfig, env: &Env) -> Option<Result<Job, ConfigError>> {
    if binary != "outbox-sweeper" {
        return None;
    }
    let build = || -> Result<Job, ConfigError> {
        let platform = PlatformConfig::load(env)?;
        let publisher = EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            platform.event_bus_name,
        );
        let rows = DynamoOutboxRows::new(aws_sdk_dynamodb::Client::new(sdk), platform.outbox_table);
        let sweeper = Arc::new(OutboxSweeper::new(
            Arc::new(publisher),
            Arc::new(rows),
            sweep_grace(env)?,
        ));
        Ok(Arc::new(move || {
            let sweeper = sweeper.clone();
            Box::pin(async move {
                let report = sweeper
                    .sweep(time::OffsetDateTime::now_utc())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(serde_json::to_value(report).expect("a sweep report serializes"))
            })
        }))
    };
    Some(build())
}

/// The timed runs of a scheduled function's enabled `Schedule` events.
fn function_schedules(
    logical_id: &str,
    function: &Arc<ScheduledFunction>,
    manifest: &Manifest,
) -> Result<Vec<impl std::future::Future<Output = ()> + use<>>, String> {
    let mut runs = Vec::new();
    for schedule in manifest.functions[logical_id]
        .schedules
        .iter()
        .filter(|s| s.enabled)
    {
        let period = schedules::rate(&schedule.expression)
            .map_err(|e| format!("{logical_id}.{}: {e}", schedule.name))?;
        runs.push(schedules::every(
            function.clone(),
            schedule.expression.clone(),
            period,
        ));
    }
    Ok(runs)
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
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}

fn service_port(name: &str) -> Result<(&'static str, u16), String> {
    SERVICES
        .iter()
        .find(|(service, _)| *service == name)
        .copied()
        .ok_or_else(|| format!("unknown service {name}; expected one of the seed's six"))
}
