//! Idempotency records: PK `TENANT#{tenant}`, SK
//! `IDEMPOTENCY#{endpoint}#{sha256(key)}`. A record is claimed (`in_progress`,
//! under a lease) before the work runs and completed with the answer after,
//! or released (deleted) when the work failed before doing anything.
//! `expires_at` (epoch seconds) is the table's TTL attribute, and a record
//! past it counts as absent even before DynamoDB removes it. A claim whose
//! lease ended is never taken over (its work may have run): only its
//! expiry frees the key.
//!
//! Every write here may be sent twice by the SDK (a lost answer: a timeout,
//! a 500) and recognises its own earlier attempt: a claim by its
//! `claim_id`, a completion by its claim.
//!
//! An answer longer than [`PART_BYTES`] (a single send to a user with 100
//! long tokens is over DynamoDB's 400 KB item limit) is stored in parts:
//! the first in the record, the others in items of their own at
//! `{record SK}#PART#{claim_id}#{n}`, written before the record is
//! completed, with the record's expiry.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use serde::{Deserialize, Serialize};

use super::keys::idempotency_sk;
use super::ops::{decode, encode, text_attribute, ConditionalExt, Item};
use super::{key, n, s, tenant_pk, Store, SK};
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};

const IN_PROGRESS: &str = "in_progress";
const COMPLETE: &str = "complete";
/// The most answer text one item holds: well under DynamoDB's 400 KB item
/// limit with the record's other attributes.
pub const PART_BYTES: usize = 300 * 1024;
/// The most parts an answer is stored in (4.8 MB, over any answer a Lambda
/// function can return); a longer one is not stored.
pub const MAX_PARTS: usize = 16;

/// Where one idempotency key of one endpoint of one tenant is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencySlot {
    tenant_id: String,
    sk: String,
}

impl IdempotencySlot {
    /// The key itself is never stored, only its SHA-256.
    pub fn new(tenant_id: &str, endpoint: &str, idempotency_key: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            sk: idempotency_sk(endpoint, idempotency_key),
        }
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    fn key(&self) -> Item {
        key(tenant_pk(&self.tenant_id), self.sk.clone())
    }
}

/// A record found instead of claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// SHA-256 of the request body that claimed the key.
    pub fingerprint: String,
    /// Who claimed it (see [`Store::claim_idempotency_key`]); `None` for a
    /// record written before callers were recorded.
    pub owner: Option<String>,
    pub state: IdempotencyState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyState {
    /// The first request is running until `lease_until` (epoch seconds);
    /// past it without an answer, its outcome is unknown.
    InProgress { lease_until: i64 },
    /// The stored answer: status and JSON body.
    Complete { status: u16, body: String },
}

/// The outcome of [`Store::claim_idempotency_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key; `claim_id` proves it when completing.
    Claimed { claim_id: String },
    /// Another request claimed it first.
    Existing(IdempotencyRecord),
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    status: String,
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    claim_id: String,
    lease_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_status: Option<u16>,
    /// The answer, or its first part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_body: Option<String>,
    /// How many parts the answer has, when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_parts: Option<usize>,
    created_at: String,
    expires_at: i64,
}

/// One further part of a long answer.
#[derive(Serialize, Deserialize)]
struct AnswerPartItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    text: String,
    expires_at: i64,
}

/// The SK of part `index` (from 1) of the answer of claim `claim_id`.
fn part_sk(record_sk: &str, claim_id: &str, index: usize) -> String {
    format!("{record_sk}#PART#{claim_id}#{index:02}")
}

/// `text` in pieces of at most `max` bytes, cut at character boundaries.
fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

impl IdempotencyItem {
    fn into_record(self) -> Result<IdempotencyRecord> {
        let state = match (
            self.status.as_str(),
            self.response_status,
            self.response_body,
        ) {
            (COMPLETE, Some(status), Some(body)) => IdempotencyState::Complete { status, body },
            (IN_PROGRESS, _, _) => IdempotencyState::InProgress {
                lease_until: self.lease_until,
            },
            _ => {
                return Err(Error::internal(
                    "decoding idempotency record",
                    "record has an unknown status or no answer",
                ))
            }
        };
        Ok(IdempotencyRecord {
            fingerprint: self.fingerprint,
            owner: self.owner,
            state,
        })
    }
}

