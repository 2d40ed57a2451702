//! A Lambda authorizer of an HTTP API as API Gateway runs it (payload 2.0, simple responses,
//! no caching): the event it sends the authorizer for a request, and what it makes of the
//! answer. FinFlow's authorizers have no identity source (a request without the header still
//! reaches the authorizer, and the function answers it in its own words).

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2CustomAuthorizerSimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
};
use serde_json::Value;

/// The authorizer's event for the route request `request`, made in `region`.
pub fn authorizer_event(
    request: &ApiGatewayV2httpRequest,
    region: &str,
) -> ApiGatewayV2CustomAuthorizerV2Request {
    let context = &request.request_context;
    let route_arn = format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}{}",
        context.account_id.as_deref().unwrap_or_default(),
        context.apiid.as_deref().unwrap_or("local"),
        context.stage.as_deref().unwrap_or("$default"),
        context.http.method,
        context.http.path.as_deref().unwrap_or_default(),
    );
    let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
    event.version = Some("2.0".into());
    event.type_ = Some("REQUEST".into());
    event.route_arn = Some(route_arn);
    event.identity_source = Some(Vec::new());
    event.route_key = request.route_key.clone();
    event.raw_path = request.raw_path.clone();
    event.raw_query_string = request.raw_query_string.clone();
    event.cookies = request.cookies.clone().unwrap_or_default();
    event.headers = request.headers.clone();
    event.query_string_parameters = request
        .query_string_parameters
        .iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    event.request_context = request.request_context.clone();
    event.path_parameters = request.path_parameters.clone();
    event
}

/// What API Gateway does with the authorizer's answer.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Invoke the route's function, with the authorizer's context in the request context.
    Allow(Box<ApiGatewayRequestAuthorizer>),
    /// Answer 403 `{"message":"Forbidden"}`.
    Deny,
}

/// The verdict of an authorizer's answer; an answer that is not a simple response is an
/// error (API Gateway answers 500).
pub fn verdict(answer: Value) -> Result<Verdict, String> {
    let answer: ApiGatewayV2CustomAuthorizerSimpleResponse<Value> =
        serde_json::from_value(answer).map_err(|e| format!("not a simple response: {e}"))?;
    if !answer.is_authorized {
        return Ok(Verdict::Deny);
    }
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.fields = match answer.context {
        Value::Object(fields) => fields.into_iter().collect(),
        Value::Null => Default::default(),
        other => return Err(format!("the context is not an object: {other}")),
    };
    Ok(Verdict::Allow(Box::new(authorizer)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_event_carries_the_request_and_the_answer_its_context() {
        let mut request = ApiGatewayV2httpRequest::default();
        request.route_key = Some("GET /api/wallets".into());
        request.raw_path = Some("/api/wallets".into());
        request.request_context.account_id = Some("000000000000".into());
        request.request_context.apiid = Some("local8000".into());
        request.request_context.stage = Some("$default".into());
        request.request_context.http.path = Some("/api/wallets".into());
        request
            .headers
            .insert("authorization", "Bearer t".parse().unwrap());
        let event = serde_json::to_value(authorizer_event(&request, "us-east-1")).unwrap();
        assert_eq!(event["type"], "REQUEST");
        assert_eq!(
            event["routeArn"],
            "arn:aws:execute-api:us-east-1:000000000000:local8000/$default/GET/api/wallets"
        );
        assert_eq!(event["headers"]["authorization"], "Bearer t");

        let Verdict::Allow(authorizer) =
            verdict(json!({ "isAuthorized": true, "context": { "role": "staff" } })).unwrap()
        else {
            panic!("allowed");
        };
        assert_eq!(authorizer.fields["role"], "staff");
        assert_eq!(
            verdict(json!({ "isAuthorized": false })).unwrap(),
            Verdict::Deny
        );
        assert!(verdict(json!({ "statusCode": 200 })).is_err());
    }
}
