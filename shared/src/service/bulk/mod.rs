//! Bulk sends: validate, record the batch, enqueue its users in chunks for
//! the delivery worker, answer at once; and the progress report.
//!
//! # Request rules
//!
//! * `user_ids` holds 1 to 10,000 entries as sent (else 400 naming
//!   `user_ids`); repeats are dropped, first occurrence kept.
//! * A user id must be 1 to 256 characters without control characters,
//!   U+FFFE or U+FFFF (SQS cannot carry them).
//!   Invalid ids do not fail the request: they are counted in `failed`
//!   and never enqueued. When no id at all is valid the request is refused
//!   with 400 naming the first one (`user_ids[0]`): there is nothing to send.
//! * The notification is validated and encoded for both providers before
//!   anything is written (400, or 413 over a provider's size limit).
//!
//! # Enqueueing, and what a failure leaves behind
//!
//! The batch record is written first in state `pending`, then the chunks go
//! to SQS ([`SEND_BATCH_ENTRIES`] messages per `SendMessageBatch` call, each
//! call under SQS's 256 KiB), then the record turns `open` and the answer
//! is 200. Workers deliver only chunks of `open` batches; a chunk of a
//! `pending` batch is retried a few seconds later.
//!
//! If any chunk cannot be enqueued (after the SDK's and our own retries),
//! the record turns `aborted` and the caller gets 503: the chunks already
//! on the queue are then dropped by the worker without delivering anything,
//! and the status endpoint answers 404 for the batch. So a failed request
//! delivers nothing and reports nothing, and retrying it (a new batch, or
//! the same `Idempotency-Key`, which does not store 5xx answers) cannot
//! push twice. Should even the `aborted` write fail, the record stays
//! `pending`: workers keep postponing its chunks until SQS moves them to
//! the dead-letter queue, still delivering nothing.

use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt;

use crate::app::App;
use crate::auth::Caller;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::audience::{audience_of, send_time};
use crate::model::{
    Audience, Batch, BatchState, BatchStatus, BulkNotificationRequest, BulkNotificationResponse,
    BulkStatus, BulkTarget, Notification,
};
use crate::push::EncodedNotification;
use crate::service::queue_schema::{
    key_attribute, schema_attribute, KEY_ATTRIBUTE, SCHEMA_ATTRIBUTE,
};
use audience::AudienceStart;

mod audience;
mod cancel;
mod plan;
mod results;

pub use audience::{list_pages, page_chunks, send_page};
pub use cancel::cancel_bulk;
pub use plan::{
    pack, plan_batch, plan_calls, plan_chunks, recipients, BulkPlan, PackLimits, Recipients,
    BATCH_RETENTION_SECS, MAX_MESSAGE_BYTES, MAX_SEND_BATCH_BYTES, MAX_USERS_PER_CHUNK,
    MAX_USER_IDS, SEND_BATCH_ENTRIES,
};
pub use results::{bulk_results, ResultsQuery};

/// `SendMessageBatch` calls in flight at once.
const SEND_CONCURRENCY: usize = 4;
/// Re-sends of entries SQS reported as failed within a successful call.
const ENTRY_RETRIES: u32 = 3;

/// `POST /tenants/{tenant_id}/notify/bulk` after authorisation: a list of
/// users now (enqueued here), or an audience or a time (the worker's
/// audience reader enqueues it: `audience.rs`).
pub async fn send_bulk(
    app: &App,
    tenant_id: &str,
    caller: &Caller,
    request: BulkNotificationRequest,
) -> Result<BulkNotificationResponse> {
    let BulkTarget {
        user_ids,
        topic,
        all_users,
        send_at,
    } = request.target;
    let audience = audience_of(user_ids, topic, all_users)?;
    let send_at = send_time(send_at.as_deref(), now_epoch_seconds())?;
    let notification = request.notification;
    // 400/413 before anything is written, whatever platforms the users have.
    EncodedNotification::new(&notification)?;
    // Checked at cold start (`notify-bulk`'s `main`).
    let queue_url = app
        .config
        .delivery_queue()
        .map_err(|err| Error::internal("sending bulk notification", err))?;
    match (audience, send_at) {
        (Audience::Users(user_ids), None) => {
            let recipients = recipients(user_ids)?;
            send_list_now(app, tenant_id, caller, recipients, &notification, queue_url).await
        }
        (audience, send_at) => {
            let start = AudienceStart {
                audience,
                send_at,
                notification: &notification,
                queue_url,
            };
            audience::start(app, tenant_id, caller, start).await
        }
    }
}

