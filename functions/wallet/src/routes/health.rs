//! Wallet's health: its table, the outbox, the bus, its event queue and DLQ, and auth upstream.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use finflow_shared::health::{HealthReport, Probe, report};

#[derive(Clone)]
pub struct HealthState {
    pub probes: Arc<Vec<Box<dyn Probe>>>,
}

pub fn routes(state: HealthState) -> Router {
    Router::new()
        .route("/wallet/health", get(health))
        .with_state(state)
}

async fn health(State(state): State<HealthState>) -> HealthReport {
    report("wallet", &state.probes).await
}
