//! Builds each of reporting's Lambda functions from its configuration, for the binaries in
//! `src/bin` (which the local runner runs too) and the contract tools.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use finflow_shared::config::{ConfigError, Env, PlatformConfig};
use finflow_shared::consumer::EventConsumer;
use finflow_shared::health::HealthChecks;
use finflow_shared::http::document_route;
use finflow_shared::jwt::{JwtSettings, TokenKeys};

use crate::projector::Projector;
use crate::reports::Reports;
use crate::routes::{ReportingApiState, api};
use crate::store::DynamoReportingStore;

pub const SERVICE: &str = "reporting";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/reporting.json");

/// The routes (relative to `/api`) of the HTTP function built as `binary`, or `None` when
/// `binary` is not one of reporting's HTTP functions.
pub fn http_routes(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Router, ConfigError>> {
    match binary {
        "reporting-api" => Some(api_state(sdk, env).map(api::routes)),
        "reporting-health" => Some(health(sdk, env)),
        _ => None,
    }
}

/// The event consumer built as `binary`, or `None` when it is not one of reporting's.
pub fn consumer(
    binary: &str,
    sdk: &SdkConfig,
    env: &Env,
) -> Option<Result<Arc<dyn EventConsumer>, ConfigError>> {
    match binary {
        "reporting-events" => {
            Some(store(sdk, env).map(|store| Arc::new(Projector::live(Arc::new(store))) as _))
        }
        // The same projector over REPORTING_TABLE = the rebuild table (template.yaml).
        "reporting-rebuild" => {
            Some(store(sdk, env).map(|store| Arc::new(Projector::rebuild(Arc::new(store))) as _))
        }
        _ => None,
    }
}

fn store(sdk: &SdkConfig, env: &Env) -> Result<DynamoReportingStore, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    Ok(DynamoReportingStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("REPORTING_TABLE")?,
        platform.idempotency_table,
    ))
}

fn api_state(sdk: &SdkConfig, env: &Env) -> Result<ReportingApiState, ConfigError> {
    Ok(ReportingApiState {
        reports: Arc::new(Reports::new(Arc::new(store(sdk, env)?))),
        keys: TokenKeys::new(JwtSettings::load(env)?),
    })
}

/// Reporting emits nothing, so it has no outbox to check; it reads every service's events,
/// and wallet, payment and KYC each report auth through their own upstream check.
fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    let platform = PlatformConfig::load(env)?;
    let api = platform.api_base_url.as_deref();
    Ok(HealthChecks::new(sdk)
        .table(env.required("REPORTING_TABLE")?)
        .bus(platform.event_bus_name)
        .queue("reporting-events", env.required("EVENTS_QUEUE_URL")?)
        .queue("reporting-events-dlq", env.required("EVENTS_DLQ_URL")?)
        .upstream("wallet", api)
        .upstream("payment", api)
        .upstream("kyc", api)
        .routes(SERVICE)
        .merge(document_route(SERVICE, OPENAPI_DOCUMENT)))
}