/// A list of users, now: planned, recorded and enqueued by this request.
async fn send_list_now(
    app: &App,
    tenant_id: &str,
    caller: &Caller,
    recipients: Recipients,
    notification: &Notification,
    queue_url: &str,
) -> Result<BulkNotificationResponse> {
    let batch_id = uuid::Uuid::new_v4().to_string();
    let BulkPlan { batch, bodies } = plan_batch(
        tenant_id,
        &batch_id,
        caller.actor(),
        recipients,
        notification,
        now_rfc3339(),
        now_epoch_seconds(),
    )?;
    let (total, accepted, rejected) = (batch.total, batch.accepted, batch.rejected);
    app.store.insert_batch(&batch).await?;
    let key = crate::limits::metered_key_id();
    let enqueued = enqueue(&app.sqs, queue_url, tenant_id, &bodies, key.as_deref()).await;
    if let Err(err) = enqueued {
        return Err(abort_batch(app, tenant_id, &batch_id, false, err).await);
    }
    open_batch(app, tenant_id, &batch_id, BatchState::Open).await?;
    tracing::info!(
        tenant_id,
        batch_id,
        total,
        accepted,
        rejected,
        chunks = bodies.len(),
        "bulk batch queued"
    );
    Ok(BulkNotificationResponse {
        batch_id,
        total: Some(total),
        success: accepted,
        failed: rejected,
        status: BatchStatus::Queued,
        send_at: None,
    })
}

/// The batch could not be enqueued or scheduled: aborted (nothing of it is
/// delivered), and the caller gets 503 for `err`, whatever its cause: the
/// batch was not accepted and a retry is safe.
async fn abort_batch(
    app: &App,
    tenant_id: &str,
    batch_id: &str,
    scheduled: bool,
    err: Error,
) -> Error {
    match mark_aborted(app, tenant_id, batch_id, scheduled).await {
        Ok(_) => tracing::warn!(tenant_id, batch_id, "enqueueing failed; batch aborted"),
        Err(abort) => tracing::error!(
            tenant_id,
            batch_id,
            error = %abort,
            "enqueueing failed and the batch could not be marked aborted; it stays pending"
        ),
    }
    err.into_unavailable()
}

/// Turns the enqueued (or scheduled) batch `to` (open or scheduled), so
/// that workers deliver it. When the write fails, the batch is settled
/// rather than left in doubt (its answer may have been lost after it was
/// applied): aborted while still pending, so that nothing is delivered and
/// a retry is safe (503); found at `to`, it is accepted (200). Only when
/// neither can be told does the request end [`Error::Unsettled`], which
/// keeps its `Idempotency-Key` from running again.
async fn open_batch(app: &App, tenant_id: &str, batch_id: &str, to: BatchState) -> Result<()> {
    let failure = match app.store.settle_batch_state(tenant_id, batch_id, to).await {
        Ok(true) => return Ok(()),
        // Aborted or gone (the tenant is being deleted): its chunks deliver
        // nothing.
        Ok(false) => {
            return Err(Error::Unavailable {
                context: "opening batch",
                source: "the batch is no longer pending".into(),
            })
        }
        Err(err) => err,
    };
    tracing::warn!(tenant_id, batch_id, error = %failure, "opening the batch failed; settling it");
    let scheduled = to == BatchState::Scheduled;
    match mark_aborted(app, tenant_id, batch_id, scheduled).await {
        Ok(true) => Err(failure.into_unavailable()),
        // Not pending: open (the failed write was applied after all) or gone.
        Ok(false) => match app.store.get_batch(tenant_id, batch_id).await {
            Ok(Some(batch)) if batch.state == to => Ok(()),
            Ok(_) => Err(failure.into_unavailable()),
            Err(err) => Err(Error::unsettled("opening batch", err)),
        },
        Err(err) => Err(Error::unsettled("opening batch", err)),
    }
}

/// Moves a pending batch to `aborted`; one with a `send_at` leaves the
/// tenant's count of waiting batches with it.
async fn mark_aborted(app: &App, tenant_id: &str, batch_id: &str, scheduled: bool) -> Result<bool> {
    if scheduled {
        app.store
            .abort_pending_scheduled_batch(tenant_id, batch_id)
            .await
    } else {
        app.store
            .settle_batch_state(tenant_id, batch_id, BatchState::Aborted)
            .await
    }
}

