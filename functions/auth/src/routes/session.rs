//! The session route group: register, login, refresh, logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use finflow_shared::events::Causality;
use finflow_shared::http::{Caller, Input};
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiError, ApiResult};
use serde::Deserialize;

use super::AuthApiState;
use super::views::UserView;
use crate::accounts::TokenPair;
use crate::domain::Registration;

pub fn routes(state: AuthApiState) -> Router {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .with_state(state)
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    #[serde(alias = "full_name")]
    name: String,
}

async fn register(
    State(state): State<AuthApiState>,
    trace_id: TraceId,
    Input(body): Input<RegisterBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let registration = Registration::parse(&body.email, &body.password, &body.name)
        .map_err(ApiError::Validation)?;
    let user = state
        .accounts
        .register(registration, &Causality::from_request(trace_id))
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// OAuth2 password-grant style: `username` is the email. JSON may say `email` instead.
#[derive(Deserialize)]
struct LoginBody {
    #[serde(alias = "email")]
    username: String,
    password: String,
}

async fn login(
    State(state): State<AuthApiState>,
    Input(body): Input<LoginBody>,
) -> ApiResult<Json<TokenPair>> {
    state
        .accounts
        .login(&body.username, &body.password)
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AuthApiState>,
    Input(body): Input<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    state.accounts.refresh(&body.refresh_token).await.map(Json)
}

async fn logout(State(state): State<AuthApiState>, caller: Caller) -> ApiResult<StatusCode> {
    state.accounts.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
