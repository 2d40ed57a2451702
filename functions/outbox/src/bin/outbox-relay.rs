//! Lambda entry point of the outbox relay, fed by the outbox table's DynamoDB stream.

use std::sync::Arc;

use finflow_shared::config::{Env, PlatformConfig, aws_sdk_config};
use finflow_shared::events::EventBridgePublisher;
use finflow_shared::outbox::{DynamoOutboxRows, OutboxRelay};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init("outbox-relay");
    let config = PlatformConfig::load(&Env::process())?;
    let sdk = aws_sdk_config().await;
    let publisher = EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        config.event_bus_name,
    );
    let rows = DynamoOutboxRows::new(aws_sdk_dynamodb::Client::new(&sdk), config.outbox_table);
    finflow_shared::runtime::run_relay(
        metrics,
        Arc::new(OutboxRelay::new(Arc::new(publisher), Arc::new(rows))),
    )
    .await
}
