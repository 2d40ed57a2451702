//! Lambda entry point of reporting's projector of every cascade event.

use finflow_reporting::entry_points::{SERVICE, events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, events).await
}
