//! Idempotency records: PK `TENANT#{tenant}`, SK
//! `IDEMPOTENCY#{endpoint}#{sha256(key)}`. A record is claimed (`in_progress`,
//! under a lease) before the work runs and completed with the answer after,
//! or released (deleted) when the work failed before doing anything.
//! `expires_at` (epoch seconds) is the table's TTL attribute, and a record
//! past it counts as absent even before DynamoDB removes it. A claim whose
//! lease ended is never taken over (its work may have run): only its
//! expiry frees the key.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use serde::{Deserialize, Serialize};

use super::keys::idempotency_sk;
use super::ops::{decode, encode, ConditionalExt, Item};
use super::{key, n, s, tenant_pk, Store};
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};

const IN_PROGRESS: &str = "in_progress";
const COMPLETE: &str = "complete";

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
    claim_id: String,
    lease_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_body: Option<String>,
    created_at: String,
    expires_at: i64,
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
            state,
        })
    }
}

impl Store {
    /// Claims the key for this request unless a live record holds it: only
    /// an absent (released) or expired record is taken over. A record in
    /// progress whose lease ran out is returned as it is: its first request
    /// may have done the work before failing to record its answer.
    #[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id))]
    pub async fn claim_idempotency_key(
        &self,
        slot: &IdempotencySlot,
        fingerprint: &str,
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
                claim_id: claim_id.clone(),
                lease_until: now + lease_secs,
                response_status: None,
                response_body: None,
                created_at: now_rfc3339(),
                expires_at: now + ttl_secs,
            },
            "encoding idempotency record",
        )?;
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
                Ok(_) => {
                    return Ok(Claim::Claimed {
                        claim_id: claim_id.clone(),
                    })
                }
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
                if item.expires_at >= now {
                    return item.into_record().map(Claim::Existing);
                }
            }
        }
        Err(Error::idempotency_in_progress(1))
    }

    async fn read_idempotency_item(&self, slot: &IdempotencySlot) -> Result<Option<Item>> {
        self.get_consistent(slot.key(), "reading idempotency record")
            .await
    }

    /// Stores the answer of the claimed request; `false` when the claim is
    /// gone (expired and claimed again, a day later).
    #[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id, status = status))]
    pub async fn complete_idempotency_key(
        &self,
        slot: &IdempotencySlot,
        claim_id: &str,
        status: u16,
        body: &str,
        expires_at: i64,
    ) -> Result<bool> {
        self.update(slot.key())
            .update_expression(
                "SET #status = :complete, response_status = :code, response_body = :body, \
                 expires_at = :expires",
            )
            .condition_expression("claim_id = :claim AND #status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":complete", s(COMPLETE))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":code", n(i64::from(status)))
            .expression_attribute_values(":body", s(body))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":claim", s(claim_id))
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
