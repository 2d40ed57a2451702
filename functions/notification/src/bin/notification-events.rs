//! Lambda entry point of notification's consumer of every cascade event.

use finflow_notification::entry_points::{SERVICE, events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, events).await
}
