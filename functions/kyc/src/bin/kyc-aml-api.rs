//! Lambda entry point of KYC's AML route group (compliance cases and activity).

use finflow_kyc::entry_points::{SERVICE, aml_api};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_http(SERVICE, aml_api).await
}
