//! Bulk sends: validate, record the batch, enqueue its users in chunks for
//! the delivery worker, answer at once; and the progress report.
//!
//! # Request rules
//!
//! * `user_ids` holds 1 to 10,000 entries as sent (else 400 naming
//!   `user_ids`); repeats are dropped, first occurrence kept.
//! * A user id must be 1 to 256 characters without control characters.
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

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt;

use crate::app::App;
use crate::auth::Caller;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::device::validate_user_id;
use crate::model::{
    Batch, BatchState, BatchStatus, BulkNotificationRequest, BulkNotificationResponse, BulkStatus,
    DeliverChunk, Notification, QueueMessage,
};
use crate::push::EncodedNotification;

/// The contract's bound on `user_ids`.
pub const MAX_USER_IDS: usize = 10_000;
/// Users per queue message. 500 users cost one worker well under a second
/// of lookups and pushes, keep a redelivery small, and put 10,000 users in
/// 20 messages: 2 `SendMessageBatch` calls with ordinary user ids.
pub const MAX_USERS_PER_CHUNK: usize = 500;
/// Body size budget of one message, so at least four fit in one call even
/// with the longest user ids.
pub const MAX_MESSAGE_BYTES: usize = 60 * 1024;
/// SQS caps the sum of the bodies of one `SendMessageBatch` call at 256 KiB.
pub const MAX_SEND_BATCH_BYTES: usize = 256 * 1024;
/// SQS caps one `SendMessageBatch` call at 10 entries.
pub const SEND_BATCH_ENTRIES: usize = 10;
/// How long batch records and their progress items are kept (DynamoDB TTL).
pub const BATCH_RETENTION_SECS: i64 = 7 * 24 * 3600;
/// `SendMessageBatch` calls in flight at once.
const SEND_CONCURRENCY: usize = 4;
/// Re-sends of entries SQS reported as failed within a successful call.
const ENTRY_RETRIES: u32 = 3;

/// Distinct valid user ids, in request order, and how many distinct ids
/// were invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients {
    pub accepted: Vec<String>,
    pub rejected: u32,
}

impl Recipients {
    pub fn total(&self) -> u32 {
        count(self.accepted.len()).saturating_add(self.rejected)
    }
}

fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Applies the request rules to `user_ids` (see the module documentation).
pub fn recipients(user_ids: Vec<String>) -> Result<Recipients> {
    if user_ids.is_empty() || user_ids.len() > MAX_USER_IDS {
        return Err(Error::invalid_request(format!(
            "`user_ids` must hold 1 to {MAX_USER_IDS} user ids; it holds {}",
            user_ids.len()
        )));
    }
    let mut seen = HashSet::with_capacity(user_ids.len());
    let mut accepted = Vec::with_capacity(user_ids.len());
    let mut rejected = 0u32;
    let mut first_invalid = None;
    for (index, user_id) in user_ids.into_iter().enumerate() {
        if !seen.insert(user_id.clone()) {
            continue;
        }
        match validate_user_id(&user_id) {
            Ok(()) => accepted.push(user_id),
            Err(_) => {
                rejected += 1;
                first_invalid.get_or_insert(index);
            }
        }
    }
    if accepted.is_empty() {
        let index = first_invalid.unwrap_or_default();
        return Err(Error::invalid_request(format!(
            "`user_ids[{index}]` is not a valid user id (1 to 256 characters without control \
             characters), and no other entry is either"
        )));
    }
    Ok(Recipients { accepted, rejected })
}

/// Splits the users into queue messages: at most [`MAX_USERS_PER_CHUNK`]
/// users and [`MAX_MESSAGE_BYTES`] of body each.
pub fn plan_chunks(
    tenant_id: &str,
    batch_id: &str,
    user_ids: Vec<String>,
    notification: &Notification,
) -> Result<Vec<String>> {
    let encode = |chunk: u32, user_ids: Vec<String>| {
        QueueMessage::Deliver(DeliverChunk {
            tenant_id: tenant_id.to_owned(),
            batch_id: batch_id.to_owned(),
            chunk,
            user_ids,
            notification: notification.clone(),
        })
        .to_body()
        .map_err(|err| Error::internal("encoding queue message", err))
    };
    // The body without users, with the widest chunk number: an upper bound.
    let overhead = encode(u32::MAX, Vec::new())?.len();
    let mut bodies = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = overhead;
    for user_id in user_ids {
        // Quoted and escaped, plus a separating comma.
        let cost = serde_json::to_string(&user_id)
            .map_err(|err| Error::internal("encoding user id", err))?
            .len()
            + 1;
        if !current.is_empty()
            && (current.len() >= MAX_USERS_PER_CHUNK || size + cost > MAX_MESSAGE_BYTES)
        {
            let chunk = count(bodies.len());
            bodies.push(encode(chunk, std::mem::take(&mut current))?);
            size = overhead;
        }
        size += cost;
        current.push(user_id);
    }
    if !current.is_empty() {
        let chunk = count(bodies.len());
        bodies.push(encode(chunk, current)?);
    }
    if let Some(body) = bodies.iter().find(|body| body.len() > MAX_SEND_BATCH_BYTES) {
        return Err(Error::PayloadTooLarge(format!(
            "the notification is too large to queue: a message would be {} bytes",
            body.len()
        )));
    }
    Ok(bodies)
}

