//! Lambda entry point of the outbox sweeper, run on a schedule: publishes the outbox rows the
//! stream did not (see `finflow_shared::outbox::OutboxSweeper`).

use std::sync::Arc;

use finflow_shared::config::{Env, PlatformConfig, aws_sdk_config};
use finflow_shared::events::EventBridgePublisher;
use finflow_shared::outbox::{DynamoOutboxRows, OutboxSweeper, sweep_grace};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init("outbox-sweeper");
    let env = Env::process();
    let config = PlatformConfig::load(&env)?;
    let sdk = aws_sdk_config().await;
    let publisher = EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        config.event_bus_name,
    );
    let rows = DynamoOutboxRows::new(aws_sdk_dynamodb::Client::new(&sdk), config.outbox_table);
    let sweeper = OutboxSweeper::new(Arc::new(publisher), Arc::new(rows), sweep_grace(&env)?);
    finflow_shared::runtime::run_sweeper(metrics, Arc::new(sweeper)).await
}
