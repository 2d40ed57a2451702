//! Payment's API route group.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use finflow_shared::currency::Currency;
use finflow_shared::events::Causality;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::http::{Caller, Input, PathId, QueryParams, page_size, whole_number};
use finflow_shared::idempotency::MaybeIdempotencyKey;
use finflow_shared::trace::TraceId;
use finflow_shared::{ApiError, ApiResult, PaymentId, WalletId};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::PaymentApiState;
use super::views::{PaymentView, payment_v2};
use crate::domain::{TransferRequest, parse_amount};

pub fn routes(state: PaymentApiState) -> Router {
    Router::new()
        .route("/payment/transfer", post(transfer))
        // Served at /api/v2/... only (finflow_shared::http::V2), beside v1.
        .route("/v2/payment/transfer", post(transfer_v2))
        .route("/payment/history", get(history))
        .route("/payment/{id}", get(payment))
        .with_state(state)
}

/// The amount stays raw JSON until the transfer rules read it, so a bad amount is one of the
/// transfer's 400s with a clear message rather than a generic field error.
#[derive(Deserialize)]
struct TransferBody {
    #[serde(deserialize_with = "whole_number")]
    from_wallet_id: WalletId,
    #[serde(deserialize_with = "whole_number")]
    to_wallet_id: WalletId,
    amount: Box<RawValue>,
    currency: String,
    description: Option<String>,
}

async fn transfer(
    State(state): State<PaymentApiState>,
    caller: Caller,
    trace_id: TraceId,
    MaybeIdempotencyKey(key): MaybeIdempotencyKey,
    Input(body): Input<TransferBody>,
) -> ApiResult<Response> {
    let raw = body.amount.get().trim();
    let amount_text = if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).unwrap_or_default()
    } else {
        raw.to_owned()
    };
    let amount = parse_amount(&amount_text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let currency = Currency::parse(&body.currency)
        .map_err(|message| ApiError::invalid_field("currency", message))?;
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 280)
    {
        return Err(ApiError::invalid_field(
            "description",
            "must be at most 280 characters",
        ));
    }
    let request = TransferRequest {
        from_wallet_id: body.from_wallet_id,
        to_wallet_id: body.to_wallet_id,
        amount,
        currency,
        description: body.description,
    };
    state
        .payments
        .transfer(&caller, request, key, &Causality::from_request(trace_id))
        .await
}

/// Version 2 of the transfer: the same transfer under the same idempotency keys, answered with
/// the amount and its currency as one object (`views::payment_v2`). A key first used on v1 is
/// answered in v2's shape, and the other way round: one transfer, two representations.
async fn transfer_v2(
    State(state): State<PaymentApiState>,
    caller: Caller,
    trace_id: TraceId,
    MaybeIdempotencyKey(key): MaybeIdempotencyKey,
    Input(body): Input<TransferBody>,
) -> ApiResult<Response> {
    let answer = transfer(
        State(state),
        caller,
        trace_id,
        MaybeIdempotencyKey(key),
        Input(body),
    )
    .await?;
    if !answer.status().is_success() {
        return Ok(answer);
    }
    let (mut parts, body) = answer.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(ApiError::internal)?;
    let v1: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(Response::from_parts(
        parts,
        axum::body::Body::from(payment_v2(v1).to_string()),
    ))
}

async fn payment(
    State(state): State<PaymentApiState>,
    caller: Caller,
    PathId(id): PathId<PaymentId>,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(PaymentView::from(
        &state.payments.payment(&caller, id).await?,
    )))
}

#[derive(Deserialize)]
struct HistoryQuery {
    status: Option<String>,
    limit: Option<i32>,
    cursor: Option<String>,
}

async fn history(
    State(state): State<PaymentApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let status = query
        .status
        .map(|s| {
            PaymentStatus::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
                ApiError::invalid_field(
                    "status",
                    "must be one of PENDING, COMPLETED, FAILED, ON_HOLD",
                )
            })
        })
        .transpose()?;
    let limit = page_size(query.limit, 20)?;
    let page = state
        .payments
        .history(&caller, status, limit, query.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "items": page.payments.iter().map(PaymentView::from).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}
