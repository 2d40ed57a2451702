//! Builds each of auth's Lambda functions from its configuration. The binaries in `src/bin`
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

use crate::accounts::Accounts;
use crate::authorizer::StaffAuthorizer;
use crate::kyc_decisions::KycDecisionConsumer;
use crate::routes::{AuthApiState, profile, session};
use crate::staff::StaffRoles;
use crate::store::DynamoUserStore;

pub const SERVICE: &str = "auth";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/auth.json");

/// Builds `auth-session`.
pub fn session(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    auth_state(sdk, env).map(session::routes)
}

/// Builds `auth-profile`.
pub fn profile(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    auth_state(sdk, env).map(profile::routes)
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of auth's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "auth-kyc-events" => Some(kyc_events),
        _ => None,
    }
}

/// Builds `auth-kyc-events`.
pub fn kyc_events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    PlatformConfig::load(env)?;
    let store = user_store(sdk, env)?;
    Ok(Arc::new(KycDecisionConsumer::new(Arc::new(store))))
}

/// The gateway's Lambda authorizer (`auth-authorizer`).
pub fn authorizer(sdk: &SdkConfig, env: &Env) -> Result<StaffAuthorizer, ConfigError> {
    Ok(StaffAuthorizer::new(
        Arc::new(user_store(sdk, env)?),
        TokenKeys::new(JwtSettings::load(env)?),
    ))
}

/// Staff grants and revocations for an operator's bootstrap command (`finflow staff`): only
/// the store's settings, since it issues no tokens.
pub fn staff_roles(sdk: &SdkConfig, env: &Env) -> Result<StaffRoles, ConfigError> {
    Ok(StaffRoles::new(Arc::new(user_store(sdk, env)?)))
}

fn user_store(sdk: &SdkConfig, env: &Env) -> Result<DynamoUserStore, ConfigError> {
    Ok(DynamoUserStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("USERS_TABLE")?,
        env.required("OUTBOX_TABLE")?,
        env.required("IDEMPOTENCY_TABLE")?,
    ))
}

fn auth_state(sdk: &SdkConfig, env: &Env) -> Result<AuthApiState, ConfigError> {
    let store = Arc::new(user_store(sdk, env)?);
    let keys = TokenKeys::new(JwtSettings::load(env)?);
    Ok(AuthApiState {
        accounts: Arc::new(Accounts::new(store.clone(), keys.clone())),
        staff_roles: Arc::new(StaffRoles::new(store)),
        keys,
    })
}

/// Builds `auth-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(HealthChecks::new(sdk)
        .table(env.required("USERS_TABLE")?)
        .table(platform.outbox_table)
        .bus(platform.event_bus_name)
        .queue("auth-kyc-events", env.required("KYC_EVENTS_QUEUE_URL")?)
        .queue("auth-kyc-events-dlq", env.required("KYC_EVENTS_DLQ_URL")?)
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
