//! The delivery queue's consumer. Each invocation gets up to ten SQS
//! records; they are processed concurrently, each in its own span, and only
//! the ids of the records to retry are returned in `batchItemFailures` (the
//! event source mapping uses `ReportBatchItemFailures`). The invocation
//! itself never fails: that would redeliver the records that succeeded.
//!
//! What a message means and when it is retried: see
//! [`notify_shared::service::worker`].
#![forbid(unsafe_code)]
// The worker's future nests the whole pipeline (worker, store, SDK): its
// layout takes rustc past the default query depth of 128.
#![recursion_limit = "256"]

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use notify_shared::clock::invocation_deadline;
use notify_shared::metrics;
use notify_shared::service::queue_schema::{KEY_ATTRIBUTE, SCHEMA_ATTRIBUTE};
use notify_shared::service::worker::{chain, fair, MessageMeta, Verdict, Worker};
use tracing::Instrument;

pub async fn handle(
    worker: &Worker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
    Ok(process_event_until(worker, event.payload, deadline).await)
}

/// Processes every record concurrently, but each tenant only up to its
/// share (the rest is set aside: `service::worker::fair`); the answer lists
/// the failed ones.
pub async fn process_event(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    process_event_until(worker, event, None).await
}

/// [`process_event`] within an invocation that ends at `deadline`.
pub async fn process_event_until(
    worker: &Worker,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    record_queue_dwell(worker, &event);
    let records: Vec<(Option<String>, MessageMeta)> = event
        .records
        .into_iter()
        .map(|record| {
            let meta = meta_of(&record, deadline);
            (record.body, meta)
        })
        .collect();
    let aside = worker.plan_set_aside(
        &records
            .iter()
            .map(|(body, meta)| (body.as_deref(), meta))
            .collect::<Vec<_>>(),
    );
    let count = records.len();
    let set_aside = aside.iter().filter(|aside| **aside).count();
    let failed: Vec<String> = futures::future::join_all(
        records
            .iter()
            .zip(aside)
            .map(|((body, meta), aside)| process_record(worker, body.as_deref(), meta, aside)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    tracing::info!(
        records = count,
        set_aside,
        failed = failed.len(),
        "batch processed"
    );
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    response
}

/// The `QueueDwell` metric: how long each record waited since it was sent
/// (SQS's `SentTimestamp`; a redelivered message counts from its first
/// send), one line for the invocation.
fn record_queue_dwell(worker: &Worker, event: &SqsEvent) {
    let dwell: Vec<Duration> = event
        .records
        .iter()
        .filter_map(|record| record.attributes.get("SentTimestamp"))
        .filter_map(|sent| metrics::since_epoch_ms(sent))
        .collect();
    worker
        .delivery
        .metrics()
        .record_queue_dwell(metrics::DELIVERY_QUEUE, &dwell);
}

/// What the worker needs of a record besides its body.
pub fn meta_of(record: &SqsMessage, deadline: Option<Instant>) -> MessageMeta {
    let hop = record
        .message_attributes
        .get(chain::HOP_ATTRIBUTE)
        .and_then(|attribute| attribute.string_value.as_deref())
        .and_then(|hop| hop.parse().ok())
        .unwrap_or(0);
    MessageMeta {
        message_id: record.message_id.clone().unwrap_or_default(),
        receive_count: record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1),
        receipt_handle: record.receipt_handle.clone(),
        deadline,
        hop,
        schema: record
            .message_attributes
            .get(SCHEMA_ATTRIBUTE)
            .and_then(|attribute| attribute.string_value.clone()),
        key_id: record
            .message_attributes
            .get(KEY_ATTRIBUTE)
            .and_then(|attribute| attribute.string_value.clone()),
    }
}

/// The record's message id when it must be retried (or is poison). A record
/// `aside` is sent to the back of the queue instead, or processed when that
/// fails.
async fn process_record(
    worker: &Worker,
    body: Option<&str>,
    meta: &MessageMeta,
    aside: bool,
) -> Option<String> {
    let span = tracing::info_span!(
        "message",
        message_id = %meta.message_id,
        receive_count = meta.receive_count
    );
    let verdict = async {
        match body {
            Some(body) if aside && set_aside(worker, body, meta).await => Verdict::Done,
            Some(body) => worker.process(body, meta).await.verdict,
            None => {
                tracing::error!("poison message: no body");
                Verdict::Poison("no body")
            }
        }
    }
    .instrument(span)
    .await;
    if !verdict.is_failure() {
        return None;
    }
    if meta.message_id.is_empty() {
        // Reporting an empty id would fail the whole batch.
        tracing::error!("a failed record has no message id; it cannot be reported");
        return None;
    }
    Some(meta.message_id.clone())
}

/// Whether `body` went to the back of the queue (then it is acknowledged).
async fn set_aside(worker: &Worker, body: &str, meta: &MessageMeta) -> bool {
    let Some(tenant_id) = fair::tenant_of(body) else {
        return false;
    };
    match worker.set_aside(body, &tenant_id, meta).await {
        Ok(()) => {
            tracing::info!(tenant_id, "over its tenant's share: set aside");
            true
        }
        Err(err) => {
            tracing::warn!(tenant_id, error = %err, "could not set a message aside; processing it");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::service::delivery::Delivery;
    use notify_shared::service::worker::WorkerSettings;
    use notify_shared::testing::offline_app;

    const EVENT: &str = include_str!("../../../events/delivery-worker.json");

    fn offline_worker() -> Worker {
        let app = offline_app();
        match Delivery::from_app(&app) {
            Ok(delivery) => Worker::new(app, delivery, WorkerSettings::default()),
            Err(err) => panic!("provider clients: {err}"),
        }
    }

    fn fixture() -> SqsEvent {
        match serde_json::from_str(EVENT) {
            Ok(event) => event,
            Err(err) => panic!("events/delivery-worker.json does not parse: {err}"),
        }
    }

    fn with_body(id: &str, body: Option<&str>) -> SqsMessage {
        let mut record = fixture().records.remove(0);
        record.message_id = Some(id.to_owned());
        record.body = body.map(str::to_owned);
        record
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect()
    }

    #[test]
    fn the_fixture_is_one_deliver_message_as_lambda_sends_it() {
        let event = fixture();
        assert_eq!(event.records.len(), 1);
        let record = &event.records[0];
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
        let body = record.body.as_deref().unwrap_or_default();
        let message = notify_shared::model::QueueMessage::from_body(body).ok();
        assert_eq!(message.map(|m| m.kind()), Some("deliver"));
    }

    #[tokio::test]
    async fn poison_records_are_reported_every_time_without_any_aws_call() {
        // The offline app cannot reach AWS: only checks before any call pass.
        let worker = offline_worker();
        let mut event = SqsEvent::default();
        event.records = vec![
            with_body("not-json", Some("{oops")),
            with_body(
                "unknown-kind",
                Some(r#"{"kind":"explode","tenant_id":"tnt_x"}"#),
            ),
            with_body(
                "bad-tenant",
                Some(r#"{"kind":"purge_tenant","tenant_id":"TENANT#x"}"#),
            ),
            with_body("no-body", None),
        ];
        for _ in 0..2 {
            let response = process_event(&worker, event.clone()).await;
            assert_eq!(
                failed_ids(&response),
                vec!["not-json", "unknown-kind", "bad-tenant", "no-body"]
            );
        }
    }

    #[tokio::test]
    async fn a_chunk_that_cannot_reach_dynamodb_is_retried_not_acknowledged() {
        let response = process_event(&offline_worker(), fixture()).await;
        assert_eq!(
            failed_ids(&response),
            vec!["059f36b4-87a3-44ab-83d2-661975830a7d"]
        );
    }

    #[tokio::test]
    async fn an_undeliverable_notification_is_poison() {
        let body = r#"{"kind":"deliver","tenant_id":"tnt_4fG7hK2mN9pQ3rS5tV8w","batch_id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","chunk":0,"user_ids":["u"],"notification":{}}"#;
        let mut event = SqsEvent::default();
        event.records = vec![with_body("empty-notification", Some(body))];
        let response = process_event(&offline_worker(), event).await;
        assert_eq!(failed_ids(&response), vec!["empty-notification"]);
    }
}
