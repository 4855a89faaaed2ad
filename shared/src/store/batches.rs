//! Bulk batches: the batch record, and per chunk (queue message) the
//! progress items that make redelivery harmless.
//!
//! | item            | SK                                  | written by |
//! |-----------------|-------------------------------------|------------|
//! | batch           | `BATCH#{batch}`                     | bulk endpoint; counters by workers |
//! | chunk counted   | `BATCH#{batch}#CHUNK#{n:05}`        | worker, once, with the counters |
//! | chunk progress  | `BATCH#{batch}#CHUNK#{n:05}#P#{id}` | worker, after each wave of users |
//!
//! All under the tenant's partition, so purging a tenant removes them; all
//! carry the batch's `expires_at` for DynamoDB's TTL. Progress items are
//! only ever added (never rewritten), so each write costs the size of what
//! it records, and concurrent writers cannot lose each other's records.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::keys::{batch_sk, chunk_sk};
use super::tenants::live_tenant_check;
use super::{build, condition_failed, key, s, tenant_pk, Store, SK};
use crate::error::{Error, Result};
use crate::model::{Batch, BatchState};

fn n(value: u32) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[derive(Serialize, Deserialize)]
struct BatchItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    #[serde(flatten)]
    batch: Batch,
}

/// How a user of a chunk ended up. When two records disagree (two workers
/// raced on one message), the first in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserOutcome {
    /// At least one device accepted the push.
    Delivered,
    /// Devices, but none accepted it (dead, refused, or retries ran out).
    Failed,
    /// The user had no devices.
    NoDevices,
}

/// Users settled per outcome, counted once per chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    pub delivered: u32,
    pub failed: u32,
    pub no_devices: u32,
}

/// What earlier attempts at a chunk recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkProgress {
    /// The chunk's users are in the batch counters already.
    pub counted: bool,
    /// Digests of device tokens that accepted the push.
    pub delivered: HashSet<String>,
    /// Settled users, by position in the chunk's `user_ids`.
    pub settled: HashMap<u32, UserOutcome>,
}

impl ChunkProgress {
    /// Records `outcome` for user `index`, keeping the stronger of two.
    pub fn settle(&mut self, index: u32, outcome: UserOutcome) {
        let entry = self.settled.entry(index).or_insert(outcome);
        *entry = (*entry).min(outcome);
    }

    pub fn counts(&self) -> ChunkCounts {
        let mut counts = ChunkCounts::default();
        for outcome in self.settled.values() {
            match outcome {
                UserOutcome::Delivered => counts.delivered += 1,
                UserOutcome::Failed => counts.failed += 1,
                UserOutcome::NoDevices => counts.no_devices += 1,
            }
        }
        counts
    }
}

/// What one wave of users added: written as one progress item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub delivered: Vec<String>,
    pub settled: Vec<(u32, UserOutcome)>,
}

impl ProgressUpdate {
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.settled.is_empty()
    }
}

/// The item that marks a chunk counted, written once with its counts.
#[derive(Serialize, Deserialize)]
struct ChunkMarkerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    counted_at: String,
    delivered: u32,
    failed: u32,
    no_devices: u32,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ProgressItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    delivered: Vec<String>,
    #[serde(
        with = "serde_dynamo::number_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    settled_delivered: Vec<u32>,
    #[serde(
        with = "serde_dynamo::number_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    settled_failed: Vec<u32>,
    #[serde(
        with = "serde_dynamo::number_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    settled_no_devices: Vec<u32>,
    expires_at: i64,
}

/// What [`Store::count_chunk`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountResult {
    /// The chunk's users were added to the batch counters, now.
    Counted,
    /// An earlier attempt counted them: nothing changed.
    AlreadyCounted,
    /// The batch record is gone (expired, purged) or not open.
    BatchGone,
}

