//! Lambda entry point of reporting's rebuild: the projector over archive replays
//! (`finflow replay reporting`), writing into the rebuild table.

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_reporting::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_reporting::entry_points::consumer(
        "reporting-rebuild",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("reporting-rebuild is one of reporting's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
