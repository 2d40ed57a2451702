//! Lambda entry point of KYC's AML monitoring of payment events (velocity state, cases).

use finflow_kyc::entry_points::{SERVICE, payment_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, payment_events).await
}
