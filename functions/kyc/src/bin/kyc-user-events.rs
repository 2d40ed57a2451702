//! Lambda entry point of KYC's consumer of `user.created` (registration times).

use finflow_kyc::entry_points::{SERVICE, user_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, user_events).await
}
