//! Lambda entry point of payment's consumer of aml events.

use finflow_payment::entry_points::{SERVICE, aml_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, aml_events).await
}
