//! Lambda entry point of KYC's AML monitoring of payment events (velocity state, cases).

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_kyc::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let consumer = finflow_kyc::entry_points::consumer(
        "kyc-payment-events",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("kyc-payment-events is one of KYC's consumers")?;
    finflow_shared::runtime::run_consumer(metrics, consumer).await
}
