//! What a Lambda entry point calls after building its handler once per cold start.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::SqsEvent;
use axum::Router;
use lambda_runtime::{Error, LambdaEvent, service_fn};

use crate::consumer::{EventConsumer, consume_batch};
use crate::outbox::{OutboxRelay, OutboxSweeper, sweep_metrics};

/// Serves an HTTP app behind API Gateway.
pub async fn run_http(app: Router) -> Result<(), Error> {
    lambda_http::run(app).await
}

/// Runs an SQS event consumer that reports partial batch failures.
pub async fn run_consumer(consumer: Arc<dyn EventConsumer>) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let consumer = consumer.clone();
        async move { Ok::<_, Error>(consume_batch(consumer.as_ref(), event.payload).await) }
    }))
    .await
}

/// Runs the outbox relay on the outbox table's stream.
pub async fn run_relay(relay: Arc<OutboxRelay>) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let relay = relay.clone();
        async move { Ok::<_, Error>(relay.relay(event.payload).await) }
    }))
    .await
}

/// Runs the outbox sweeper on its schedule (an EventBridge scheduled event, whose content it
/// ignores). Answers the sweep's figures, and prints them as embedded metrics.
pub async fn run_sweeper(sweeper: Arc<OutboxSweeper>, stage: String) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let (sweeper, stage) = (sweeper.clone(), stage.clone());
        async move {
            let now = time::OffsetDateTime::now_utc();
            let report = sweeper.sweep(now).await?;
            println!("{}", sweep_metrics(&report, now, &stage));
            Ok::<_, Error>(report)
        }
    }))
    .await
}
