//! Lambda entry point of auth's session route group.

use finflow_auth::entry_points::{SERVICE, session};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, session).await
}
