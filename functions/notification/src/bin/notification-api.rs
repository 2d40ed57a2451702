//! Lambda entry point of notification's api route group (preferences, list).

use finflow_notification::entry_points::{SERVICE, api};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, api).await
}
