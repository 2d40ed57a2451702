//! What a Lambda entry point calls after building its handler once per cold start. Every
//! invocation runs in the runtime's span (`requestId`, see `crate::telemetry::logs`) and ends by
//! flushing the metrics it recorded (`crate::telemetry::metrics`).
//!
//! An HTTP or consumer function's whole `main` is [`serve_http`] or [`serve_consumer`] with the
//! builder of that one function. The builder is named, not looked up by the binary's name: a
//! lookup would link every function of the service into each bootstrap (the API functions
//! carried their health checks' HTTP client and SQS and EventBridge clients, and the other way
//! round; README, "Artifact size").

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use axum::Router;
use lambda_runtime::{Error, LambdaEvent};
use metrics_cloudwatch_embedded::lambda::service;

use crate::config::{ConfigError, Env, aws_sdk_config};
use crate::consumer::{EventConsumer, consume_batch};
use crate::outbox::{OutboxRelay, OutboxSweeper};
use crate::telemetry::Metrics;

/// Builds one HTTP function's routes (relative to `/api`) from its configuration.
pub type BuildRoutes = fn(&SdkConfig, &Env) -> Result<Router, ConfigError>;

/// Builds one consumer function's consumer from its configuration.
pub type BuildConsumer = fn(&SdkConfig, &Env) -> Result<Arc<dyn EventConsumer>, ConfigError>;

/// What a function of `service` sets up once per cold start, before it builds its handler:
/// telemetry, the SDK's configuration, and the process environment with its secrets read.
pub async fn start(service: &'static str) -> Result<(Metrics, SdkConfig, Env), Error> {
    let metrics = crate::telemetry::init(service);
    let sdk = aws_sdk_config().await;
    let env = Env::process().with_secrets(&sdk).await?;
    Ok((metrics, sdk, env))
}

/// The `main` of `service`'s HTTP function that `build` builds: [`start`], then the app
/// behind API Gateway.
pub async fn serve_http(service: &'static str, build: BuildRoutes) -> Result<(), Error> {
    let (metrics, sdk, env) = start(service).await?;
    let routes = build(&sdk, &env)?;
    run_http(metrics, crate::http::into_app(service, routes)).await
}

/// The `main` of `service`'s consumer function that `build` builds.
pub async fn serve_consumer(service: &'static str, build: BuildConsumer) -> Result<(), Error> {
    let (metrics, sdk, env) = start(service).await?;
    run_consumer(metrics, build(&sdk, &env)?).await
}

/// Serves an HTTP app behind API Gateway.
async fn run_http(metrics: Metrics, app: Router) -> Result<(), Error> {
    service::run_http(metrics.collector(), app).await
}

/// Runs a handler of Lambda events (every kind but HTTP: SQS, the outbox stream, the
/// schedule, the gateway's authorizer).
pub async fn run_events<Event, Answer, Handler, Answered>(
    metrics: Metrics,
    handler: Handler,
) -> Result<(), Error>
where
    Handler: FnMut(LambdaEvent<Event>) -> Answered,
    Answered: Future<Output = Result<Answer, Error>>,
    Event: serde::de::DeserializeOwned,
    Answer: serde::Serialize,
{
    metrics_cloudwatch_embedded::lambda::handler::run(metrics.collector(), handler).await
}

/// Runs an SQS event consumer that reports partial batch failures.
async fn run_consumer(metrics: Metrics, consumer: Arc<dyn EventConsumer>) -> Result<(), Error> {
    run_events(metrics, move |event: LambdaEvent<SqsEvent>| {
        let consumer = consumer.clone();
        async move { Ok::<_, Error>(consume_batch(consumer.as_ref(), event.payload).await) }
    })
    .await
}

/// Runs the outbox relay on the outbox table's stream.
pub async fn run_relay(metrics: Metrics, relay: Arc<OutboxRelay>) -> Result<(), Error> {
    run_events(metrics, move |event: LambdaEvent<StreamEvent>| {
        let relay = relay.clone();
        async move { Ok::<_, Error>(relay.relay(event.payload).await) }
    })
    .await
}

/// Runs the outbox sweeper on its schedule (an EventBridge scheduled event, whose content it
/// ignores), and answers the sweep's figures.
pub async fn run_sweeper(metrics: Metrics, sweeper: Arc<OutboxSweeper>) -> Result<(), Error> {
    run_events(metrics, move |_: LambdaEvent<serde_json::Value>| {
        let sweeper = sweeper.clone();
        async move { Ok::<_, Error>(sweeper.sweep(time::OffsetDateTime::now_utc()).await?) }
    })
    .await
}
