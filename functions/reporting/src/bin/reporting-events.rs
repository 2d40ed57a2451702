//! Lambda entry point of reporting's projector of every cascade event.

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_reporting::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_reporting::entry_points::consumer(
        "reporting-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("reporting-events is one of reporting's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
