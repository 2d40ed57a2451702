//! Builds each of auth's Lambda functions from its configuration. The binaries in `src/bin`
//! and the local runner both call these, so both serve exactly the same handlers.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::health::{EventBusProbe, Probe, TableProbe};
use finflow_shared::jwt::TokenKeys;

use crate::accounts::Accounts;
use crate::routes::health::HealthState;
use crate::routes::{AuthState, health, profile, session};
use crate::store::DynamoUserStore;

pub const SERVICE: &str = "auth";

/// The routes (relative to `/api`) of the HTTP function built as `binary`, or `None` when
/// `binary` is not one of auth's HTTP functions.
pub fn http_routes(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Router, ConfigError>> {
    let build = match binary {
        "auth-session" => |sdk: &SdkConfig, env: &Env| auth_state(sdk, env).map(session::routes),
        "auth-profile" => |sdk: &SdkConfig, env: &Env| auth_state(sdk, env).map(profile::routes),
        "auth-health" => |sdk: &SdkConfig, env: &Env| health_state(sdk, env).map(health::routes),
        _ => return None,
    };
    Some(build(sdk, env))
}

fn auth_state(sdk: &SdkConfig, env: &Env) -> Result<AuthState, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let store = DynamoUserStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("USERS_TABLE")?,
        platform.outbox_table.clone(),
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

fn health_state(sdk: &SdkConfig, env: &Env) -> Result<HealthState, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let probes: Vec<Box<dyn Probe>> = vec![
        Box::new(TableProbe {
            client: dynamo.clone(),
            table: env.required("USERS_TABLE")?,
        }),
        Box::new(TableProbe {
            client: dynamo,
            table: platform.outbox_table,
        }),
        Box::new(EventBusProbe {
            client: aws_sdk_eventbridge::Client::new(sdk),
            bus_name: platform.event_bus_name,
        }),
    ];
    Ok(HealthState {
        probes: Arc::new(probes),
    })
}
