//! Builds each of payment's Lambda functions from its configuration, for the binaries in `src/bin`
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
use finflow_shared::user_projection::UserProjection;

use crate::routes::{PaymentApiState, api};
use crate::service::PaymentService;
use crate::settlement::AmlDecisions;
use crate::store::DynamoPaymentStore;

pub const SERVICE: &str = "payment";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/payment.json");
/// Payment's consumer of `user.*` events (the payer's tier sets the limits).
pub const CUSTOMERS_CONSUMER: &str = "payment.customers";

/// Builds `payment-api`.
pub fn api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let payments = payments(sdk, env)?;
    crate::metrics::describe();
    Ok(api::routes(PaymentApiState {
        payments,
        keys: TokenKeys::new(JwtSettings::load(env)?),
    }))
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of payment's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "payment-user-events" => Some(user_events),
        "payment-aml-events" => Some(aml_events),
        _ => None,
    }
}

/// Builds `payment-user-events`.
pub fn user_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let projection = UserProjection::new(
        CUSTOMERS_CONSUMER,
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("PAYMENT_TABLE")?,
        platform.idempotency_table,
    );
    Ok(Arc::new(projection))
}

/// Builds `payment-aml-events`.
pub fn aml_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    Ok(Arc::new(AmlDecisions {
        payments: payments(sdk, env)?,
    }))
}

fn payments(sdk: &SdkConfig, env: &Env) -> Result<Arc<PaymentService>, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let store = DynamoPaymentStore::new(
        dynamo.clone(),
        env.required("PAYMENT_TABLE")?,
        env.required("WALLET_TABLE")?,
        platform.outbox_table,
        platform.idempotency_table.clone(),
    );
    Ok(Arc::new(PaymentService::new(
        Arc::new(store),
        IdempotencyStore::new(dynamo, platform.idempotency_table),
    )))
}

/// Builds `payment-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(HealthChecks::new(sdk)
        .table(env.required("PAYMENT_TABLE")?)
        .table(env.required("WALLET_TABLE")?)
        .table(platform.outbox_table)
        .bus(platform.event_bus_name)
        .queue(
            "payment-user-events",
            env.required("USER_EVENTS_QUEUE_URL")?,
        )
        .queue(
            "payment-user-events-dlq",
            env.required("USER_EVENTS_DLQ_URL")?,
        )
        .queue("payment-aml-events", env.required("AML_EVENTS_QUEUE_URL")?)
        .queue(
            "payment-aml-events-dlq",
            env.required("AML_EVENTS_DLQ_URL")?,
        )
        .upstream("auth", platform.api_base_url.as_deref())
        .upstream("wallet", platform.api_base_url.as_deref())
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
