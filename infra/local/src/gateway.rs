//! The local API Gateway (an HTTP API with payload format 2.0): every route template.yaml
//! declares (from the manifest), each request turned into the event API Gateway would send
//! the function that owns the route, and the function's answer turned back into HTTP.
//!
//! A service's port serves that service's routes (plus `/health` and `/openapi.json`, its
//! health and document routes); the gateway port serves them all, and its `/health` gathers
//! every service's. A request no route matches gets the answer the functions give one
//! (problem+json 404, or 405 with the `Allow` header when the path is routed for other
//! methods); API Gateway itself would answer `{"message":"Not Found"}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as LambdaBody;
use aws_lambda_events::query_map::QueryMap;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::ALLOW;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use finflow_shared::error::ApiError;
use serde_json::{Map, Value, json};

use finflow_local::authorizer::{self, Verdict, authorizer_event};
use finflow_local::lambda::FunctionPool;
use finflow_local::manifest::Manifest;

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// One route of template.yaml and the function it invokes.
struct Route {
    method: Option<Method>,
    path: String,
    segments: Vec<Segment>,
    service: String,
    function: Arc<FunctionPool>,
    /// The Lambda authorizer API Gateway invokes first, if the route has one.
    authorizer: Option<Arc<FunctionPool>>,
}

#[derive(Debug, PartialEq)]
enum Segment {
    Literal(String),
    Parameter(String),
    /// `{name+}`: the rest of the path.
    Greedy(String),
}

fn segments(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(name) => Segment::Greedy(name.to_owned()),
                    None => Segment::Parameter(name.to_owned()),
                },
                None => Segment::Literal(segment.to_owned()),
            },
        )
        .collect()
}

/// The path parameters when `path` matches `segments`, and how specific the match is (literal
/// segments first, left to right, as API Gateway picks among matching routes).
fn match_path(segments: &[Segment], path: &str) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut parameters = HashMap::new();
    let mut rank = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(literal) => {
                (parts.get(index)? == literal).then_some(())?;
                rank.push(2);
            }
            Segment::Parameter(name) => {
                let value = parts.get(index).filter(|p| !p.is_empty())?;
                parameters.insert(name.clone(), percent_decode(value));
                rank.push(1);
            }
            Segment::Greedy(name) => {
                let rest = parts.get(index..).filter(|rest| !rest.is_empty())?;
                parameters.insert(name.clone(), percent_decode(&rest.join("/")));
                rank.push(0);
                return Some((parameters, rank));
            }
        }
    }
    (parts.len() == segments.len()).then_some((parameters, rank))
}

