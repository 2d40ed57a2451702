//! The KYC API: submit, status, risk, review.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use finflow_shared::events::Causality;
use finflow_shared::http::{Caller, Input, PathId, whole_number};
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiResult, UserId};
use serde::Deserialize;

use super::KycApiState;
use super::views::{RiskView, StatusView, SubmissionView};
use crate::submissions::SubmitRequest;

/// Path parameters are all `{id}` (a user id or a submission id), as template.yaml names them.
pub fn routes(state: KycApiState) -> Router {
    Router::new()
        .route("/kyc/submit", post(submit))
        .route("/kyc/status/{id}", get(status))
        .route("/kyc/risk/{id}", get(risk))
        .route("/kyc/review/{id}", post(review))
        .with_state(state)
}

#[derive(Deserialize)]
struct SubmitBody {
    #[serde(deserialize_with = "whole_number")]
    user_id: UserId,
    document_type: String,
    document_url: String,
    #[serde(default)]
    country: Option<String>,
}

async fn submit(
    State(state): State<KycApiState>,
    caller: Caller,
    trace_id: TraceId,
    Input(body): Input<SubmitBody>,
) -> ApiResult<(StatusCode, Json<SubmissionView>)> {
    let request = SubmitRequest {
        user_id: body.user_id,
        document_type: body.document_type,
        document_url: body.document_url,
        country: body.country,
    };
    let submission = state
        .submissions
        .submit(&caller, request, &Causality::from_request(trace_id))
        .await?;
    Ok((StatusCode::CREATED, Json(SubmissionView::from(&submission))))
}

async fn status(
    State(state): State<KycApiState>,
    caller: Caller,
    PathId(user_id): PathId<UserId>,
) -> ApiResult<Json<StatusView>> {
    let (applicant, latest) = state.submissions.status(&caller, user_id).await?;
    Ok(Json(StatusView::new(&applicant, latest.as_ref())))
}

async fn risk(
    State(state): State<KycApiState>,
    caller: Caller,
    PathId(user_id): PathId<UserId>,
) -> ApiResult<Json<RiskView>> {
    let (applicant, latest) = state.submissions.risk(&caller, user_id).await?;
    Ok(Json(RiskView::new(&applicant, &latest)))
}

#[derive(Deserialize)]
struct ReviewBody {
    decision: String,
    reason: String,
}

async fn review(
    State(state): State<KycApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(submission_id): PathId,
    Input(body): Input<ReviewBody>,
) -> ApiResult<Json<SubmissionView>> {
    let submission = state
        .submissions
        .review(
            &caller,
            submission_id,
            &body.decision,
            &body.reason,
            &Causality::from_request(trace_id),
        )
        .await?;
    Ok(Json(SubmissionView::from(&submission)))
}
