//! Lambda entry point of reporting's health route group.

use finflow_reporting::entry_points::{SERVICE, health};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, health).await
}
