//! Delivers an SQS queue to a consumer function as Lambda's event source mapping does:
//! batches of up to `batch_size` invoked as the SQS event, partial batch failures from the
//! function's answer (`batchItemFailures`, with ReportBatchItemFailures), a function error
//! failing the whole batch, and failed messages left on the queue to reappear after the
//! visibility timeout and reach the DLQ after maxReceiveCount.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use finflow_local::lambda::FunctionPool;
use finflow_local::manifest::SqsSource;

use crate::faults::ConsumerCrashes;

pub async fn run(
    function: String,
    source: SqsSource,
    region: String,
    client: aws_sdk_sqs::Client,
    consumer: Arc<FunctionPool>,
    crashes: Arc<ConsumerCrashes>,
) {
    tracing::info!(%function, queue = %source.queue, "polling queue");
    loop {
        let received = client
            .receive_message()
            .queue_url(&source.queue_url)
            .max_number_of_messages(source.batch_size.clamp(1, 10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(%function, error = %aws_sdk_sqs::error::DisplayErrorContext(error), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut batch = SqsEvent::default();
        batch.records = messages
            .iter()
            .map(|m| lambda_message(m, &source, &region))
            .collect();
        let event = serde_json::to_value(&batch).expect("an SQS event serializes");
        let response: SqsBatchResponse = match consumer.invoke(&event).await {
            Ok(answer) => match serde_json::from_value(answer) {
                Ok(response) => response,
                // Lambda treats an answer it cannot read as a failure of the whole batch.
                Err(error) => {
                    tracing::warn!(%function, %error, "the answer is not an SQS batch response; the batch will be redelivered");
                    continue;
                }
            },
            Err(error) => {
                tracing::warn!(%function, %error, "the batch failed; it will be redelivered");
                continue;
            }
        };
        if crashes.crash_now(&function) {
            // The batch ran; its answer is lost. SQS delivers it again, as after a timeout.
            tracing::warn!(%function, messages = messages.len(), "consumer crash injected");
            continue;
        }
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier)
            .collect();
        // Without ReportBatchItemFailures one failure fails the whole batch, as on Lambda.
        if !failed.is_empty() && !source.report_batch_item_failures {
            continue;
        }
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            .enumerate()
            .filter_map(|(index, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        if done.is_empty() {
            continue;
        }
        if let Err(error) = client
            .delete_message_batch()
            .queue_url(&source.queue_url)
            .set_entries(Some(done))
            .send()
            .await
        {
            tracing::warn!(%function, error = %aws_sdk_sqs::error::DisplayErrorContext(error), "delete failed; messages will be redelivered");
        }
    }
}

fn lambda_message(
    message: &aws_sdk_sqs::types::Message,
    source: &SqsSource,
    region: &str,
) -> SqsMessage {
    let mut lambda = SqsMessage::default();
    lambda.message_id = message.message_id().map(str::to_owned);
    lambda.receipt_handle = message.receipt_handle().map(str::to_owned);
    lambda.body = message.body().map(str::to_owned);
    lambda.md5_of_body = message.md5_of_body().map(str::to_owned);
    lambda.attributes = message
        .attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    lambda.event_source = Some("aws:sqs".into());
    lambda.event_source_arn = Some(source.queue_arn.clone());
    lambda.aws_region = Some(region.to_owned());
    lambda
}
