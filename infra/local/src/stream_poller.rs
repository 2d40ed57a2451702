//! Feeds a DynamoDB stream to the outbox relay function as Lambda's stream event source
//! mapping does: records in order, invoked as the DynamoDB stream event; on a reported
//! failure (`batchItemFailures`) the records from the failed one on, and on a function error
//! all of them, again (after a pause) before anything newer, so one shard never skips an event. Unless a test armed the fault switch to
//! drop new records (`POST /faults/stream`), simulating a stream that lost them.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use serde_json::{Value, json};

use crate::faults::FaultSwitch;
use finflow_local::lambda::FunctionPool;
use finflow_local::manifest::StreamSource;

const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How long an empty shard waits before the next GetRecords. Lambda polls a shard four times a
/// second; locally every cascade crosses the outbox stream once per hop, so the local platform
/// looks more often (a GetRecords on the emulator costs about a millisecond).
const IDLE_PAUSE: Duration = Duration::from_millis(25);

pub async fn run(
    function: String,
    source: StreamSource,
    region: String,
    client: aws_sdk_dynamodbstreams::Client,
    relay: Arc<FunctionPool>,
    faults: Arc<FaultSwitch>,
) {
    tracing::info!(%function, table = %source.table, "reading stream");
    let mut iterator = loop {
        match shard_iterator(&client, &source, None).await {
            Ok(iterator) => break iterator,
            Err(error) => {
                tracing::warn!(%function, %error, "stream not readable yet");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    };
    let mut pending: Vec<Record> = Vec::new();
    // The last record the relay took, to resume after when an iterator goes stale.
    let mut last_sequence: Option<String> = None;
    loop {
        if pending.is_empty() {
            let output = client
                .get_records()
                .shard_iterator(&iterator)
                .limit(source.batch_size.clamp(1, 1000))
                .send()
                .await;
            match output {
                Ok(output) => {
                    pending = output.records.unwrap_or_default();
                    pending.retain(|record| !dropped_by_fault(&function, record, &faults));
                    if let Some(next) = output.next_shard_iterator {
                        iterator = next;
                    }
                }
                Err(error) => {
                    use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
                    // Iterators expire after 15 minutes on AWS, and DynamoDB Local reports one
                    // taken on an empty shard as trimmed: both call for a fresh iterator.
                    let stale = matches!(
                        error.as_service_error(),
                        Some(
                            GetRecordsError::TrimmedDataAccessException(_)
                                | GetRecordsError::ExpiredIteratorException(_)
                        )
                    );
                    tracing::warn!(%function, error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(error), "get_records failed");
                    if stale {
                        match shard_iterator(&client, &source, last_sequence.as_deref()).await {
                            Ok(fresh) => iterator = fresh,
                            Err(error) => {
                                tracing::warn!(%function, %error, "cannot renew the shard iterator")
                            }
                        }
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            }
            if pending.is_empty() {
                tokio::time::sleep(IDLE_PAUSE).await;
                continue;
            }
        }
        let event = serde_json::to_value(lambda_event(&pending, &source, &region))
            .expect("a stream event serializes");
        let response = match relay.invoke(&event).await {
            Ok(answer) => serde_json::from_value::<DynamoDbEventResponse>(answer)
                .map_err(|e| format!("the answer is not a stream batch response: {e}")),
            Err(error) => Err(error.to_string()),
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%function, %error, retrying = pending.len(), "the batch failed; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        match response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        {
            None => {
                last_sequence = pending
                    .last()
                    .and_then(|r| r.dynamodb())
                    .and_then(|d| d.sequence_number())
                    .map(str::to_owned)
                    .or(last_sequence);
                pending.clear();
            }
            Some(failed_sequence) => {
                let position = pending
                    .iter()
                    .position(|r| {
                        r.dynamodb().and_then(|d| d.sequence_number())
                            == Some(failed_sequence.as_str())
                    })
                    .unwrap_or(0);
                pending.drain(..position);
                tracing::warn!(%function, retrying = pending.len(), "relay reported a failure; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// Whether the fault switch drops this new record (taken once per record, when it is read).
fn dropped_by_fault(function: &str, record: &Record, faults: &FaultSwitch) -> bool {
    if record.event_name().map(|n| n.as_str()) != Some("INSERT") {
        return false;
    }
    let key = record
        .dynamodb()
        .and_then(|d| d.keys())
        .and_then(|keys| keys.get("pk"))
        .and_then(|pk| pk.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let dropped = faults.take_stream_drop(&key);
    if dropped {
        tracing::warn!(%function, pk = %key, "stream record dropped (fault injected)");
    }
    dropped
}

/// An iterator after `after` when given, else at the source's starting position.
async fn shard_iterator(
    client: &aws_sdk_dynamodbstreams::Client,
    source: &StreamSource,
    after: Option<&str>,
) -> Result<String, String> {
    let stream = client
        .describe_stream()
        .stream_arn(&source.stream_arn)
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
    let shard = stream
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .ok_or("the stream has no shard")?
        .to_owned();
    let request = client
        .get_shard_iterator()
        .stream_arn(&source.stream_arn)
        .shard_id(shard);
    let request = match after {
        Some(sequence) => request
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence),
        None if source.starting_position == "LATEST" => {
            request.shard_iterator_type(ShardIteratorType::Latest)
        }
        None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
    };
    request
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?
        .shard_iterator
        .ok_or_else(|| "no shard iterator".to_owned())
}

/// The JSON Lambda would deliver, parsed into the same type the relay's Lambda receives.
fn lambda_event(records: &[Record], source: &StreamSource, region: &str) -> StreamEvent {
    let records: Vec<Value> = records
        .iter()
        .map(|record| {
            let change = record.dynamodb();
            json!({
                "eventID": record.event_id(),
                "eventName": record.event_name().map(|n| n.as_str()),
                "eventVersion": record.event_version(),
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "eventSourceARN": source.stream_arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time()).map(|t| t.as_secs_f64()),
                    "Keys": change.and_then(|c| c.keys()).map(item_json),
                    "NewImage": change.and_then(|c| c.new_image()).map(item_json),
                    "OldImage": change.and_then(|c| c.old_image()).map(item_json),
                    "SequenceNumber": change.and_then(|c| c.sequence_number()),
                    "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or(0),
                    "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str()),
                }
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records }))
        .expect("stream records convert to Lambda's shape")
}

fn item_json(item: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

fn attribute_json(value: &AttributeValue) -> Value {
    let b64 = |blob: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(values) => json!({ "SS": values }),
        AttributeValue::Ns(values) => json!({ "NS": values }),
        AttributeValue::Bs(values) => json!({ "BS": values.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(values) => {
            json!({ "L": values.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({ "M": item_json(map) }),
        _ => json!({ "NULL": true }),
    }
}
