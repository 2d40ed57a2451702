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
use finflow_shared::runtime::BuildConsumer;

use crate::projector::Projector;
use crate::reports::Reports;
use crate::routes::{ReportingApiState, api};
use crate::store::DynamoReportingStore;

pub const SERVICE: &str = "reporting";

/// The service\'s OpenAPI document, served by its health function.
const OPENAPI_DOCUMENT: &str = include_str!("../../../events/openapi/reporting.json");

/// Builds `reporting-api`.
pub fn api(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
    api_state(sdk, env).map(api::routes)
}

/// The builder of the consumer function built as `binary` (the contract tools find consumers
/// by name; each binary calls its own builder), or `None` when `binary` is not one of reporting's.
pub fn consumer(binary: &str) -> Option<BuildConsumer> {
    match binary {
        "reporting-events" => Some(events),
        "reporting-rebuild" => Some(rebuild),
        _ => None,
    }
}

/// Builds `reporting-events`.
pub fn events(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    Ok(Arc::new(Projector::live(Arc::new(store(sdk, env)?))))
}

/// Builds `reporting-rebuild`: the same projector over REPORTING_TABLE = the rebuild table
/// (template.yaml).
pub fn rebuild(sdk: &SdkConfig, env: &Env) -> Result<Arc<dyn EventConsumer>, ConfigError> {
    Ok(Arc::new(Projector::rebuild(Arc::new(store(sdk, env)?))))
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
/// Builds `reporting-health`.
pub fn health(sdk: &SdkConfig, env: &Env) -> Result<Router, ConfigError> {
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
