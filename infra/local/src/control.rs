//! The runner's control port: readiness for scripts and tests, the fault switches (test-only
//! faults: dropped stream records, AWS faults in every function's calls, consumer crashes)
//! and running a scheduled function now.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use finflow_shared::aws_faults::FaultPlan;

use crate::faults::{AwsFaults, ConsumerCrashes, CrashPlan, FaultSwitch};
use crate::schedules::ScheduledFunction;

#[derive(Clone)]
pub struct ControlState {
    pub ready: Arc<AtomicBool>,
    pub faults: Arc<FaultSwitch>,
    pub aws_faults: Arc<AwsFaults>,
    pub crashes: Arc<ConsumerCrashes>,
    /// Scheduled functions by binary name, once every function is built.
    pub schedules: Arc<OnceLock<BTreeMap<String, Arc<ScheduledFunction>>>>,
}

pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/ready", get(ready))
        .route("/faults/stream", post(set_stream_faults).get(stream_faults))
        .route(
            "/faults/aws",
            put(arm_aws_faults)
                .get(aws_faults)
                .delete(disarm_aws_faults),
        )
        .route(
            "/faults/consumers",
            put(arm_crashes).get(crashes).delete(disarm_crashes),
        )
        .route("/schedules/{binary}/run", post(run_schedule))
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
struct StreamFaults {
    drop_next: u32,
}

/// Test-only: the stream poller drops the next `drop_next` new outbox records.
async fn set_stream_faults(
    State(state): State<ControlState>,
    Json(body): Json<StreamFaults>,
) -> Json<Value> {
    state.faults.drop_next_stream_records(body.drop_next);
    tracing::warn!(drop_next = body.drop_next, "stream record drops armed");
    stream_faults(State(state)).await
}

async fn stream_faults(State(state): State<ControlState>) -> Json<Value> {
    let (armed, dropped) = state.faults.stream_status();
    Json(json!({ "drop_next": armed, "dropped": dropped }))
}

/// Test-only: every function's AWS calls follow `plan` (see `finflow_shared::aws_faults`).
async fn arm_aws_faults(
    State(state): State<ControlState>,
    Json(plan): Json<FaultPlan>,
) -> (StatusCode, Json<Value>) {
    match state.aws_faults.arm(&plan) {
        Ok(()) => {
            tracing::warn!(
                seed = plan.seed,
                rules = plan.rules.len(),
                "aws faults armed"
            );
            (StatusCode::OK, aws_faults(State(state)).await)
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": error.to_string() })),
        ),
    }
}

async fn aws_faults(State(state): State<ControlState>) -> Json<Value> {
    Json(json!({
        "plan": state.aws_faults.plan(),
        "plan_file": state.aws_faults.plan_file,
    }))
}

async fn disarm_aws_faults(State(state): State<ControlState>) -> (StatusCode, Json<Value>) {
    match state.aws_faults.disarm() {
        Ok(()) => {
            tracing::warn!("aws faults disarmed");
            (StatusCode::OK, aws_faults(State(state)).await)
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": error.to_string() })),
        ),
    }
}

/// Test-only: consumers crash after running a batch, with this probability.
async fn arm_crashes(
    State(state): State<ControlState>,
    Json(plan): Json<CrashPlan>,
) -> Json<Value> {
    state.crashes.arm(Some(plan));
    tracing::warn!(
        seed = plan.seed,
        crash_probability = plan.crash_probability,
        "consumer crashes armed"
    );
    crashes(State(state)).await
}

async fn crashes(State(state): State<ControlState>) -> Json<Value> {
    let (plan, crashed) = state.crashes.status();
    Json(json!({ "plan": plan, "crashed": crashed }))
}

async fn disarm_crashes(State(state): State<ControlState>) -> Json<Value> {
    state.crashes.arm(None);
    tracing::warn!("consumer crashes disarmed");
    crashes(State(state)).await
}

/// Runs a scheduled function now and answers what it returned.
async fn run_schedule(
    State(state): State<ControlState>,
    Path(binary): Path<String>,
) -> (StatusCode, Json<Value>) {
    let Some(schedules) = state.schedules.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "the runner is still starting" })),
        );
    };
    let Some(function) = schedules.get(&binary) else {
        let known: Vec<&String> = schedules.keys().collect();
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no scheduled function {binary}"), "scheduled": known })),
        );
    };
    match function.run("control port").await {
        Ok(answer) => (StatusCode::OK, Json(answer)),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": error })),
        ),
    }
}
