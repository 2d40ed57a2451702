//! The profile route group: the caller's account, token checks, users, tiers.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use finflow_shared::UserId;
use finflow_shared::customer::AccountTier;
use finflow_shared::events::Causality;
use finflow_shared::events::user::RoleChangedBy;
use finflow_shared::http::{Caller, Input, PathId};
use finflow_shared::jwt::Role;
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

use super::AuthApiState;
use super::views::UserView;
use crate::staff::UserRef;

pub fn routes(state: AuthApiState) -> Router {
    Router::new()
        .route("/auth/me", get(me))
        .route("/auth/verify-token", get(verify_token))
        .route("/auth/user/{id}", get(user))
        .route("/auth/user/{id}/tier", put(change_tier))
        .route("/auth/user/{id}/role", put(set_role))
        .with_state(state)
}

async fn me(State(state): State<AuthApiState>, caller: Caller) -> ApiResult<Json<UserView>> {
    let user = state.accounts.current_user(&caller).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Serialize)]
struct TokenStatus {
    valid: bool,
    user_id: UserId,
    role: &'static str,
    expires_at: i64,
}

async fn verify_token(
    State(state): State<AuthApiState>,
    caller: Caller,
) -> ApiResult<Json<TokenStatus>> {
    state.accounts.require_live_session(&caller).await?;
    Ok(Json(TokenStatus {
        valid: true,
        user_id: caller.user_id,
        role: caller.role.as_str(),
        expires_at: caller.claims.exp,
    }))
}

async fn user(
    State(state): State<AuthApiState>,
    caller: Caller,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<UserView>> {
    let user = state.accounts.user(&caller, id).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Deserialize)]
struct TierBody {
    account_tier: String,
}

async fn change_tier(
    State(state): State<AuthApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(id): PathId<UserId>,
    Input(body): Input<TierBody>,
) -> ApiResult<Json<UserView>> {
    let tier = AccountTier::parse(&body.account_tier).ok_or_else(|| {
        ApiError::invalid_field("account_tier", "must be one of bronze, silver, gold")
    })?;
    let user = state
        .accounts
        .change_tier(&caller, id, tier, &Causality::from_request(trace_id))
        .await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

/// Grants or revokes staff rights. The caller must be staff now (read from the table, not
/// taken from the token) and may not change their own role.
async fn set_role(
    State(state): State<AuthApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(id): PathId<UserId>,
    Input(body): Input<RoleBody>,
) -> ApiResult<Json<UserView>> {
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::invalid_field("role", "must be one of customer, staff"))?;
    let staff = state.accounts.require_live_staff(&caller).await?;
    let user = state
        .staff_roles
        .set_role(
            UserRef::Id(id),
            role,
            RoleChangedBy::Staff(staff.id),
            &Causality::from_request(trace_id),
        )
        .await?;
    Ok(Json(UserView::from(&user)))
}
