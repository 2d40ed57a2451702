//! Lambda entry point of payment's consumer of user events.

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_payment::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_payment::entry_points::consumer(
        "payment-user-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("payment-user-events is one of payment's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
