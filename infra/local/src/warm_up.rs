//! The invocation that starts one execution environment of every function when the local
//! platform starts, as provisioned concurrency of one would on Lambda: the emulator starts a
//! bootstrap only on its first invocation, and that is when Lambda's `REPORT` line carries the
//! function's `Init Duration`. The startup log thus shows every function's cold start, and the
//! first request of a test or a user meets a warm environment (later concurrent requests still
//! start cold ones).
//!
//! The event does nothing: an HTTP function gets API Gateway's event for a path no route of
//! template.yaml serves (its router answers 404, no AWS call); a queue or stream consumer gets
//! an empty batch; a function that only runs on a schedule gets its scheduled event, the one
//! run it would make on its rate anyway; an authorizer gets the event of a request without a
//! token (it reads nothing).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext};
use axum::http::Method;
use serde_json::{Value, json};

use crate::authorizer::authorizer_event;
use crate::manifest::Function;
use crate::scheduled::scheduled_event;

/// The path of the HTTP functions' warm-up event; no route of template.yaml has it.
pub const WARM_UP_PATH: &str = "/_finflow/warm-up";

/// The event that starts `logical_id`'s first environment without doing anything.
pub fn warm_up_event(function: &Function, logical_id: &str, region: &str, account: &str) -> Value {
    if !function.http_routes.is_empty() {
        return serde_json::to_value(http_warm_up(account))
            .expect("an API Gateway event serializes");
    }
    if function.authorizer {
        let event = authorizer_event(&http_warm_up(account), region);
        return serde_json::to_value(event).expect("an authorizer event serializes");
    }
    match function.schedules.iter().find(|schedule| schedule.enabled) {
        Some(schedule) if function.sqs_sources.is_empty() && function.stream_sources.is_empty() => {
            scheduled_event(region, account, logical_id, &schedule.name)
        }
        _ => json!({ "Records": [] }),
    }
}

#[allow(deprecated)]
fn http_warm_up(account: &str) -> ApiGatewayV2httpRequest {
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.method = Method::GET;
    context.http.path = Some(WARM_UP_PATH.into());
    context.http.source_ip = Some("127.0.0.1".into());
    context.route_key = Some("$default".into());
    context.stage = Some("$default".into());
    context.account_id = Some(account.to_owned());
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(WARM_UP_PATH.into());
    event.raw_query_string = Some(String::new());
    event.request_context = context;
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{HttpRoute, Schedule, SqsSource};

    fn function() -> Function {
        Function {
            service: "auth".into(),
            binary: "auth-session".into(),
            environment: Default::default(),
            http_routes: Vec::new(),
            sqs_sources: Vec::new(),
            stream_sources: Vec::new(),
            schedules: Vec::new(),
            authorizer: false,
            permissions: Vec::new(),
        }
    }

    #[test]
    fn http_functions_get_a_path_no_route_serves() {
        let mut http = function();
        http.http_routes.push(HttpRoute {
            method: "POST".into(),
            path: "/auth/login".into(),
            authorizer: None,
        });
        let event = warm_up_event(&http, "AuthSessionFunction", "us-east-1", "000000000000");
        assert_eq!(event["rawPath"], WARM_UP_PATH);
        assert_eq!(event["requestContext"]["http"]["method"], "GET");
        assert_eq!(event["version"], "2.0");
    }

    #[test]
    fn consumers_get_an_empty_batch_and_schedules_their_event() {
        let mut consumer = function();
        consumer.sqs_sources.push(SqsSource {
            queue: "q".into(),
            queue_url: "http://q".into(),
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            batch_size: 10,
            report_batch_item_failures: true,
        });
        assert_eq!(
            warm_up_event(&consumer, "C", "us-east-1", "000000000000"),
            json!({ "Records": [] })
        );
        let mut sweeper = function();
        sweeper.schedules.push(Schedule {
            name: "Sweep".into(),
            expression: "rate(1 minute)".into(),
            enabled: true,
        });
        let event = warm_up_event(&sweeper, "S", "us-east-1", "000000000000");
        assert_eq!(event["detail-type"], "Scheduled Event");
        let mut authorizer = function();
        authorizer.authorizer = true;
        let event = warm_up_event(&authorizer, "A", "us-east-1", "000000000000");
        assert_eq!(event["type"], "REQUEST");
        assert!(event["headers"].get("authorization").is_none());
    }
}