/// Groups message bodies (by index) into `SendMessageBatch` calls of at
/// most [`SEND_BATCH_ENTRIES`] entries and [`MAX_SEND_BATCH_BYTES`].
pub fn plan_calls(bodies: &[String]) -> Vec<Vec<usize>> {
    let mut calls: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for (index, body) in bodies.iter().enumerate() {
        if !current.is_empty()
            && (current.len() >= SEND_BATCH_ENTRIES || size + body.len() > MAX_SEND_BATCH_BYTES)
        {
            calls.push(std::mem::take(&mut current));
            size = 0;
        }
        size += body.len();
        current.push(index);
    }
    if !current.is_empty() {
        calls.push(current);
    }
    calls
}

/// `POST /tenants/{tenant_id}/notify/bulk` after authorisation.
pub async fn send_bulk(
    app: &App,
    tenant_id: &str,
    caller: &Caller,
    request: BulkNotificationRequest,
) -> Result<BulkNotificationResponse> {
    let recipients = recipients(request.target.user_ids)?;
    let notification = request.notification;
    // 400/413 before anything is written, whatever platforms the users have.
    EncodedNotification::new(&notification)?;
    let queue_url = app.config.delivery_queue_url.as_deref().ok_or_else(|| {
        Error::internal(
            "sending bulk notification",
            "NOTIFY_DELIVERY_QUEUE_URL is not configured",
        )
    })?;

    let batch_id = uuid::Uuid::new_v4().to_string();
    let total = recipients.total();
    let accepted = count(recipients.accepted.len());
    let rejected = recipients.rejected;
    let bodies = plan_chunks(tenant_id, &batch_id, recipients.accepted, &notification)?;
    let batch = Batch {
        batch_id: batch_id.clone(),
        tenant_id: tenant_id.to_owned(),
        state: BatchState::Pending,
        total,
        accepted,
        rejected,
        chunks: count(bodies.len()),
        delivered: 0,
        failed: 0,
        no_devices: 0,
        created_at: now_rfc3339(),
        created_by: caller.actor().to_owned(),
        started_at: None,
        expires_at: now_epoch_seconds() + BATCH_RETENTION_SECS,
    };
    app.store.insert_batch(&batch).await?;

    if let Err(err) = enqueue(&app.sqs, queue_url, &bodies).await {
        match app
            .store
            .settle_batch_state(tenant_id, &batch_id, BatchState::Aborted)
            .await
        {
            Ok(_) => tracing::warn!(tenant_id, batch_id, "enqueueing failed; batch aborted"),
            Err(abort) => tracing::error!(
                tenant_id,
                batch_id,
                error = %abort,
                "enqueueing failed and the batch could not be marked aborted; it stays pending"
            ),
        }
        // Whatever the cause, the batch was not accepted and a retry is safe.
        return Err(match err {
            Error::Internal { context, source } => Error::Unavailable { context, source },
            other => other,
        });
    }
    if !app
        .store
        .settle_batch_state(tenant_id, &batch_id, BatchState::Open)
        .await?
    {
        return Err(Error::internal(
            "opening batch",
            "the batch was no longer pending",
        ));
    }
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
        total,
        success: accepted,
        failed: rejected,
        status: BatchStatus::Queued,
    })
}

/// Sends every body; `Err` (503 or 500) as soon as one cannot be sent.
/// Returns the number of `SendMessageBatch` calls made.
pub async fn enqueue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    bodies: &[String],
) -> Result<usize> {
    // Owned indices: a closure over borrowed ones would make the future !Send.
    let sends = plan_calls(bodies)
        .into_iter()
        .map(|indices| async move { send_call(sqs, queue_url, bodies, &indices).await });
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
    bodies: &[String],
    indices: &[usize],
) -> Result<usize> {
    let mut pending: Vec<usize> = indices.to_vec();
    let mut calls = 0;
    for attempt in 0..=ENTRY_RETRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        let entries = pending
            .iter()
            .filter_map(|&index| Some((index, bodies.get(index)?)))
            .map(|(index, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|err| Error::internal("building SQS entry", err))
            })
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

