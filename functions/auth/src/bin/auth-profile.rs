//! Lambda entry point of auth's profile route group.

use finflow_auth::entry_points::{SERVICE, profile};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, profile).await
}
