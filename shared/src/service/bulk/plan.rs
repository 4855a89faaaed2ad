//! Planning a bulk send, pure: the recipients of a request, their chunks
//! (queue message bodies) and the `SendMessageBatch` calls that carry them,
//! and the batch record. Property tests run over these
//! (`properties/bulk.rs`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::model::device::validate_user_id;
use crate::model::{Batch, BatchState, DeliverChunk, Notification, QueueMessage};
use crate::service::queue_schema::ATTRIBUTE_BYTES;

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
/// users and [`MAX_MESSAGE_BYTES`] of body each, numbered from
/// `first_chunk` (an audience page's chunks follow the previous page's).
pub fn plan_chunks(
    tenant_id: &str,
    batch_id: &str,
    user_ids: Vec<String>,
    notification: &Notification,
    first_chunk: u32,
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
        .map(|(chunk, user_ids)| encode(first_chunk.saturating_add(count(chunk)), user_ids))
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
    let bodies = plan_chunks(tenant_id, batch_id, recipients.accepted, notification, 0)?;
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
        audience: None,
        audience_pending: false,
        send_at: None,
        notification: None,
        metered_key: None,
    };
    Ok(BulkPlan { batch, bodies })
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
        let bodies = plan_chunks("tnt_x", "b", ids(MAX_USER_IDS), &hello(), 0).unwrap_or_default();
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
        let bodies = plan_chunks("tnt_x", "b", long, &hello(), 0).unwrap_or_default();
        assert!(bodies.len() > 30);
        assert!(bodies.iter().all(|body| body.len() <= MAX_MESSAGE_BYTES));
        for call in plan_calls(&bodies) {
            let bytes: usize = call.iter().map(|&i| message_bytes(&bodies[i])).sum();
            assert!(call.len() <= SEND_BATCH_ENTRIES && bytes <= MAX_SEND_BATCH_BYTES);
        }
    }
}
