//! Which IAM actions on which resources a function's code uses, read off the requests it
//! sends: the evidence its template policies are checked against (`tests/least_privilege.rs`),
//! so that what a function is granted derives from what its code does, not from a second
//! list kept by hand.
//!
//! Each request is named as IAM authorizes it: a DynamoDB transaction by the action of each
//! of its items (`PutItem`, `UpdateItem`, `ConditionCheckItem`, `DeleteItem`, `GetItem`), a
//! query on an index by the index, an EventBridge `PutEvents` by each entry's bus. Each
//! (action, resource) is logged once per execution environment, as `aws access` with
//! `aws_action` and `aws_resource`; a resource is written without the region and account the
//! function does not know: `table/<name>[/index/<index>]`, `queue/<name>`,
//! `event-bus/<name>`, or the ARN the request carries (topics, streams).
//!
//! Some accesses are made only when a call fails (reading a transaction's witness after a lost
//! answer, releasing an idempotency key after a 5xx), which no test can be counted on to
//! provoke in every function. The code that would make them says so where the path begins
//! ([`reachable`]), so their grants are recognised as used rather than cut as excess.
//!
//! What it does not see: calls whose body it cannot read (none of FinFlow's), and calls the
//! Lambda service makes for the function (event source polling, logs), which are not the
//! code's and are granted by the managed policies SAM attaches.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde_json::Value;

use crate::aws_http::Operation;

/// An IAM action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    /// `service:Action`, as IAM names it.
    pub action: String,
    pub resource: String,
}

static SEEN: LazyLock<Mutex<HashSet<Access>>> = LazyLock::new(Default::default);

/// Logs each access of `request`, a call of `operation`, this environment has not logged
/// before.
pub(crate) fn note(operation: &Operation, request: &HttpRequest) {
    let body = request.body().bytes().unwrap_or_default();
    for access in accesses(operation, body) {
        log_once(access);
    }
}

/// Logs an access the running path makes if a call fails, as if it had been made.
pub(crate) fn reachable(action: &str, resource: String) {
    log_once(Access {
        action: action.to_owned(),
        resource,
    });
}

fn log_once(access: Access) {
    let new = SEEN.lock().expect("not poisoned").insert(access.clone());
    if new {
        tracing::info!(
            aws_action = %access.action,
            aws_resource = %access.resource,
            "aws access"
        );
    }
}

/// The accesses a request of `operation` with `body` makes.
pub(crate) fn accesses(operation: &Operation, body: &[u8]) -> Vec<Access> {
    let access = |action: &str, resource: String| Access {
        action: format!("{}:{action}", operation.service),
        resource,
    };
    if operation.service == "sns" {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        return form
            .into_iter()
            .filter(|(key, _)| key == "TopicArn")
            .map(|(_, arn)| access(&operation.name, arn))
            .collect();
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    match (operation.service, operation.name.as_str()) {
        ("dynamodb", "TransactWriteItems" | "TransactGetItems") => json["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, request) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    _ => return None,
                };
                Some(access(action, table(&text(request, "TableName")?, None)))
            })
            .collect(),
        ("dynamodb", "BatchGetItem" | "BatchWriteItem") => json["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| access(&operation.name, table(name, None)))
            .collect(),
        ("dynamodb", _) => text(&json, "TableName")
            .map(|name| access(&operation.name, table(&name, text(&json, "IndexName"))))
            .into_iter()
            .collect(),
        ("dynamodbstreams", _) => text(&json, "StreamArn")
            .map(|arn| access(&operation.name, arn))
            .into_iter()
            .collect(),
        ("sqs", _) => text(&json, "QueueUrl")
            .and_then(|url| url.rsplit('/').next().map(str::to_owned))
            .map(|name| access(&operation.name, format!("queue/{name}")))
            .into_iter()
            .collect(),
        ("events", "PutEvents") => json["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| access("PutEvents", bus(text(entry, "EventBusName"))))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect(),
        ("events", _) => vec![access(&operation.name, bus(text(&json, "Name")))],
        ("secretsmanager", _) => text(&json, "SecretId")
            .map(|arn| access(&operation.name, arn))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn table(name: &str, index: Option<String>) -> String {
    match index {
        Some(index) => format!("table/{name}/index/{index}"),
        None => format!("table/{name}"),
    }
}

/// A bus named by name or ARN; none is the account's default bus.
fn bus(name: Option<String>) -> String {
    let name = name.unwrap_or_else(|| "default".into());
    let name = name.rsplit("event-bus/").next().unwrap_or(&name).to_owned();
    format!("event-bus/{name}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn of(service: &'static str, name: &str, body: Value) -> Vec<(String, String)> {
        let operation = Operation {
            service,
            name: name.into(),
        };
        let mut found: Vec<_> = accesses(&operation, body.to_string().as_bytes())
            .into_iter()
            .map(|a| (a.action, a.resource))
            .collect();
        found.sort();
        found
    }

    fn pair(action: &str, resource: &str) -> (String, String) {
        (action.into(), resource.into())
    }

    #[test]
    fn a_transaction_is_each_of_its_items_actions() {
        let body = json!({ "TransactItems": [
            { "Put": { "TableName": "outbox", "Item": {} } },
            { "Update": { "TableName": "wallets", "Key": {} } },
            { "ConditionCheck": { "TableName": "wallets", "Key": {} } },
        ]});
        assert_eq!(
            of("dynamodb", "TransactWriteItems", body),
            [
                pair("dynamodb:ConditionCheckItem", "table/wallets"),
                pair("dynamodb:PutItem", "table/outbox"),
                pair("dynamodb:UpdateItem", "table/wallets"),
            ]
        );
    }

    #[test]
    fn queries_name_their_index_and_other_services_their_resource() {
        let query = json!({ "TableName": "payments", "IndexName": "by-payer" });
        assert_eq!(
            of("dynamodb", "Query", query),
            [pair("dynamodb:Query", "table/payments/index/by-payer")]
        );
        let send = json!({ "QueueUrl": "http://127.0.0.1:4566/000000000000/rebuild" });
        assert_eq!(
            of("sqs", "SendMessage", send),
            [pair("sqs:SendMessage", "queue/rebuild")]
        );
        let put =
            json!({ "Entries": [{ "EventBusName": "finflow" }, { "EventBusName": "finflow" }] });
        assert_eq!(
            of("events", "PutEvents", put),
            [pair("events:PutEvents", "event-bus/finflow")]
        );
        let operation = Operation {
            service: "sns",
            name: "Publish".into(),
        };
        let form = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Aemail&Message=x";
        assert_eq!(
            accesses(&operation, form),
            [Access {
                action: "sns:Publish".into(),
                resource: "arn:aws:sns:us-east-1:1:email".into()
            }]
        );
    }
}
