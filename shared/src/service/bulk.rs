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
use crate::service::queue_schema::{schema_attribute, ATTRIBUTE_BYTES, SCHEMA_ATTRIBUTE};

/// The contract's bound on `user_ids`.
pub const MAX_USER_IDS: usize = 10_000;
/// Users per queue message. 500 users cost one worker well under a second
/// of lookups and pushes, keep a redelivery small, and put 10,000 users in
/// 20 messages: 2 `SendMessageBatch` calls with ordinary user ids.
pub const MAX_USERS_PER_CHUNK: usize = 500;
/// Body size budget of one message, so at least four fit in one call even
/// with the longest user ids.
pub const MAX_MESSAGE_BYTES: usize = 60 * 1024;
/// SQS caps the sum of the messages (bodies and attributes) of one
/// `SendMessageBatch` call at 256 KiB.
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
             characters, U+FFFE or U+FFFF), and no other entry is either"
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
    let sized = user_ids
        .into_iter()
        .map(|user_id| {
            // Quoted and escaped, plus a separating comma.
            let cost = serde_json::to_string(&user_id)
                .map_err(|err| Error::internal("encoding user id", err))?
                .len()
                + 1;
            Ok((user_id, cost))
        })
        .collect::<Result<Vec<_>>>()?;
    let limits = PackLimits {
        entries: MAX_USERS_PER_CHUNK,
        bytes: MAX_MESSAGE_BYTES,
        overhead,
    };
    let bodies = pack(sized, limits)
        .into_iter()
        .enumerate()
        .map(|(chunk, user_ids)| encode(count(chunk), user_ids))
        .collect::<Result<Vec<_>>>()?;
    if let Some(body) = bodies
        .iter()
        .find(|body| message_bytes(body) > MAX_SEND_BATCH_BYTES)
    {
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
    let limits = PackLimits {
        entries: SEND_BATCH_ENTRIES,
        bytes: MAX_SEND_BATCH_BYTES,
        overhead: 0,
    };
    pack(
        bodies
            .iter()
            .map(|body| message_bytes(body))
            .enumerate()
            .collect(),
        limits,
    )
}

/// What a message of this body counts against SQS's size limits.
fn message_bytes(body: &str) -> usize {
    body.len() + ATTRIBUTE_BYTES
}

/// The bounds of one group that [`pack`] fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Most entries in a group.
    pub entries: usize,
    /// Most bytes in a group, `overhead` included.
    pub bytes: usize,
    /// Bytes every group costs before its first entry.
    pub overhead: usize,
}

