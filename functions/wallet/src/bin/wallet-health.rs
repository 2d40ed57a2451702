//! Lambda entry point of wallet's health route group.

use finflow_shared::config::{Env, aws_sdk_config};
use finflow_shared::http::into_app;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_wallet::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let routes = finflow_wallet::entry_points::http_routes(
        "wallet-health",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("wallet-health is one of wallet's HTTP functions")?;
    finflow_shared::runtime::run_http(
        metrics,
        into_app(finflow_wallet::entry_points::SERVICE, routes),
    )
    .await
}
