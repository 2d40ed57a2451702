//! Builds each of KYC's Lambda functions from its configuration. The binaries in `src/bin`
//! call these (locally too: the runner runs those binaries), as do the contract tools.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::health::HealthChecks;
use finflow_shared::http::document_route;
use finflow_shared::jwt::{JwtSettings, TokenKeys};
use finflow_shared::runtime::BuildConsumer;

use crate::aml::cases::AmlCases;
use crate::aml::monitoring::AmlMonitoring;
use crate::aml::store::DynamoAmlStore;
use crate::registrations::RegistrationProjection;
use crate::routes::{AmlApiState, KycApiState, aml, api};
use crate::store::DynamoKycStore;
use crate::submissions::Submissions;

pub const SERVICE: &str = "kyc";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/kyc.json");

/// Builds `kyc-api`.
pub fn api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    api_state(sdk, env).map(api::routes)
}

/// Builds `kyc-aml-api`.
pub fn aml_api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    aml_state(sdk, env).map(aml::routes)
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of KYC's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "kyc-user-events" => Some(user_events),
        "kyc-payment-events" => Some(payment_events),
        _ => None,
    }
}

/// Builds `kyc-user-events`.
pub fn user_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    Ok(Arc::new(RegistrationProjection::new(Arc::new(store(
        sdk, env,
    )?))))
}

/// Builds `kyc-payment-events`.
pub fn payment_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    Ok(Arc::new(AmlMonitoring::new(Arc::new(aml_store(sdk, env)?))))
}

fn store(sdk: &SdkConfig, env: &Env) -> Result<DynamoKycStore, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(DynamoKycStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("KYC_TABLE")?,
        platform.outbox_table,
        platform.idempotency_table,
    ))
}

fn api_state(sdk: &SdkConfig, env: &Env) -> Result<KycApiState, ConfigError> {
    Ok(KycApiState {
        submissions: Arc::new(Submissions::new(Arc::new(store(sdk, env)?))),
        keys: TokenKeys::new(JwtSettings::load(env)?),
    })
}

fn aml_store(sdk: &SdkConfig, env: &Env) -> Result<DynamoAmlStore, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(DynamoAmlStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("KYC_TABLE")?,
        platform.outbox_table,
        platform.idempotency_table,
    ))
}

fn aml_state(sdk: &SdkConfig, env: &Env) -> Result<AmlApiState, ConfigError> {
    Ok(AmlApiState {
        cases: Arc::new(AmlCases::new(Arc::new(aml_store(sdk, env)?))),
        keys: TokenKeys::new(JwtSettings::load(env)?),
    })
}

/// Builds `kyc-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(HealthChecks::new(sdk)
        .table(env.required("KYC_TABLE")?)
        .table(platform.outbox_table)
        .bus(platform.event_bus_name)
        .queue("kyc-user-events", env.required("USER_EVENTS_QUEUE_URL")?)
        .queue("kyc-user-events-dlq", env.required("USER_EVENTS_DLQ_URL")?)
        .queue(
            "kyc-payment-events",
            env.required("PAYMENT_EVENTS_QUEUE_URL")?,
        )
        .queue(
            "kyc-payment-events-dlq",
            env.required("PAYMENT_EVENTS_DLQ_URL")?,
        )
        .upstream("auth", platform.api_base_url.as_deref())
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
