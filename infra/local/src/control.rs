//! The runner's control port: readiness for scripts and tests, and the fault switch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::FaultSwitch;

#[derive(Clone)]
pub struct ControlState {
    pub ready: Arc<AtomicBool>,
    pub faults: Arc<FaultSwitch>,
}

pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/ready", get(ready))
        .route(
            "/faults/publish",
            post(set_publish_faults).get(publish_faults),
        )
        .with_state(state)
}

async fn ready(State(state): State<ControlState>) -> (StatusCode, Json<Value>) {
    let ready = state.ready.load(Ordering::SeqCst);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready })))
}

#[derive(Deserialize)]
struct PublishFaults {
    fail_next: u32,
}

async fn set_publish_faults(
    State(state): State<ControlState>,
    Json(body): Json<PublishFaults>,
) -> Json<Value> {
    state.faults.fail_next_publishes(body.fail_next);
    tracing::warn!(fail_next = body.fail_next, "publish faults armed");
    publish_faults(State(state)).await
}

async fn publish_faults(State(state): State<ControlState>) -> Json<Value> {
    let (armed, injected) = state.faults.status();
    Json(json!({ "fail_next": armed, "injected": injected }))
}