impl Route {
    fn route_key(&self) -> String {
        match &self.method {
            Some(method) => format!("{method} {}", self.path),
            None => format!("ANY {}", self.path),
        }
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every HTTP route of every function in the manifest.
pub struct Routes {
    routes: Vec<Route>,
    account: String,
    region: String,
}

impl Routes {
    pub fn from_manifest(
        manifest: &Manifest,
        pools: &HashMap<String, Arc<FunctionPool>>,
    ) -> Result<Self, String> {
        let mut routes = Vec::new();
        for (logical_id, function) in &manifest.functions {
            for route in &function.http_routes {
                let method = match route.method.as_str() {
                    "ANY" => None,
                    other => Some(
                        Method::from_bytes(other.as_bytes())
                            .map_err(|_| format!("{logical_id}: bad method {other}"))?,
                    ),
                };
                let pool = |id: &str| {
                    pools
                        .get(id)
                        .cloned()
                        .ok_or_else(|| format!("{id} has no pool"))
                };
                routes.push(Route {
                    method,
                    segments: segments(&route.path),
                    path: route.path.clone(),
                    service: function.service.clone(),
                    function: pool(logical_id)?,
                    authorizer: route.authorizer.as_deref().map(pool).transpose()?,
                });
            }
        }
        Ok(Routes {
            routes,
            account: manifest.account_id(),
            region: manifest.region.clone(),
        })
    }

    /// The route `method path` takes among `service`'s routes (all when `None`), or else the
    /// methods the path is routed for (none when no route has the path): those of its most
    /// specific template, as the functions' routers answer (`POST /api/wallet/create` is no
    /// `GET` although `GET /api/wallet/{id}` matches it too).
    fn find(
        &self,
        service: Option<&str>,
        method: &Method,
        path: &str,
    ) -> Result<(&Route, HashMap<String, String>), Vec<Method>> {
        let mut best: Option<(&Route, HashMap<String, String>, Vec<u8>)> = None;
        let mut other_methods: Vec<(Method, Vec<u8>)> = Vec::new();
        for route in &self.routes {
            if service.is_some_and(|service| service != route.service) {
                continue;
            }
            let Some((parameters, rank)) = match_path(&route.segments, path) else {
                continue;
            };
            if let Some(other) = route.method.as_ref().filter(|m| *m != method) {
                other_methods.push((other.clone(), rank));
                continue;
            }
            if best.as_ref().is_none_or(|(_, _, best)| rank > *best) {
                best = Some((route, parameters, rank));
            }
        }
        best.map(|(route, parameters, _)| (route, parameters))
            .ok_or_else(|| allowed_methods(other_methods))
    }

    /// The services that declare routes, each once.
    pub fn services(&self) -> Vec<String> {
        let mut services: Vec<String> = self.routes.iter().map(|r| r.service.clone()).collect();
        services.sort();
        services.dedup();
        services
    }
}

#[derive(Clone)]
struct Gateway {
    routes: Arc<Routes>,
    /// The service this port serves; `None` for the gateway port.
    service: Option<String>,
    port: u16,
}

/// The app of one port: `service`'s routes, or every route when `None`.
pub fn app(routes: Arc<Routes>, service: Option<String>, port: u16) -> Router {
    Router::new().fallback(handle).with_state(Gateway {
        routes,
        service,
        port,
    })
}

async fn handle(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    // A service's port also serves its document at the root, as it does its health.
    if let (Some(service), "/openapi.json") = (&gateway.service, path.as_str()) {
        let path = format!("/api/{service}/openapi.json");
        return dispatch(&gateway, peer, request, &path).await;
    }
    if path == "/health" {
        return match &gateway.service {
            Some(service) => {
                let path = format!("/api/{service}/health");
                dispatch(&gateway, peer, request, &path).await
            }
            None => aggregate_health(&gateway, peer).await,
        };
    }
    dispatch(&gateway, peer, request, &path).await
}

async fn dispatch(gateway: &Gateway, peer: SocketAddr, request: Request, path: &str) -> Response {
    let method = request.method().clone();
    let (route, parameters) = match gateway
        .routes
        .find(gateway.service.as_deref(), &method, path)
    {
        Ok(found) => found,
        Err(allowed) if allowed.is_empty() => {
            return ApiError::NotFound("No such route".into()).into_response();
        }
        Err(allowed) => return method_not_allowed(allowed),
    };
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let mut event = http_event(
        route,
        parameters,
        &parts,
        &body,
        peer,
        gateway.port,
        &gateway.routes.account,
    );
    if let Some(authorizer) = &route.authorizer {
        let request = serde_json::to_value(authorizer_event(&event, &gateway.routes.region))
            .expect("an authorizer event serializes");
        let verdict = match authorizer.invoke(&request).await {
            Ok(answer) => authorizer::verdict(answer),
            Err(error) => Err(error.to_string()),
        };
        match verdict {
            Ok(Verdict::Allow(context)) => event.request_context.authorizer = Some(*context),
            Ok(Verdict::Deny) => return gateway_error(StatusCode::FORBIDDEN, "Forbidden"),
            Err(error) => {
                tracing::warn!(%error, route = %route.route_key(), "authorizer failed");
                return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
        }
    }
    let event = serde_json::to_value(event).expect("an API Gateway event serializes");
    match route.function.invoke(&event).await {
        Ok(answer) => http_response(answer),
        Err(error) => {
            tracing::warn!(%error, route = %route.route_key(), "invocation failed");
            // What API Gateway answers when the integration fails.
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// Of the routes whose templates match a path, each as its method and match rank, the methods
/// of the most specific template, sorted: what the path is routed for.
fn allowed_methods(matches: Vec<(Method, Vec<u8>)>) -> Vec<Method> {
    let most_specific = matches.iter().map(|(_, rank)| rank).max().cloned();
    let mut allowed: Vec<Method> = matches
        .into_iter()
        .filter(|(_, rank)| Some(rank) == most_specific.as_ref())
        .map(|(method, _)| method)
        .collect();
    allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    allowed.dedup();
    allowed
}

/// The functions' 405 (their routers answer a method a path does not serve with it), with the
/// `Allow` header RFC 9110 requires: the methods the path is routed for.
fn method_not_allowed(allowed: Vec<Method>) -> Response {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = ApiError::MethodNotAllowed.into_response();
    if let Ok(allow) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

/// An answer API Gateway gives itself, in its own shape.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// The payload-2.0 event API Gateway sends for `parts` + `body` on `route`.
#[allow(deprecated)]
fn http_event(
    route: &Route,
    path_parameters: HashMap<String, String>,
    parts: &axum::http::request::Parts,
    body: &[u8],
    peer: SocketAddr,
    port: u16,
    account: &str,
) -> ApiGatewayV2httpRequest {
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == axum::http::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        // Repeated headers arrive joined by commas; names are lower case (HeaderName is).
        if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), value);
        }
    }
    // What API Gateway adds.
    for (name, value) in [
        ("x-forwarded-for", peer.ip().to_string()),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-forwarded-port", port.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in
        serde_urlencoded::from_str::<Vec<(String, String)>>(&raw_query).unwrap_or_default()
    {
        query.entry(key).or_default().push(value);
    }
    let now = time::OffsetDateTime::now_utc();
    let request_id = uuid::Uuid::new_v4().to_string();
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let text = is_text(parts.headers.get(axum::http::header::CONTENT_TYPE));
    let (body, is_base64_encoded) = match (body.is_empty(), text, std::str::from_utf8(body)) {
        (true, _, _) => (None, false),
        (false, true, Ok(text)) => (Some(text.to_owned()), false),
        _ => (
            Some(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some(format!("{:?}", parts.version));
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.route_key());
    context.account_id = Some(account.to_owned());
    context.stage = Some("$default".into());
    context.request_id = Some(request_id);
    context.apiid = Some(format!("local{port}"));
    context.domain_prefix = host.split('.').next().map(str::to_owned);
    context.domain_name = Some(host);
    context.time = Some(
        now.format(time::macros::format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
        ))
        .unwrap_or_default(),
    );
    context.time_epoch = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route.route_key());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = QueryMap::from(query);
    event.path_parameters = path_parameters;
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// Whether API Gateway passes a body of this type as text (else base64).
fn is_text(content_type: Option<&HeaderValue>) -> bool {
    let Some(content_type) = content_type.and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/xml"
        || essence.ends_with("+xml")
        || essence == "application/x-www-form-urlencoded"
        || essence == "application/javascript"
}

/// The HTTP response API Gateway makes of a function's payload-2.0 answer.
fn http_response(answer: Value) -> Response {
    let answer: ApiGatewayV2httpResponse = match serde_json::from_value(answer) {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, "the function's answer is not an HTTP API response");
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match answer.body {
        None | Some(LambdaBody::Empty) => Vec::new(),
        Some(LambdaBody::Text(text)) if answer.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .unwrap_or_default()
        }
        Some(LambdaBody::Text(text)) => text.into_bytes(),
        Some(LambdaBody::Binary(bytes)) => bytes,
        Some(_) => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in answer.multi_value_headers.iter() {
        headers.append(name.clone(), value.clone());
    }
    for (name, value) in answer.headers.iter() {
        if !answer.multi_value_headers.contains_key(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    for cookie in answer.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(HeaderName::from_static("set-cookie"), value);
        }
    }
    response
}

/// `GET /health` on the gateway port: every service's health route, 200 only when all are.
async fn aggregate_health(gateway: &Gateway, peer: SocketAddr) -> Response {
    let mut reports = Map::new();
    let mut healthy = true;
    for service in gateway.routes.services() {
        let path = format!("/api/{service}/health");
        let request = Request::get(&path)
            .body(Body::empty())
            .expect("a static path is a valid request");
        let response = dispatch(gateway, peer, request, &path).await;
        let status = response.status();
        let body = to_bytes(response.into_body(), MAX_BODY)
            .await
            .unwrap_or_default();
        healthy &= status == StatusCode::OK;
        reports.insert(
            service,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        );
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

    fn matches(path: &str, request: &str) -> Option<(HashMap<String, String>, Vec<u8>)> {
        match_path(&segments(path), request)
    }

    #[test]
    fn routes_match_like_api_gateway() {
        let (parameters, _) = matches("/api/wallet/{id}/balance", "/api/wallet/7/balance").unwrap();
        assert_eq!(parameters["id"], "7");
        assert!(matches("/api/wallet/{id}", "/api/wallet/7/balance").is_none());
        // A literal segment beats a parameter.
        let literal = matches("/api/payment/history", "/api/payment/history")
            .unwrap()
            .1;
        let parameter = matches("/api/payment/{id}", "/api/payment/history")
            .unwrap()
            .1;
        assert!(literal > parameter);
        assert_eq!(
            segments("/files/{proxy+}"),
            vec![
                Segment::Literal("files".into()),
                Segment::Greedy("proxy".into())
            ]
        );
        assert_eq!(percent_decode("a%20b"), "a b");
    }

    #[test]
    fn a_method_the_path_is_not_routed_for_is_a_405_naming_the_ones_it_is() {
        let rank = |path: &str, request: &str| matches(path, request).unwrap().1;
        // `/api/wallet/create` is POST's literal route, not the GET of `/api/wallet/{id}`.
        let allowed = allowed_methods(vec![
            (Method::GET, rank("/api/wallet/{id}", "/api/wallet/create")),
            (
                Method::POST,
                rank("/api/wallet/create", "/api/wallet/create"),
            ),
        ]);
        assert_eq!(allowed, vec![Method::POST]);
        let allowed = allowed_methods(vec![
            (Method::PUT, rank("/api/x/{id}", "/api/x/1")),
            (Method::GET, rank("/api/x/{id}", "/api/x/1")),
            (Method::PUT, rank("/api/x/{id}", "/api/x/1")),
        ]);
        let response = method_not_allowed(allowed);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET, PUT");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }

    #[test]
    fn binary_bodies_are_base64() {
        assert!(is_text(None));
        assert!(is_text(Some(&HeaderValue::from_static(
            "application/json; charset=utf-8"
        ))));
        assert!(!is_text(Some(&HeaderValue::from_static(
            "multipart/form-data; boundary=x"
        ))));
    }

    #[test]
    fn answers_become_http() {
        let response = http_response(json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["session=1; HttpOnly"],
            "body": "eyJvayI6dHJ1ZX0=",
            "isBase64Encoded": true
        }));
        assert_eq!(response.status(), StatusCode::CREATED);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers.get_all("x-many").iter().count(), 2);
        assert_eq!(headers["set-cookie"], "session=1; HttpOnly");
    }
}
