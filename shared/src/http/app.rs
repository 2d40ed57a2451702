//! Wraps a service's routes into the application that both Lambda and the local runner serve.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use super::input::BODY_LIMIT;
use super::trace_layer::trace_requests;
use crate::error::ApiError;

/// `api` holds routes relative to `/api` (for example `/auth/register`). The app serves them
/// under `/api` and its alias `/api/v1`, serves `/health` as `/api/<service>/health`, and maps
/// unknown routes, wrong methods, oversized bodies and panics to problem+json.
pub fn into_app(service: &'static str, api: Router) -> Router {
    let health_api = api.clone();
    let health = get(move |mut request: Request| {
        let api = health_api.clone();
        async move {
            *request.uri_mut() = format!("/{service}/health")
                .parse()
                .expect("a static path is a valid URI");
            api.oneshot(request).await
        }
    });
    Router::new()
        .nest("/api", api.clone())
        .nest("/api/v1", api)
        .route("/health", health)
        .fallback(|| async { ApiError::NotFound("No such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(trace_requests))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("handler panicked").into_response()
}
