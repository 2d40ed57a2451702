//! The local gateway's own `/health`: every service's health in one answer, so
//! `curl localhost:8000/health` tells whether the whole platform is up. (On AWS each service
//! answers its own `/api/<service>/health` behind the one API Gateway; this route is local.)

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// Health answers are small; anything bigger is not one.
const MAX_HEALTH_BODY: usize = 64 * 1024;

/// `/gateway/health` (relative to `/api`, where `into_app` sends `/health`) over `services`,
/// each a service name and its routes.
pub fn route(services: Vec<(&'static str, Router)>) -> Router {
    Router::new().route(
        "/gateway/health",
        get(move || {
            let services = services.clone();
            async move { aggregate(services).await }
        }),
    )
}

async fn aggregate(services: Vec<(&'static str, Router)>) -> Response {
    let mut reports = Map::new();
    let mut healthy = true;
    for (service, routes) in services {
        let request = Request::get(format!("/{service}/health"))
            .body(Body::empty())
            .expect("a static path is a valid request");
        let (status, report) = match routes.oneshot(request).await {
            Ok(response) => {
                let status = response.status();
                let body = to_bytes(response.into_body(), MAX_HEALTH_BODY)
                    .await
                    .unwrap_or_default();
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            Err(never) => match never {},
        };
        healthy &= status == StatusCode::OK;
        reports.insert(service.to_owned(), report);
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "services": reports,
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &'static str, status: StatusCode) -> (&'static str, Router) {
        let routes = Router::new().route(
            &format!("/{name}/health"),
            get(move || async move { (status, axum::Json(json!({ "service": name }))) }),
        );
        (name, routes)
    }

    async fn answer(services: Vec<(&'static str, Router)>) -> (StatusCode, Value) {
        let response = route(services)
            .oneshot(Request::get("/gateway/health").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), MAX_HEALTH_BODY)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn the_platform_is_healthy_only_when_every_service_is() {
        let (status, body) = answer(vec![
            service("auth", StatusCode::OK),
            service("wallet", StatusCode::OK),
        ])
        .await;
        assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
        assert_eq!(body["services"]["wallet"], json!({ "service": "wallet" }));

        let (status, body) = answer(vec![
            service("auth", StatusCode::OK),
            service("wallet", StatusCode::SERVICE_UNAVAILABLE),
        ])
        .await;
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::SERVICE_UNAVAILABLE, &json!("degraded"))
        );
        assert_eq!(body["services"]["auth"], json!({ "service": "auth" }));
    }
}