/// Sends every body of `tenant_id`'s batch; `Err` (503 or 500) as soon as
/// one cannot be sent. `key_id`: the API key whose pushes these are (the
/// worker counts them in its usage). Returns the number of
/// `SendMessageBatch` calls made.
pub async fn enqueue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    tenant_id: &str,
    bodies: &[String],
    key_id: Option<&str>,
) -> Result<usize> {
    // Owned indices: a closure over borrowed ones would make the future !Send.
    let sends = plan_calls(bodies).into_iter().map(|indices| async move {
        send_call(sqs, queue_url, tenant_id, bodies, &indices, key_id).await
    });
    let mut results = futures::stream::iter(sends).buffer_unordered(SEND_CONCURRENCY);
    let mut made = 0;
    while let Some(result) = results.next().await {
        made += result?;
    }
    Ok(made)
}

/// One `SendMessageBatch` call, plus re-sends of the entries SQS reports
/// failed. Entry ids are the chunk numbers.
async fn send_call(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    tenant_id: &str,
    bodies: &[String],
    indices: &[usize],
    key_id: Option<&str>,
) -> Result<usize> {
    let mut pending: Vec<usize> = indices.to_vec();
    let mut calls = 0;
    let schema = schema_attribute()?;
    let key = key_id.map(key_attribute).transpose()?;
    for attempt in 0..=ENTRY_RETRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        let entries = pending
            .iter()
            .filter_map(|&index| Some((index, bodies.get(index)?)))
            .map(|(index, body)| chunk_entry(index, body, tenant_id, &schema, key.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        calls += 1;
        let output = sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| Error::from_sdk("enqueueing bulk chunks", err))?;
        if output.failed.is_empty() {
            return Ok(calls);
        }
        if let Some(ours) = output.failed.iter().find(|entry| entry.sender_fault) {
            return Err(Error::internal(
                "enqueueing bulk chunks",
                format!("SQS refused an entry: {}", ours.code),
            ));
        }
        tracing::warn!(
            failed = output.failed.len(),
            attempt,
            "SQS failed some entries; sending them again"
        );
        pending = output
            .failed
            .iter()
            .filter_map(|entry| entry.id.parse().ok())
            .collect();
    }
    Err(Error::Unavailable {
        context: "enqueueing bulk chunks",
        source: "SQS kept failing entries".into(),
    })
}

/// The queue entry of chunk `index`: its body, the schema attribute, the
/// enqueueing key's attribute (for an API key's request), and the tenant as
/// `MessageGroupId`, which makes the standard queue an SQS fair queue on
/// AWS (see `service::worker::fair`).
fn chunk_entry(
    index: usize,
    body: &str,
    tenant_id: &str,
    schema: &aws_sdk_sqs::types::MessageAttributeValue,
    key: Option<&aws_sdk_sqs::types::MessageAttributeValue>,
) -> Result<SendMessageBatchRequestEntry> {
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(body)
        .message_attributes(SCHEMA_ATTRIBUTE, schema.clone())
        .message_group_id(tenant_id);
    if let Some(key) = key {
        entry = entry.message_attributes(KEY_ATTRIBUTE, key.clone());
    }
    entry
        .build()
        .map_err(|err| Error::internal("building SQS entry", err))
}

/// `GET /tenants/{tenant_id}/notify/bulk/{batch_id}` after authorisation.
/// Unknown, malformed, another tenant's, and never-opened batches are all 404.
pub async fn bulk_status(app: &App, tenant_id: &str, batch_id: &str) -> Result<BulkStatus> {
    Ok(reported_batch(app, tenant_id, batch_id).await?.report())
}

/// The batch the status and results endpoints report on: 404 for unknown,
/// malformed, another tenant's, expired and never-opened batch ids alike.
async fn reported_batch(app: &App, tenant_id: &str, batch_id: &str) -> Result<Batch> {
    let not_found = || Error::NotFound(format!("batch `{batch_id}` not found"));
    let Ok(parsed) = uuid::Uuid::parse_str(batch_id) else {
        return Err(not_found());
    };
    app.store
        .get_batch(tenant_id, &parsed.hyphenated().to_string())
        .await?
        .filter(|batch| {
            matches!(
                batch.state,
                BatchState::Open | BatchState::Scheduled | BatchState::Cancelled
            )
        })
        .ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_entry_carries_its_tenant_as_message_group_id() {
        let schema = schema_attribute().ok();
        let entry = schema
            .as_ref()
            .and_then(|schema| chunk_entry(3, "{}", "tnt_quiet", schema, None).ok());
        assert_eq!(
            entry.as_ref().and_then(|e| e.message_group_id()),
            Some("tnt_quiet")
        );
        assert_eq!(entry.as_ref().map(|e| e.id()), Some("3"));
    }
}
