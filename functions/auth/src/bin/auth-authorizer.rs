//! Lambda entry point of the gateway's authorizer: confirms staff tokens against auth's table.

use std::sync::Arc;

use finflow_auth::entry_points::{SERVICE, authorizer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (metrics, sdk, env) = finflow_shared::runtime::start(SERVICE).await?;
    Arc::new(authorizer(&sdk, &env)?).serve(metrics).await
}
