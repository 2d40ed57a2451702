//! Lambda entry point of notification's consumer of every cascade event.

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_notification::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_notification::entry_points::consumer(
        "notification-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("notification-events is one of notification's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
