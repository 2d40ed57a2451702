//! Lambda entry point of wallet's consumer of `user.*` events.

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_wallet::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_wallet::entry_points::consumer(
        "wallet-user-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("wallet-user-events is one of wallet's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
