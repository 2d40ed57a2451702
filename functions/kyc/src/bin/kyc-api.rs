//! Lambda entry point of KYC's API route group.

use finflow_kyc::entry_points::{SERVICE, api};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, api).await
}
