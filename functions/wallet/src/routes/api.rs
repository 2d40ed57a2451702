//! Wallet's API route group.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use finflow_shared::currency::Currency;
use finflow_shared::events::Causality;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::http::{Caller, Input, PathId, QueryParams, page_size};
use finflow_shared::idempotency::MaybeIdempotencyKey;
use finflow_shared::money::{MAX, SCALE};
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiError, ApiResult, PositiveAmount, UserId, WalletId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::WalletApiState;
use super::views::{BalanceView, EntryView, WalletView};
use crate::service::Deposit;

pub fn routes(state: WalletApiState) -> Router {
    Router::new()
        .route("/wallet/create", post(create))
        .route("/wallet/config/precision", get(precision))
        .route("/wallet/user/{id}", get(of_user))
        .route("/wallet/{id}", get(wallet))
        .route("/wallet/{id}/balance", get(balance))
        .route("/wallet/{id}/transactions", get(transactions))
        .route("/wallet/{id}/status", put(change_status))
        .route("/wallet/{id}/deposit", post(deposit))
        .with_state(state)
}

#[derive(Deserialize)]
struct CreateBody {
    currency: String,
}

async fn create(
    State(state): State<WalletApiState>,
    caller: Caller,
    trace_id: TraceId,
    Input(body): Input<CreateBody>,
) -> ApiResult<Response> {
    let currency = Currency::parse(&body.currency)
        .map_err(|message| ApiError::invalid_field("currency", message))?;
    state
        .wallets
        .open(&caller, currency, &Causality::from_request(trace_id))
        .await
}

async fn precision() -> Json<Value> {
    Json(json!({
        "precision": SCALE,
        "scale": SCALE,
        "storage": "DECIMAL(20,4)",
        "max_amount": MAX,
        "min_amount": "0.0001",
        "rounding": "none: amounts with more than 4 decimal places are rejected",
    }))
}

async fn of_user(
    State(state): State<WalletApiState>,
    caller: Caller,
    PathId(user_id): PathId<UserId>,
) -> ApiResult<Json<Vec<WalletView>>> {
    let wallets = state.wallets.of_user(&caller, user_id).await?;
    Ok(Json(wallets.iter().map(WalletView::from).collect()))
}

async fn wallet(
    State(state): State<WalletApiState>,
    caller: Caller,
    PathId(id): PathId<WalletId>,
) -> ApiResult<Json<WalletView>> {
    Ok(Json(WalletView::from(
        &state.wallets.owned(&caller, id).await?,
    )))
}

async fn balance(
    State(state): State<WalletApiState>,
    caller: Caller,
    PathId(id): PathId<WalletId>,
) -> ApiResult<Json<BalanceView>> {
    Ok(Json(BalanceView::from(
        &state.wallets.owned(&caller, id).await?,
    )))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<i32>,
    cursor: Option<String>,
}

async fn transactions(
    State(state): State<WalletApiState>,
    caller: Caller,
    PathId(id): PathId<WalletId>,
    QueryParams(page): QueryParams<Page>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(page.limit, 20)?;
    let (wallet, page) = state
        .wallets
        .entries(&caller, id, limit, page.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "wallet_id": wallet.id,
        "currency": wallet.currency.code(),
        "items": page.entries.iter().map(EntryView::from).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

/// The seed sends a bare JSON string (`"frozen"`); clients may also send `{"status": ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum StatusBody {
    Bare(String),
    Object {
        status: String,
        reason: Option<String>,
    },
}

async fn change_status(
    State(state): State<WalletApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(id): PathId<WalletId>,
    Input(body): Input<StatusBody>,
) -> ApiResult<Response> {
    let (status, reason) = match body {
        StatusBody::Bare(status) => (status, None),
        StatusBody::Object { status, reason } => (status, reason),
    };
    let status = WalletStatus::parse(&status).ok_or_else(|| {
        ApiError::invalid_field("status", "must be one of active, frozen, closed")
    })?;
    state
        .wallets
        .change_status(
            &caller,
            id,
            status,
            reason,
            &Causality::from_request(trace_id),
        )
        .await
}

#[derive(Deserialize)]
struct DepositBody {
    amount: PositiveAmount,
    reference: Option<String>,
}

async fn deposit(
    State(state): State<WalletApiState>,
    caller: Caller,
    trace_id: TraceId,
    PathId(id): PathId<WalletId>,
    MaybeIdempotencyKey(key): MaybeIdempotencyKey,
    Input(body): Input<DepositBody>,
) -> ApiResult<Response> {
    if body
        .reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > 100)
    {
        return Err(ApiError::invalid_field(
            "reference",
            "must be at most 100 characters",
        ));
    }
    let deposit = Deposit {
        amount: body.amount,
        reference: body.reference,
    };
    state
        .wallets
        .deposit(
            &caller,
            id,
            deposit,
            key,
            &Causality::from_request(trace_id),
        )
        .await
}
