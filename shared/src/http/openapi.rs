//! A service's OpenAPI document, served as the repository holds it
//! (`events/openapi/<service>.json`, compiled in), so a client or a fuzzer reads the contract
//! from the API it describes: at `/api/<service>/openapi.json` (and `/api/v1/...`) on the API,
//! and at `/openapi.json` on the service's own local port.

use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;

/// The route serving `document`, relative to `/api`; public (no token).
pub fn document_route(service: &'static str, document: &'static str) -> Router {
    Router::new().route(
        &format!("/{service}/openapi.json"),
        get(move || async move { ([(CONTENT_TYPE, "application/json")], document) }),
    )
}
