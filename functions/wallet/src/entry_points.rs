//! Builds each of wallet's Lambda functions from its configuration, for the binaries in `src/bin`
//! (which the local runner runs too) and the contract tools.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::health::HealthChecks;
use finflow_shared::http::document_route;
use finflow_shared::idempotency::IdempotencyStore;
use finflow_shared::jwt::{JwtSettings, TokenKeys};
use finflow_shared::runtime::BuildConsumer;

use crate::routes::{WalletApiState, api};
use crate::service::WalletService;
use crate::store::DynamoWalletStore;
use finflow_shared::user_projection::UserProjection;

pub const SERVICE: &str = "wallet";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/wallet.json");
/// Wallet's consumer of `user.*` events.
pub const CUSTOMERS_CONSUMER: &str = "wallet.customers";

/// Builds `wallet-api`.
pub fn api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    wallet_state(sdk, env).map(api::routes)
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of wallet's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "wallet-user-events" => Some(user_events),
        _ => None,
    }
}

/// Builds `wallet-user-events`.
pub fn user_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let projection = UserProjection::new(
        CUSTOMERS_CONSUMER,
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("WALLET_TABLE")?,
        platform.idempotency_table,
    );
    Ok(Arc::new(projection))
}

fn wallet_state(sdk: &SdkConfig, env: &Env) -> Result<WalletApiState, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let store = DynamoWalletStore::new(
        dynamo.clone(),
        env.required("WALLET_TABLE")?,
        platform.outbox_table.clone(),
    );
    let idempotency = IdempotencyStore::new(dynamo, platform.idempotency_table.clone());
    Ok(WalletApiState {
        wallets: Arc::new(WalletService::new(Arc::new(store), idempotency)),
        keys: TokenKeys::new(JwtSettings::load(env)?),
    })
}

/// Builds `wallet-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(HealthChecks::new(sdk)
        .table(env.required("WALLET_TABLE")?)
        .table(platform.outbox_table)
        .bus(platform.event_bus_name)
        .queue("wallet-user-events", env.required("USER_EVENTS_QUEUE_URL")?)
        .queue(
            "wallet-user-events-dlq",
            env.required("USER_EVENTS_DLQ_URL")?,
        )
        .upstream("auth", platform.api_base_url.as_deref())
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
