//! The webhook queue's consumer. Each invocation gets up to ten records,
//! processed concurrently, each in its own span; only the ids of the
//! records to retry are returned in `batchItemFailures` (the event source
//! mapping uses `ReportBatchItemFailures`), so a delivered event is never
//! sent again because another failed. The invocation itself never fails.
//!
//! What a record means and when it is retried: see
//! [`notify_shared::service::webhooks::dispatch`].
#![forbid(unsafe_code)]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use notify_shared::service::webhooks::dispatch::{Dispatched, Dispatcher, Receipt};
use tracing::Instrument;

pub async fn handle(
    dispatcher: &Dispatcher,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_event(dispatcher, event.payload).await)
}

/// Every record at once; the answer lists the ones to retry.
pub async fn process_event(dispatcher: &Dispatcher, event: SqsEvent) -> SqsBatchResponse {
    let count = event.records.len();
    let failed: Vec<String> = futures::future::join_all(
        event
            .records
            .iter()
            .map(|record| process_record(dispatcher, record)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    tracing::info!(records = count, failed = failed.len(), "batch processed");
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    response
}

/// The record's message id when it must be retried.
async fn process_record(dispatcher: &Dispatcher, record: &SqsMessage) -> Option<String> {
    let message_id = record.message_id.clone().unwrap_or_default();
    let receipt = Receipt {
        receive_count: record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1),
        receipt_handle: record.receipt_handle.clone(),
    };
    let span = tracing::info_span!("message", message_id = %message_id, receive_count = receipt.receive_count);
    let dispatched = async {
        match record.body.as_deref() {
            Some(body) => dispatcher.process(body, &receipt).await,
            None => {
                tracing::error!("webhook message without a body dropped");
                Dispatched::Done
            }
        }
    }
    .instrument(span)
    .await;
    if dispatched == Dispatched::Done {
        return None;
    }
    if message_id.is_empty() {
        // Reporting an empty id would fail the whole batch.
        tracing::error!("a failed record has no message id; it cannot be reported");
        return None;
    }
    Some(message_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::offline_app;

    const EVENT: &str = include_str!("../../../events/webhook-dispatcher.json");

    fn fixture() -> SqsEvent {
        match serde_json::from_str(EVENT) {
            Ok(event) => event,
            Err(err) => panic!("events/webhook-dispatcher.json does not parse: {err}"),
        }
    }

    fn offline_dispatcher() -> Dispatcher {
        match Dispatcher::from_app(&offline_app()) {
            Ok(dispatcher) => dispatcher,
            Err(err) => panic!("dispatcher: {err}"),
        }
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect()
    }

    #[test]
    fn the_fixture_is_one_event_for_one_webhook_as_lambda_sends_it() {
        let event = fixture();
        assert_eq!(event.records.len(), 1);
        let body: serde_json::Value =
            serde_json::from_str(event.records[0].body.as_deref().unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(body["type"], "batch.completed");
        assert!(body["webhook_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("wh_"));
    }

    #[tokio::test]
    async fn an_event_that_cannot_reach_dynamodb_is_retried_and_a_poison_one_dropped() {
        let dispatcher = offline_dispatcher();
        let mut event = fixture();
        let mut poison = event.records[0].clone();
        poison.message_id = Some("poison".to_owned());
        poison.body = Some("{oops".to_owned());
        event.records.push(poison);
        let response = process_event(&dispatcher, event).await;
        assert_eq!(
            failed_ids(&response),
            vec!["5d2f7c1e-0b3a-4e8f-9c6d-1a2b3c4d5e6f"]
        );
    }
}
