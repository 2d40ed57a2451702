//! Auth's health: its users table, the outbox it writes events to, and the bus behind it.

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
        .route("/auth/health", get(health))
        .with_state(state)
}

async fn health(State(state): State<HealthState>) -> HealthReport {
    report("auth", &state.probes).await
}
