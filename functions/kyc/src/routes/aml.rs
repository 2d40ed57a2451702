//! The AML API, for compliance officers (staff only): the case queue, one case, resolving a
//! case (release or void the held payment), and a user's activity.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use finflow_shared::events::Causality;
use finflow_shared::http::{Caller, Input, PathId, QueryParams, page_size};
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiError, ApiResult, CaseId, UserId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AmlApiState;
use super::aml_views::{ActivityView, CaseView};
use crate::aml::case::CaseStatus;

/// Path parameters are all `{id}` (a case id or a user id), as template.yaml names them.
pub fn routes(state: AmlApiState) -> Router {
    Router::new()
        .route("/aml/cases", get(list))
        .route("/aml/cases/{id}", get(case))
        .route("/aml/cases/{id}/resolve", post(resolve))
        .route("/aml/activity/{id}", get(activity))
        .with_state(state)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AmlApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Value>> {
    let status = query
        .status
        .map(|s| {
            CaseStatus::parse(&s.to_ascii_lowercase())
                .ok_or_else(|| ApiError::invalid_field("status", "must be one of open, resolved"))
        })
        .transpose()?;
    let limit = page_size(query.limit, 20)?;
    let page = state
        .cases
        .list(&caller, status, limit, query.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "items": page.cases.iter().map(CaseView::from).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

async fn case(
    State(state): State<AmlApiState>,
    caller: Caller,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(CaseView::from(&state.cases.case(&caller, id).await?)))
}

#[derive(Deserialize)]
struct ResolveBody {
    action: String,
    #[serde(default)]
    note: Option<String>,
}

async fn resolve(
    State(state): State<AmlApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(id): PathId<CaseId>,
    Input(body): Input<ResolveBody>,
) -> ApiResult<Json<CaseView>> {
    let case = state
        .cases
        .resolve(
            &caller,
            id,
            &body.action,
            body.note.as_deref(),
            &Causality::from_request(trace_id),
        )
        .await?;
    Ok(Json(CaseView::from(&case)))
}

async fn activity(
    State(state): State<AmlApiState>,
    caller: Caller,
    PathId(user_id): PathId<UserId>,
) -> ApiResult<Json<ActivityView>> {
    Ok(Json(ActivityView::from(
        &state.cases.activity(&caller, user_id).await?,
    )))
}
