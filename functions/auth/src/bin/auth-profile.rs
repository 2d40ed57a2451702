//! Lambda entry point of auth's profile route group.

use finflow_shared::config::{Env, aws_sdk_config};
use finflow_shared::http::into_app;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_auth::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let routes = finflow_auth::entry_points::http_routes(
        "auth-profile",
        &sdk,
        &Env::process().with_secrets(&sdk).await?,
    )
    .expect("auth-profile is one of auth's HTTP functions")?;
    finflow_shared::runtime::run_http(
        metrics,
        into_app(finflow_auth::entry_points::SERVICE, routes),
    )
    .await
}
