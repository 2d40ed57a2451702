//! Lambda entry point of reporting's api route group.

use finflow_reporting::entry_points::{SERVICE, api};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, api).await
}
