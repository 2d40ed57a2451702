//! Builds each of auth's Lambda functions from its configuration. The binaries in `src/bin`
//! call these (locally too: the runner runs those binaries), as do the contract tools.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::health::HealthChecks;
use finflow_shared::jwt::TokenKeys;

use crate::accounts::Accounts;
use crate::kyc_decisions::KycDecisionConsumer;
use crate::routes::{AuthState, profile, session};
use crate::store::DynamoUserStore;

pub const SERVICE: &str = "auth";

/// The routes (relative to `/api`) of the HTTP function built as `binary`, or `None` when
/// `binary` is not one of auth's HTTP functions.
pub fn http_routes(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Router, ConfigError>> {
    match binary {
        "auth-session" => Some(auth_state(sdk, env).map(session::routes)),
        "auth-profile" => Some(auth_state(sdk, env).map(profile::routes)),
        "auth-health" => Some(health(sdk, env)),
        _ => None,
    }
}

/// The event consumer built as `binary`, or `None` when it is not one of auth's consumers.
pub fn consumer(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Arc<dyn EventConsumer>, ConfigError>> {
    match binary {
        "auth-kyc-events" => Some((|| {
            let platform = PlatformConfig::load(env)?;
            let store = DynamoUserStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                env.required("USERS_TABLE")?,
                platform.outbox_table,
                platform.idempotency_table,
            );
            Ok(Arc::new(KycDecisionConsumer::new(Arc::new(store))) as Arc<dyn EventConsumer>)
        })()),
        _ => None,
    }
}

fn auth_state(sdk: &SdkConfig, env: &Env) -> Result<AuthState, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let store = DynamoUserStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("USERS_TABLE")?,
        platform.outbox_table.clone(),
        platform.idempotency_table.clone(),
    );
    let keys = TokenKeys::new(platform.jwt.clone());
    Ok(AuthState {
        accounts: Arc::new(Accounts::new(
            Arc::new(store),
            keys.clone(),
            platform.staff_emails,
        )),
        keys,
    })
}

fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(HealthChecks::new(sdk)
        .table(env.required("USERS_TABLE")?)
        .table(platform.outbox_table)
        .bus(platform.event_bus_name)
        .queue("auth-kyc-events", env.required("KYC_EVENTS_QUEUE_URL")?)
        .queue("auth-kyc-events-dlq", env.required("KYC_EVENTS_DLQ_URL")?)
        .routes(SERVICE))
}
