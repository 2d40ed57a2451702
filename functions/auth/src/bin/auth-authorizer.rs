//! Lambda entry point of the gateway's authorizer: confirms staff tokens against auth's table.

use std::sync::Arc;

use finflow_shared::config::{Env, aws_sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let metrics = finflow_shared::telemetry::init(finflow_auth::entry_points::SERVICE);
    let sdk = aws_sdk_config().await;
    let authorizer =
        finflow_auth::entry_points::authorizer(&sdk, &Env::process().with_secrets(&sdk).await?)?;
    Arc::new(authorizer).serve(metrics).await
}
