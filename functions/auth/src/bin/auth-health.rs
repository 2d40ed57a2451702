//! Lambda entry point of auth's health route group.

use finflow_auth::entry_points::{SERVICE, health};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, health).await
}
