//! The shape of a FinFlow read, for `infra/bench`'s comparison with Python 3.11 and boto3
//! (`infra/bench/python/probe.py`, its twin): a DynamoDB client made during init with the
//! SDK's defaults and FinFlow's HTTP client, one GetItem per invocation, so that the first invocation pays for the
//! client's first call.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The HTTP client FinFlow's functions use; only it is linked from the shared crate.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(finflow_shared::aws_http::https_client())
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = std::env::var("PROBE_TABLE")?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        async move {
            let item = dynamodb
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("bench#probe".into()))
                .key("sk", AttributeValue::S("bench#probe".into()))
                .send()
                .await?
                .item;
            let body = if item.is_some() { "found" } else { "absent" };
            Ok::<_, Error>(json!({ "statusCode": 200, "body": body }))
        }
    }))
    .await
}
