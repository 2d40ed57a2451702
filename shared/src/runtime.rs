//! What a Lambda entry point calls after building its handler once per cold start. Every
//! invocation runs in the runtime's span (`requestId`, see `crate::telemetry::logs`) and ends by
//! flushing the metrics it recorded (`crate::telemetry::metrics`).

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use axum::Router;
use lambda_runtime::{Error, LambdaEvent};
use metrics_cloudwatch_embedded::lambda::service;

use crate::consumer::{EventConsumer, consume_batch};
use crate::outbox::{OutboxRelay, OutboxSweeper};
use crate::telemetry::Metrics;

/// Serves an HTTP app behind API Gateway.
pub async fn run_http(metrics: Metrics, app: Router) -> Result<(), Error> {
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
pub async fn run_consumer(metrics: Metrics, consumer: Arc<dyn EventConsumer>) -> Result<(), Error> {
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