impl Store {
    /// Stores a new batch record for a live tenant; fails rather than
    /// overwrite one.
    #[tracing::instrument(skip(self, batch), fields(tenant_id = %batch.tenant_id, batch_id = %batch.batch_id))]
    pub async fn insert_batch(&self, batch: &Batch) -> Result<()> {
        let item = serde_dynamo::to_item(BatchItem {
            pk: tenant_pk(&batch.tenant_id),
            sk: batch_sk(&batch.batch_id),
            entity: "batch".to_owned(),
            batch: batch.clone(),
        })
        .map_err(|err| Error::internal("encoding batch item", err))?;
        let tenant_live = live_tenant_check(&self.table, &batch.tenant_id)?;
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_live)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    Error::NotFound("tenant not found".to_owned())
                }
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 1) =>
                {
                    Error::Conflict {
                        code: "batch_exists",
                        detail: "a batch with this id already exists; retry".to_owned(),
                    }
                }
                _ => Error::from_sdk("inserting batch", err),
            })?;
        Ok(())
    }

    /// Moves a pending batch to `to` (open or aborted); `false` when it was
    /// not pending any more (or is gone).
    #[tracing::instrument(skip(self))]
    pub async fn settle_batch_state(
        &self,
        tenant_id: &str,
        batch_id: &str,
        to: BatchState,
    ) -> Result<bool> {
        let to = match to {
            BatchState::Open => "open",
            BatchState::Aborted => "aborted",
            BatchState::Pending => return Ok(false),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), batch_sk(batch_id))))
            .update_expression("SET #state = :to")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(Error::from_sdk("updating batch state", err)),
        }
    }

    /// The batch record, strongly consistent.
    #[tracing::instrument(skip(self))]
    pub async fn get_batch(&self, tenant_id: &str, batch_id: &str) -> Result<Option<Batch>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), batch_sk(batch_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading batch", err))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item::<_, BatchItem>(item)
                    .map(|item| item.batch)
                    .map_err(|err| Error::internal("decoding batch item", err))
            })
            .transpose()
    }

    /// Notes that a worker started on the batch (first writer wins).
    #[tracing::instrument(skip(self))]
    pub async fn mark_batch_started(
        &self,
        tenant_id: &str,
        batch_id: &str,
        now: &str,
    ) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), batch_sk(batch_id))))
            .update_expression("SET started_at = if_not_exists(started_at, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", s(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone meanwhile: counting will notice.
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::from_sdk("marking batch started", err)),
        }
    }

    /// Everything earlier attempts recorded for one chunk: one strongly
    /// consistent query over the chunk's items.
    #[tracing::instrument(skip(self))]
    pub async fn chunk_progress(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
    ) -> Result<ChunkProgress> {
        let marker = chunk_sk(batch_id, chunk);
        let items: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
            .expression_attribute_values(":prefix", s(marker.clone()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut progress = ChunkProgress::default();
        for item in items {
            let item = item.map_err(|err| Error::from_sdk("reading chunk progress", err))?;
            let is_marker = matches!(item.get(SK), Some(AttributeValue::S(sk)) if *sk == marker);
            if is_marker {
                progress.counted = true;
                continue;
            }
            let part: ProgressItem = serde_dynamo::from_item(item)
                .map_err(|err| Error::internal("decoding chunk progress", err))?;
            progress.delivered.extend(part.delivered);
            for (indices, outcome) in [
                (part.settled_delivered, UserOutcome::Delivered),
                (part.settled_failed, UserOutcome::Failed),
                (part.settled_no_devices, UserOutcome::NoDevices),
            ] {
                for index in indices {
                    progress.settle(index, outcome);
                }
            }
        }
        Ok(progress)
    }

    /// Adds one progress item to a chunk.
    #[tracing::instrument(skip(self, update), fields(delivered = update.delivered.len(), settled = update.settled.len()))]
    pub async fn record_chunk_progress(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
        update: &ProgressUpdate,
        expires_at: i64,
    ) -> Result<()> {
        if update.is_empty() {
            return Ok(());
        }
        let mut item = ProgressItem {
            pk: tenant_pk(tenant_id),
            sk: format!(
                "{}#P#{}",
                chunk_sk(batch_id, chunk),
                uuid::Uuid::new_v4().simple()
            ),
            entity: "batch_progress".to_owned(),
            delivered: update.delivered.clone(),
            settled_delivered: Vec::new(),
            settled_failed: Vec::new(),
            settled_no_devices: Vec::new(),
            expires_at,
        };
        // Sets refuse duplicates.
        item.delivered.sort_unstable();
        item.delivered.dedup();
        for &(index, outcome) in &update.settled {
            match outcome {
                UserOutcome::Delivered => item.settled_delivered.push(index),
                UserOutcome::Failed => item.settled_failed.push(index),
                UserOutcome::NoDevices => item.settled_no_devices.push(index),
            }
        }
        for indices in [
            &mut item.settled_delivered,
            &mut item.settled_failed,
            &mut item.settled_no_devices,
        ] {
            indices.sort_unstable();
            indices.dedup();
        }
        let item = serde_dynamo::to_item(item)
            .map_err(|err| Error::internal("encoding chunk progress", err))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|err| Error::from_sdk("recording chunk progress", err))?;
        Ok(())
    }

    /// Adds a settled chunk's users to the batch counters, at most once: the
    /// chunk's marker item is created in the same transaction, on condition
    /// that it does not exist yet.
    #[tracing::instrument(skip(self))]
    pub async fn count_chunk(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
        counts: ChunkCounts,
        now: &str,
        expires_at: i64,
    ) -> Result<CountResult> {
        let marker = serde_dynamo::to_item(ChunkMarkerItem {
            pk: tenant_pk(tenant_id),
            sk: chunk_sk(batch_id, chunk),
            entity: "batch_chunk".to_owned(),
            counted_at: now.to_owned(),
            delivered: counts.delivered,
            failed: counts.failed,
            no_devices: counts.no_devices,
            expires_at,
        })
        .map_err(|err| Error::internal("encoding chunk marker", err))?;
        let put_marker = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let add_counts = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(tenant_id), batch_sk(batch_id))))
                .update_expression(
                    "ADD delivered :delivered, failed :failed, no_devices :no_devices",
                )
                .condition_expression("#state = :open")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":delivered", n(counts.delivered))
                .expression_attribute_values(":failed", n(counts.failed))
                .expression_attribute_values(":no_devices", n(counts.no_devices))
                .expression_attribute_values(":open", s("open"))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_marker).build())
            .transact_items(TransactWriteItem::builder().update(add_counts).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(CountResult::Counted),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    Ok(CountResult::AlreadyCounted)
                }
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 1) =>
                {
                    Ok(CountResult::BatchGone)
                }
                _ => Err(Error::from_sdk("counting chunk", err)),
            },
        }
    }
}
