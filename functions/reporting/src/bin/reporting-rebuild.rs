//! Lambda entry point of reporting's rebuild: the projector over archive replays

use finflow_reporting::entry_points::{SERVICE, rebuild};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    finflow_shared::runtime::serve_consumer(SERVICE, rebuild).await
}
