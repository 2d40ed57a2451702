//! Lambda entry point of auth's consumer of `kyc.decision_recorded` (the reverse cascade).

use finflow_auth::entry_points::{SERVICE, kyc_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, kyc_events).await
}