impl Store {
    /// Claims the key for this request, recording its `owner` (who is
    /// asking), unless a live record holds it: only an absent (released) or
    /// expired record is taken over. A record in progress whose lease ran
    /// out is returned as it is: its first request may have done the work
    /// before failing to record its answer. A record holding this very
    /// claim (the SDK sent the claim again after losing the answer to the
    /// first attempt) is this request's.
    #[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id))]
    pub async fn claim_idempotency_key(
        &self,
        slot: &IdempotencySlot,
        fingerprint: &str,
        owner: &str,
        now: i64,
        lease_secs: i64,
        ttl_secs: i64,
    ) -> Result<Claim> {
        let claim_id = uuid::Uuid::new_v4().to_string();
        let item = encode(
            IdempotencyItem {
                pk: tenant_pk(&slot.tenant_id),
                sk: slot.sk.clone(),
                entity: "idempotency".to_owned(),
                status: IN_PROGRESS.to_owned(),
                fingerprint: fingerprint.to_owned(),
                owner: Some(owner.to_owned()),
                claim_id: claim_id.clone(),
                lease_until: now + lease_secs,
                response_status: None,
                response_body: None,
                response_parts: None,
                created_at: now_rfc3339(),
                expires_at: now + ttl_secs,
            },
            "encoding idempotency record",
        )?;
        let claimed = || Claim::Claimed {
            claim_id: claim_id.clone(),
        };
        // The record may vanish between a failed claim and the read: try again.
        for _ in 0..3 {
            let result = self
                .put(item.clone())
                .condition_expression("attribute_not_exists(PK) OR expires_at < :now")
                .expression_attribute_values(":now", n(now))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let existing = match result {
                Ok(_) => return Ok(claimed()),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                        failed.item().cloned()
                    }
                    _ => return Err(Error::from_sdk("claiming idempotency key", err)),
                },
            };
            let existing = match existing.filter(|item| !item.is_empty()) {
                Some(item) => Some(item),
                None => self.read_idempotency_item(slot).await?,
            };
            if let Some(item) = existing {
                let item: IdempotencyItem = decode(item, "decoding idempotency record")?;
                if item.claim_id == claim_id {
                    tracing::info!("idempotency claim already written by an earlier attempt");
                    return Ok(claimed());
                }
                if item.expires_at >= now {
                    return self.whole_record(slot, item).await.map(Claim::Existing);
                }
            }
        }
        Err(Error::idempotency_in_progress(1))
    }

    /// The record, its answer put together from its parts.
    async fn whole_record(
        &self,
        slot: &IdempotencySlot,
        mut item: IdempotencyItem,
    ) -> Result<IdempotencyRecord> {
        let parts = item.response_parts.unwrap_or(1);
        if item.status == COMPLETE && parts > 1 {
            let keys = (1..parts.min(MAX_PARTS))
                .map(|index| {
                    key(
                        tenant_pk(&slot.tenant_id),
                        part_sk(&slot.sk, &item.claim_id, index),
                    )
                })
                .collect();
            let mut found = self
                .batch_get_consistent(keys, "reading idempotent answer")
                .await?;
            found.sort_by(|a, b| text_attribute(a, SK).cmp(&text_attribute(b, SK)));
            if found.len() + 1 != parts {
                return Err(Error::internal(
                    "reading idempotent answer",
                    "a part of the stored answer is missing",
                ));
            }
            let mut body = item.response_body.take().unwrap_or_default();
            for part in found {
                let part: AnswerPartItem = decode(part, "decoding idempotent answer")?;
                body.push_str(&part.text);
            }
            item.response_body = Some(body);
        }
        item.into_record()
    }

    async fn read_idempotency_item(&self, slot: &IdempotencySlot) -> Result<Option<Item>> {
        self.get_consistent(slot.key(), "reading idempotency record")
            .await
    }

    /// Stores the answer of the claimed request (in parts when long, see
    /// the module docs); `false` when the claim is gone (expired and claimed
    /// again, a day later), or the answer is longer than [`MAX_PARTS`]
    /// parts. Storing it again (an attempt whose answer was lost) succeeds.
    #[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id, status = status))]
    pub async fn complete_idempotency_key(
        &self,
        slot: &IdempotencySlot,
        claim_id: &str,
        status: u16,
        body: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let parts = split_text(body, PART_BYTES);
        if parts.len() > MAX_PARTS {
            tracing::warn!(bytes = body.len(), "idempotent answer too long to store");
            return Ok(false);
        }
        for (index, text) in parts.iter().enumerate().skip(1) {
            let part = encode(
                AnswerPartItem {
                    pk: tenant_pk(&slot.tenant_id),
                    sk: part_sk(&slot.sk, claim_id, index),
                    entity: "idempotency_part".to_owned(),
                    text: (*text).to_owned(),
                    expires_at,
                },
                "encoding idempotent answer",
            )?;
            self.put(part)
                .send()
                .await
                .map_err(|err| Error::from_sdk("storing idempotent answer", err))?;
        }
        let first = parts.first().copied().unwrap_or_default();
        let expression = match parts.len() {
            1 => {
                "SET #status = :complete, response_status = :code, response_body = :body, \
                  expires_at = :expires"
            }
            _ => {
                "SET #status = :complete, response_status = :code, response_body = :body, \
                  response_parts = :parts, expires_at = :expires"
            }
        };
        let mut update = self
            .update(slot.key())
            .update_expression(expression)
            .condition_expression("claim_id = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":complete", s(COMPLETE))
            .expression_attribute_values(":code", n(i64::from(status)))
            .expression_attribute_values(":body", s(first))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":claim", s(claim_id));
        if parts.len() > 1 {
            update = update.expression_attribute_values(":parts", n(parts.len()));
        }
        update
            .send()
            .await
            .condition_held("storing idempotent answer")
    }

    /// Deletes the claimed record so that a retry can run (after a failure
    /// worth retrying). A record claimed by someone else is left alone.
    #[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id))]
    pub async fn release_idempotency_key(
        &self,
        slot: &IdempotencySlot,
        claim_id: &str,
    ) -> Result<()> {
        self.delete(slot.key())
            .condition_expression("claim_id = :claim AND #status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":claim", s(claim_id))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await
            .condition_held("releasing idempotency key")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_split_at_character_boundaries_and_join_back() {
        let text = format!("{}é{}", "a".repeat(9), "b".repeat(25));
        let parts = split_text(&text, 10);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|part| part.len() <= 10));
        assert_eq!(parts.first().copied(), Some("aaaaaaaaa"));
        assert_eq!(split_text("short", 10), vec!["short"]);
        assert_eq!(split_text("", 10), vec![""]);
        let sk = part_sk("IDEMPOTENCY#notify#ab", "c1", 2);
        assert!(sk.starts_with("IDEMPOTENCY#notify#ab#PART#c1#"));
        assert!(part_sk("x", "c1", 2) < part_sk("x", "c1", 10));
    }

    #[test]
    fn slots_hash_the_key_and_separate_endpoints() {
        let slot = IdempotencySlot::new("tnt_a", "notify", "order-1042");
        assert!(slot.sk.starts_with("IDEMPOTENCY#notify#"));
        assert!(!slot.sk.contains("order-1042"));
        assert_eq!(slot.sk.len(), "IDEMPOTENCY#notify#".len() + 64);
        assert_ne!(
            slot,
            IdempotencySlot::new("tnt_a", "notify_bulk", "order-1042")
        );
        assert_ne!(slot, IdempotencySlot::new("tnt_b", "notify", "order-1042"));
    }
}
