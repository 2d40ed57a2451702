//! Wraps a service's routes into the application that both Lambda and the local runner serve.

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use super::input::BODY_LIMIT;
use super::trace_layer::trace_requests;
use crate::error::ApiError;

/// Where a service declares the routes of its API's second version: a route
/// `/v2/payment/transfer` is served as `/api/v2/payment/transfer`, not under the `/api/v1` alias.
pub const V2: &str = "/v2";

/// Where a service declares its web pages in the router it gives [`into_app`]: a route
/// `/pages/dashboard` is served as `/dashboard`, outside `/api`, and only there.
pub const PAGES: &str = "/pages";

/// `api` holds routes relative to `/api` (for example `/auth/register`). The app serves them
/// under `/api` and its alias `/api/v1` (those under [`V2`] under `/api/v2` only), serves
/// `/health` and `/openapi.json` as `/api/<service>/health` and `/api/<service>/openapi.json`,
/// serves the routes under [`PAGES`] at the root, and maps unknown routes, wrong methods, oversized bodies and panics to
/// problem+json.
pub fn into_app(service: &'static str, api: Router) -> Router {
    let at_root = |name: &'static str| {
        let api = api.clone();
        get(move |mut request: Request| {
            let api = api.clone();
            async move {
                *request.uri_mut() = format!("/{service}/{name}")
                    .parse()
                    .expect("a static path is a valid URI");
                api.oneshot(request).await
            }
        })
    };
    let (health, document) = (at_root("health"), at_root("openapi.json"));
    let pages = api
        .clone()
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    // Pages are served at the root only, v2 routes under /api/v2 only.
    let api = api.route_layer(middleware::from_fn(api_routes_only));
    Router::new()
        .nest("/api", api.clone())
        .nest("/api/v1", api)
        .route("/health", health)
        .route("/openapi.json", document)
        .fallback(move |request: Request| page(pages.clone(), request))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(trace_requests))
}

fn not_found() -> ApiError {
    ApiError::NotFound("No such route".into())
}

/// Whether `path` starts with the segment `prefix`.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A path an API route must not answer: a page (served at the root only), or a v2 route
/// reached through the v1 alias.
fn elsewhere(path: &str) -> bool {
    let page = ["/api/v1", "/api", ""].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| under(rest, PAGES))
    });
    page || path
        .strip_prefix("/api/v1")
        .is_some_and(|rest| under(rest, V2))
}

async fn api_routes_only(request: Request, next: Next) -> Response {
    // Inside a nested router the URI has lost its prefix; the path as requested tells /api/v2
    // from /api/v1/v2.
    let requested = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path());
    if elsewhere(requested) {
        return not_found().into_response();
    }
    next.run(request).await
}

/// A request outside `/api` that no other route took: one of the service's pages, or 404.
async fn page(pages: Router, mut request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return not_found().into_response();
    }
    let target = match request.uri().query() {
        Some(query) => format!("{PAGES}{path}?{query}"),
        None => format!("{PAGES}{path}"),
    };
    match target.parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return not_found().into_response(),
    }
    match pages.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("handler panicked").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::StatusCode;

    fn app() -> Router {
        let api = Router::new()
            .route("/things/list", get(|| async { "api" }))
            .route("/v2/things/list", get(|| async { "api v2" }))
            .route("/pages/board", get(|| async { "page" }))
            .route("/pages/board/app.js", get(|| async { "script" }));
        into_app("things", api)
    }

    async fn call(path: &str) -> (StatusCode, String) {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn pages_are_served_at_the_root_only() {
        assert_eq!(call("/board").await, (StatusCode::OK, "page".into()));
        assert_eq!(call("/board?x=1").await, (StatusCode::OK, "page".into()));
        assert_eq!(
            call("/board/app.js").await,
            (StatusCode::OK, "script".into())
        );
        assert_eq!(call("/api/things/list").await.0, StatusCode::OK);
        assert_eq!(call("/api/v1/things/list").await.0, StatusCode::OK);
        for path in [
            "/api/pages/board",
            "/api/v1/pages/board",
            "/pages/board",
            "/things/list",
            "/nothing",
            "/api/nothing",
        ] {
            let (status, body) = call(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(body.contains("No such route"), "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn a_second_version_is_served_beside_v1_at_its_own_path_only() {
        assert_eq!(
            call("/api/v2/things/list").await,
            (StatusCode::OK, "api v2".into())
        );
        assert_eq!(
            call("/api/things/list").await,
            (StatusCode::OK, "api".into())
        );
        for path in ["/api/v1/v2/things/list", "/v2/things/list"] {
            let (status, body) = call(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(body.contains("No such route"), "{path}: {body}");
        }
    }

    /// RFC 9110: a 405 names the methods the resource has (the local gateway answers alike).
    #[tokio::test]
    async fn a_method_a_route_does_not_serve_is_a_405_naming_the_ones_it_does() {
        for path in ["/api/things/list", "/api/v1/things/list", "/health"] {
            let request = Request::builder()
                .method("DELETE")
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let response = app().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(
                response.headers()[http::header::ALLOW],
                "GET,HEAD",
                "{path}"
            );
        }
    }
}
