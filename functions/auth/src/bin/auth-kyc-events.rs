//! Lambda entry point of auth's consumer of `kyc.decision_recorded` (the reverse cascade).

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_auth::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_auth::entry_points::consumer(
        "auth-kyc-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("auth-kyc-events is one of auth's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
