//! Lambda entry point of wallet's api route group.

use finflow_wallet::entry_points::{SERVICE, api};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, api).await
}
