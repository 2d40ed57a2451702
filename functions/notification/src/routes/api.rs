//! Notification's API route group: the caller's preferences and notifications.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use finflow_shared::ApiResult;
use finflow_shared::http::{Caller, Input, QueryParams, page_size};
use serde::Deserialize;
use serde_json::{Value, json};

use super::NotificationApiState;
use super::views::{NotificationView, PreferencesView};

pub fn routes(state: NotificationApiState) -> Router {
    Router::new()
        .route(
            "/notification/preferences",
            get(preferences).put(set_preferences),
        )
        .route("/notification/list", get(list))
        .with_state(state)
}

async fn preferences(
    State(state): State<NotificationApiState>,
    caller: Caller,
) -> ApiResult<Json<PreferencesView>> {
    let (preferences, updated_at) = state.notifications.preferences(&caller).await?;
    Ok(Json(PreferencesView::new(
        caller.user_id,
        &preferences,
        updated_at,
    )))
}

/// `{"channels": {"sms": {"payments": false}}}`: the whole matrix, cells left out at their
/// defaults (what `GET` returns under `channels` may be sent back as it is).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    channels: BTreeMap<String, BTreeMap<String, bool>>,
}

async fn set_preferences(
    State(state): State<NotificationApiState>,
    caller: Caller,
    Input(body): Input<PreferencesBody>,
) -> ApiResult<Json<PreferencesView>> {
    let stored = state
        .notifications
        .set_preferences(&caller, &body.channels)
        .await?;
    Ok(Json(PreferencesView::new(
        caller.user_id,
        &stored.preferences,
        Some(stored.updated_at),
    )))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<i32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<NotificationApiState>,
    caller: Caller,
    QueryParams(page): QueryParams<Page>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(page.limit, 20)?;
    let page = state
        .notifications
        .list(&caller, limit, page.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "user_id": caller.user_id,
        "items": page.records.iter().map(NotificationView::from).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}