/// Packs `(entry, cost in bytes)` pairs, in order, into consecutive groups
/// within `limits`: a group closes when the next entry would break either
/// bound. An entry too large for any group still gets one of its own (the
/// caller checks what it can send). The one packing rule of chunks (users
/// per queue message) and of calls (messages per `SendMessageBatch`).
pub fn pack<T>(sized: Vec<(T, usize)>, limits: PackLimits) -> Vec<Vec<T>> {
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut size = limits.overhead;
    for (entry, cost) in sized {
        if !current.is_empty() && (current.len() >= limits.entries || size + cost > limits.bytes) {
            groups.push(std::mem::take(&mut current));
            size = limits.overhead;
        }
        size += cost;
        current.push(entry);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// What a bulk request becomes before any I/O: the batch record, still
/// `pending`, and the bodies of its queue messages.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkPlan {
    pub batch: Batch,
    pub bodies: Vec<String>,
}

/// Plans batch `batch_id` of `recipients` (already checked), created by
/// `actor` at `created_at` (`now_secs` in epoch seconds).
pub fn plan_batch(
    tenant_id: &str,
    batch_id: &str,
    actor: &str,
    recipients: Recipients,
    notification: &Notification,
    created_at: String,
    now_secs: i64,
) -> Result<BulkPlan> {
    let total = recipients.total();
    let accepted = count(recipients.accepted.len());
    let rejected = recipients.rejected;
    let bodies = plan_chunks(tenant_id, batch_id, recipients.accepted, notification)?;
    let batch = Batch {
        batch_id: batch_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        state: BatchState::Pending,
        total,
        accepted,
        rejected,
        chunks: count(bodies.len()),
        delivered: 0,
        failed: 0,
        no_devices: 0,
        created_at,
        created_by: actor.to_owned(),
        started_at: None,
        expires_at: now_secs + BATCH_RETENTION_SECS,
    };
    Ok(BulkPlan { batch, bodies })
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
    // Checked at cold start (`notify-bulk`'s `main`).
    let queue_url = app
        .config
        .delivery_queue()
        .map_err(|err| Error::internal("sending bulk notification", err))?;

    let batch_id = uuid::Uuid::new_v4().to_string();
    let BulkPlan { batch, bodies } = plan_batch(
        tenant_id,
        &batch_id,
        caller.actor(),
        recipients,
        &notification,
        now_rfc3339(),
        now_epoch_seconds(),
    )?;
    let (total, accepted, rejected) = (batch.total, batch.accepted, batch.rejected);
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
        return Err(err.into_unavailable());
    }
    open_batch(app, tenant_id, &batch_id).await?;
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

/// Turns the enqueued batch `open`, so that workers deliver it. When the
/// write fails, the batch is settled rather than left in doubt (its answer
/// may have been lost after it was applied): aborted while still pending,
/// so that nothing is delivered and a retry is safe (503); found open, it is
/// accepted (200). Only when neither can be told does the request end
/// [`Error::Unsettled`], which keeps its `Idempotency-Key` from running
/// again.
async fn open_batch(app: &App, tenant_id: &str, batch_id: &str) -> Result<()> {
    let failure = match app
        .store
        .settle_batch_state(tenant_id, batch_id, BatchState::Open)
        .await
    {
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
    match app
        .store
        .settle_batch_state(tenant_id, batch_id, BatchState::Aborted)
        .await
    {
        Ok(true) => Err(failure.into_unavailable()),
        // Not pending: open (the failed write was applied after all) or gone.
        Ok(false) => match app.store.get_batch(tenant_id, batch_id).await {
            Ok(Some(batch)) if batch.state == BatchState::Open => Ok(()),
            Ok(_) => Err(failure.into_unavailable()),
            Err(err) => Err(Error::unsettled("opening batch", err)),
        },
        Err(err) => Err(Error::unsettled("opening batch", err)),
    }
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
    let schema = schema_attribute()?;
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
                    .message_attributes(SCHEMA_ATTRIBUTE, schema.clone())
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
            let bytes: usize = call.iter().map(|&i| message_bytes(&bodies[i])).sum();
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

    const SMALL: PackLimits = PackLimits {
        entries: 3,
        bytes: 10,
        overhead: 2,
    };

    #[test]
    fn packing_closes_a_group_at_either_bound_and_keeps_the_order() {
        let sized = vec![("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 5), ("f", 3)];
        // a b c: three entries; d e: 2 + 1 + 5 = 8, f would make 11 > 10.
        assert_eq!(
            pack(sized, SMALL),
            vec![vec!["a", "b", "c"], vec!["d", "e"], vec!["f"]]
        );
        let exact = vec![("a", 4), ("b", 4), ("c", 1)];
        // 2 + 4 + 4 = 10 fits exactly; c opens the next group.
        assert_eq!(pack(exact, SMALL), vec![vec!["a", "b"], vec!["c"]]);
    }

    #[test]
    fn an_entry_too_large_for_any_group_gets_one_of_its_own() {
        let sized = vec![("a", 1), ("huge", 50), ("b", 1)];
        assert_eq!(pack(sized, SMALL), vec![vec!["a"], vec!["huge"], vec!["b"]]);
        assert!(pack(Vec::<(u8, usize)>::new(), SMALL).is_empty());
    }

    #[test]
    fn a_plan_records_the_counts_and_chunks_of_a_pending_batch() {
        let recipients = Recipients {
            accepted: ids(1_201),
            rejected: 4,
        };
        let plan = plan_batch(
            "tnt_x",
            "b-1",
            "key_1",
            recipients,
            &hello(),
            "2026-01-02T03:04:05Z".to_owned(),
            1_000,
        );
        let Ok(BulkPlan { batch, bodies }) = plan else {
            panic!("the plan failed: {plan:?}");
        };
        assert_eq!(batch.state, BatchState::Pending);
        assert_eq!(
            (batch.total, batch.accepted, batch.rejected),
            (1_205, 1_201, 4)
        );
        assert_eq!(batch.chunks, 3);
        assert_eq!(bodies.len(), 3);
        assert_eq!((batch.delivered, batch.failed, batch.no_devices), (0, 0, 0));
        assert_eq!(batch.created_by, "key_1");
        assert_eq!(batch.created_at, "2026-01-02T03:04:05Z");
        assert_eq!(batch.started_at, None);
        assert_eq!(batch.expires_at, 1_000 + BATCH_RETENTION_SECS);
        for (index, body) in bodies.iter().enumerate() {
            let Ok(QueueMessage::Deliver(chunk)) = QueueMessage::from_body(body) else {
                panic!("chunk {index} does not parse");
            };
            assert_eq!(
                (chunk.tenant_id.as_str(), chunk.batch_id.as_str()),
                ("tnt_x", "b-1")
            );
            assert_eq!(chunk.chunk as usize, index);
        }
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
            let bytes: usize = call.iter().map(|&i| message_bytes(&bodies[i])).sum();
            assert!(call.len() <= SEND_BATCH_ENTRIES && bytes <= MAX_SEND_BATCH_BYTES);
        }
    }
}