/// `GET /tenants/{tenant_id}/notify/bulk/{batch_id}` after authorisation.
/// Unknown, malformed, another tenant's, and never-opened batches are all 404.
pub async fn bulk_status(app: &App, tenant_id: &str, batch_id: &str) -> Result<BulkStatus> {
    let not_found = || Error::NotFound(format!("batch `{batch_id}` not found"));
    let Ok(parsed) = uuid::Uuid::parse_str(batch_id) else {
        return Err(not_found());
    };
    let batch = app
        .store
        .get_batch(tenant_id, &parsed.hyphenated().to_string())
        .await?
        .filter(|batch| batch.state == BatchState::Open)
        .ok_or_else(not_found)?;
    Ok(batch.report())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("user-{i}")).collect()
    }

    fn hello() -> Notification {
        Notification {
            alert: Some(Alert {
                title: Some("Flash sale".to_owned()),
                body: Some("20% off today only".to_owned()),
                ..Alert::default()
            }),
            ..Notification::default()
        }
    }

    #[test]
    fn duplicates_are_dropped_and_invalid_ids_counted() {
        let got = recipients(vec![
            "a".to_owned(),
            "b".to_owned(),
            "a".to_owned(),
            String::new(),
            "x".repeat(257),
            "bad\u{7}".to_owned(),
            String::new(),
            "é".repeat(256),
        ])
        .ok();
        let got = got.unwrap_or(Recipients {
            accepted: Vec::new(),
            rejected: 0,
        });
        assert_eq!(got.accepted, vec!["a", "b", &"é".repeat(256)]);
        assert_eq!(got.rejected, 3);
        assert_eq!(got.total(), 6);
    }

    #[test]
    fn empty_oversized_and_all_invalid_lists_are_refused_by_name() {
        let detail = |list| {
            recipients(list)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(detail(Vec::new()).contains("`user_ids`"));
        assert!(detail(ids(MAX_USER_IDS + 1)).contains("`user_ids`"));
        assert!(recipients(ids(MAX_USER_IDS)).is_ok());
        let text = detail(vec!["a\nb".to_owned(), String::new()]);
        assert!(text.contains("`user_ids[0]`"), "{text}");
    }

    #[test]
    fn ten_thousand_ordinary_users_take_20_messages_in_2_calls() {
        let bodies = plan_chunks("tnt_x", "b", ids(MAX_USER_IDS), &hello()).unwrap_or_default();
        assert_eq!(bodies.len(), 20);
        let calls = plan_calls(&bodies);
        assert_eq!(calls.len(), 2);
        for call in &calls {
            assert!(call.len() <= SEND_BATCH_ENTRIES);
            let bytes: usize = call.iter().map(|&i| bodies[i].len()).sum();
            assert!(bytes <= MAX_SEND_BATCH_BYTES, "{bytes}");
        }
        // Every user exactly once, chunks numbered in order.
        let mut seen = Vec::new();
        for (index, body) in bodies.iter().enumerate() {
            let Ok(QueueMessage::Deliver(chunk)) = QueueMessage::from_body(body) else {
                panic!("chunk {index} does not parse");
            };
            assert_eq!(chunk.chunk as usize, index);
            assert!(chunk.user_ids.len() <= MAX_USERS_PER_CHUNK);
            seen.extend(chunk.user_ids);
        }
        assert_eq!(seen, ids(MAX_USER_IDS));
    }

    #[test]
    fn the_longest_user_ids_still_fit_every_limit() {
        // 256 four-byte characters: 1 KiB per id.
        let long: Vec<String> = (0..2000)
            .map(|i| format!("{i:04}{}", "😀".repeat(252)))
            .collect();
        let bodies = plan_chunks("tnt_x", "b", long, &hello()).unwrap_or_default();
        assert!(bodies.len() > 30);
        assert!(bodies.iter().all(|body| body.len() <= MAX_MESSAGE_BYTES));
        for call in plan_calls(&bodies) {
            let bytes: usize = call.iter().map(|&i| bodies[i].len()).sum();
            assert!(call.len() <= SEND_BATCH_ENTRIES && bytes <= MAX_SEND_BATCH_BYTES);
        }
    }
}
