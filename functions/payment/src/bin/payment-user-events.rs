//! Lambda entry point of payment's consumer of user events.

use finflow_payment::entry_points::{SERVICE, user_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, user_events).await
}
