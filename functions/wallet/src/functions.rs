//! Builds each of wallet's Lambda functions from its configuration, for the binaries and the
//! local runner alike.

use std::sync::Arc;

use aws_config::SdkConfig;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;

use crate::customers::CustomerProjection;

pub const SERVICE: &str = "wallet";

/// The event consumer built as `binary`, or `None` when it is not one of wallet's consumers.
pub fn consumer(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Arc<dyn EventConsumer>, ConfigError>> {
    match binary {
        "wallet-user-events" => Some((|| {
            let platform = PlatformConfig::load(env)?;
            let projection = CustomerProjection::new(
                aws_sdk_dynamodb::Client::new(sdk),
                env.required("WALLET_TABLE")?,
                platform.idempotency_table,
            );
            Ok(Arc::new(projection) as Arc<dyn EventConsumer>)
        })()),
        _ => None,
    }
}
