//! Reporting's API route group. Path parameters are named `{id}`, as template.yaml names them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use finflow_shared::UserId;
use finflow_shared::currency::Currency;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::http::{Caller, PathId, QueryParams, page_size};
use finflow_shared::{ApiError, ApiResult};
use http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::ReportingApiState;
use super::views::{self, RowView, TotalView};
use crate::domain::{Period, format_day};
use crate::reports::{TransactionsQuery, staff_only};

pub fn routes(state: ReportingApiState) -> Router {
    Router::new()
        .route("/reports/transactions", get(transactions))
        .route("/reports/users/{id}/analytics", get(user_analytics))
        .route("/reports/dashboard", get(dashboard))
        .route("/reports/compliance", get(compliance))
        .with_state(state)
        // The page that draws the dashboard report, served at /dashboard.
        .merge(super::dashboard::routes())
}

fn period(from: Option<&str>, to: Option<&str>) -> ApiResult<Period> {
    Period::parse(from, to, OffsetDateTime::now_utc().date())
        .map_err(|error| ApiError::invalid_field(error.field, error.message))
}

#[derive(Deserialize)]
struct TransactionsParams {
    from: Option<String>,
    to: Option<String>,
    currency: Option<String>,
    status: Option<String>,
    format: Option<String>,
}

#[derive(PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// `?format=` decides; without it, `Accept: text/csv` asks for CSV.
fn format(param: Option<&str>, headers: &HeaderMap) -> ApiResult<Format> {
    match param.map(str::to_ascii_lowercase).as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ApiError::invalid_field("format", "must be json or csv")),
        None => {
            let wants_csv = headers
                .get_all(ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|media| {
                    media
                        .split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
                });
            Ok(if wants_csv { Format::Csv } else { Format::Json })
        }
    }
}

async fn transactions(
    State(state): State<ReportingApiState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<TransactionsParams>,
) -> ApiResult<Response> {
    // Who may read it before what was asked: a customer learns nothing from a 422.
    staff_only(&caller, "transactions")?;
    let format = format(params.format.as_deref(), &headers)?;
    let period = period(params.from.as_deref(), params.to.as_deref())?;
    let currency = params
        .currency
        .map(|c| {
            Currency::parse(&c.to_ascii_uppercase())
                .map_err(|message| ApiError::invalid_field("currency", message))
        })
        .transpose()?;
    let status = params
        .status
        .map(|s| {
            PaymentStatus::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
                ApiError::invalid_field("status", "must be one of COMPLETED, ON_HOLD, FAILED")
            })
        })
        .transpose()?;
    let report = state
        .reports
        .transactions(
            &caller,
            TransactionsQuery {
                period,
                currency,
                status,
            },
        )
        .await?;
    let (from, to) = (format_day(period.from), format_day(period.to));
    if format == Format::Csv {
        let mut response = views::csv(&report.rows).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!(
            "attachment; filename=\"transactions-{from}-{to}.csv\""
        )) {
            headers.insert(CONTENT_DISPOSITION, value);
        }
        return Ok(response);
    }
    Ok(Json(json!({
        "from": from,
        "to": to,
        "currency": report.query.currency.map(|c| c.code()),
        "status": report.query.status.map(|s| s.as_str()),
        "rows": report.rows.iter().map(RowView::from).collect::<Vec<_>>(),
        "totals": report.totals.iter().map(TotalView::from).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn user_analytics(
    State(state): State<ReportingApiState>,
    caller: Caller,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<Value>> {
    let analytics = state.reports.user_analytics(&caller, id).await?;
    Ok(Json(views::user_analytics(&analytics)))
}

#[derive(Deserialize)]
struct PeriodParams {
    from: Option<String>,
    to: Option<String>,
}

async fn dashboard(
    State(state): State<ReportingApiState>,
    caller: Caller,
    QueryParams(params): QueryParams<PeriodParams>,
) -> ApiResult<Json<Value>> {
    staff_only(&caller, "dashboard")?;
    let period = period(params.from.as_deref(), params.to.as_deref())?;
    let dashboard = state.reports.dashboard(&caller, period).await?;
    let totals = &dashboard.platform;
    Ok(Json(json!({
        "from": format_day(dashboard.period.from),
        "to": format_day(dashboard.period.to),
        "volume": dashboard.rows.iter().map(RowView::from).collect::<Vec<_>>(),
        "totals": dashboard.totals.iter().map(TotalView::from).collect::<Vec<_>>(),
        "users": { "registered": totals.users.count("registered"), "tiers": views::tiers(totals) },
        "kyc_funnel": views::kyc_funnel(totals),
        "aml": views::aml(totals),
    })))
}

#[derive(Deserialize)]
struct PageParams {
    limit: Option<i32>,
    cursor: Option<String>,
}

async fn compliance(
    State(state): State<ReportingApiState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> ApiResult<Json<Value>> {
    staff_only(&caller, "compliance")?;
    let limit = page_size(page.limit, 50)?;
    let compliance = state
        .reports
        .compliance(&caller, limit, page.cursor.as_deref())
        .await?;
    let totals = &compliance.platform;
    Ok(Json(json!({
        "kyc": views::kyc_funnel(totals),
        "aml": views::aml(totals),
        "held_payments": views::held_payments(&compliance.held),
    })))
}
