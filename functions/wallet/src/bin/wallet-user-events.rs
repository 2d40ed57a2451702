//! Lambda entry point of wallet's consumer of `user.*` events.

use finflow_wallet::entry_points::{SERVICE, user_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, user_events).await
}
