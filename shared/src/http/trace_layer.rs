//! Gives every request a trace id, a tracing span that carries it (with the request's
//! idempotency key, so that every line of a money movement can be found by the key the client
//! holds; `crate::telemetry::logs`), and an access log line with the AWS calls it made
//! (`crate::round_trips`).

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

use crate::idempotency::IdempotencyKey;
use crate::round_trips::recorded;
use crate::trace::TraceId;

pub const TRACE_HEADER: &str = "x-trace-id";

fn trace_id_of(request: &Request) -> TraceId {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    header("traceparent")
        .and_then(TraceId::from_traceparent)
        .or_else(|| header("x-amzn-trace-id").and_then(TraceId::from_amzn_trace_id))
        .or_else(|| header(TRACE_HEADER).and_then(TraceId::parse))
        .unwrap_or_else(TraceId::generate)
}

pub async fn trace_requests(mut request: Request, next: Next) -> Response {
    let trace_id = trace_id_of(&request);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(trace_id.clone());
    // An invalid key is the handler's 422 to answer; the span just goes without it.
    let idempotency_key = IdempotencyKey::of_headers(request.headers()).ok().flatten();
    let span = tracing::info_span!(
        "request",
        traceId = %trace_id,
        idempotencyKey = idempotency_key.as_ref().map(IdempotencyKey::as_str),
        %method,
        %path
    );
    let started = Instant::now();
    let (mut response, aws) = recorded(next.run(request).instrument(span.clone())).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            aws_calls = aws.calls,
            aws_sequential = aws.sequential,
            aws_timeline = %aws.timeline.join(" "),
            "request handled"
        )
    });
    if let Ok(value) = HeaderValue::from_str(trace_id.as_str()) {
        response.headers_mut().insert(TRACE_HEADER, value);
    }
    response
}

/// Handlers take the request's trace id as an argument to start the events they emit.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TraceId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<TraceId>()
            .cloned()
            .unwrap_or_else(TraceId::generate))
    }
}
