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

use serde::{Deserialize, Serialize};

use super::digests::{self, RawDigest};
use super::keys::{batch_sk, chunk_sk, SCHEDULED_BATCHES_SK};
use super::ops::{
    decode, encode, live_tenant_check, through_conflicts, update_item, ConditionalExt,
};
use super::progress_parts::{self, ResultsAttribute};
use super::{key, n, s, tenant_pk, text_attribute, Store, SK};
use crate::clock::now_epoch_seconds;
use crate::error::{Error, Result};
use crate::model::audience::MAX_SCHEDULED_BATCHES_PER_TENANT;
use crate::model::bulk_results::token_digest;
use crate::model::{
    Batch, BatchState, ChunkCounts, ChunkProgress, ChunkResults, ProgressUpdate, UserOutcome,
};

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
    /// Hex digests: how items were written before `delivered_bin`.
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    delivered: Vec<String>,
    /// Digests of the devices that accepted, raw (see [`digests`]).
    #[serde(
        with = "serde_dynamo::binary_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    delivered_bin: Vec<RawDigest>,
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
    /// Compact JSON for the batch's results (see [`progress_parts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    results: Option<String>,
    expires_at: i64,
}

/// What the worker reads of a progress item (the `results` attribute,
/// which can be large, is left out of its query).
#[derive(Deserialize)]
struct ProgressSets {
    #[serde(with = "serde_dynamo::string_set", default)]
    delivered: Vec<String>,
    #[serde(with = "serde_dynamo::binary_set", default)]
    delivered_bin: Vec<RawDigest>,
    #[serde(with = "serde_dynamo::number_set", default)]
    settled_delivered: Vec<u32>,
    #[serde(with = "serde_dynamo::number_set", default)]
    settled_failed: Vec<u32>,
    #[serde(with = "serde_dynamo::number_set", default)]
    settled_no_devices: Vec<u32>,
}

impl ProgressSets {
    /// The digests of the devices that accepted, as hex, however stored.
    fn delivered(&mut self) -> impl Iterator<Item = String> + '_ {
        let raw = std::mem::take(&mut self.delivered_bin);
        std::mem::take(&mut self.delivered)
            .into_iter()
            .chain(raw.into_iter().map(|digest| digest.to_hex()))
    }

    /// The settled users, per outcome.
    fn settled(self) -> [(Vec<u32>, UserOutcome); 3] {
        [
            (self.settled_delivered, UserOutcome::Delivered),
            (self.settled_failed, UserOutcome::Failed),
            (self.settled_no_devices, UserOutcome::NoDevices),
        ]
    }
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
    /// Stores a new batch record for a live tenant, never overwriting one.
    #[tracing::instrument(skip(self, batch), fields(tenant_id = %batch.tenant_id, batch_id = %batch.batch_id))]
    pub async fn insert_batch(&self, batch: &Batch) -> Result<()> {
        let item = encode(
            BatchItem {
                pk: tenant_pk(&batch.tenant_id),
                sk: batch_sk(&batch.batch_id),
                entity: "batch".to_owned(),
                batch: batch.clone(),
            },
            "encoding batch item",
        )?;
        let mut items = vec![
            live_tenant_check(&self.table, &batch.tenant_id)?,
            self.tx_put_new(item)?,
        ];
        if batch.send_at.is_some() {
            items.push(self.count_scheduled(&batch.tenant_id, 1)?);
        }
        // The SDK retries a transaction whose answer was lost; with the
        // batch's (unique) id as token DynamoDB applies it once and answers
        // the retry with success.
        match self
            .transact_for_tenant(items, Some(&batch.batch_id), "inserting batch")
            .await?
        {
            Ok(()) => Ok(()),
            // The batch exists: a fresh batch id is a random UUID, so an
            // earlier attempt of this very call wrote it (a store that does
            // not honour the request token, such as the emulator).
            Err(cancelled) if cancelled.condition_failed(1) => {
                tracing::info!("batch already written by an earlier attempt");
                Ok(())
            }
            Err(cancelled) if cancelled.condition_failed(2) => Err(Error::Conflict {
                code: "too_many_scheduled_sends",
                detail: format!(
                    "the tenant has {MAX_SCHEDULED_BATCHES_PER_TENANT} bulk sends waiting for \
                     their `send_at`, the most it may: cancel one, or wait until one is sent"
                ),
            }),
            Err(cancelled) => Err(cancelled.into_error("inserting batch")),
        }
    }

    /// The transaction item that adds `change` to the tenant's count of
    /// batches waiting for their `send_at`; an increase only below the cap.
    pub(crate) fn count_scheduled(
        &self,
        tenant_id: &str,
        change: i32,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        let mut update = self
            .tx_update(key(tenant_pk(tenant_id), SCHEDULED_BATCHES_SK))
            .update_expression("ADD scheduled :change")
            .expression_attribute_values(":change", n(change));
        if change > 0 {
            update = update
                .condition_expression("attribute_not_exists(scheduled) OR scheduled < :cap")
                .expression_attribute_values(":cap", n(MAX_SCHEDULED_BATCHES_PER_TENANT));
        }
        update_item(update)
    }

    /// Moves a pending batch to `to` (open, scheduled or aborted); `false` when it was
    /// not pending any more (or is gone). A batch already at `to` counts as
    /// moved: only the request that made the batch moves it, so that is
    /// this very write, applied by an attempt whose answer was lost (the
    /// SDK then sends it again).
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
            BatchState::Scheduled => "scheduled",
            // Only the reader and the cancel endpoint leave `scheduled`
            // (`audience.rs`), and nothing returns to `pending`.
            BatchState::Pending | BatchState::Cancelled => return Ok(false),
        };
        let request = self
            .update(key(tenant_pk(tenant_id), batch_sk(batch_id)))
            .update_expression("SET #state = :to")
            .condition_expression("#state = :pending OR #state = :to")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":pending", s("pending"));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("updating batch state")
    }

    /// The batch record, strongly consistent; `None` once past its
    /// `expires_at`, whether or not DynamoDB's TTL has deleted it yet ("items
    /// are typically deleted within a few days of their expiration",
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
    #[tracing::instrument(skip(self))]
    pub async fn get_batch(&self, tenant_id: &str, batch_id: &str) -> Result<Option<Batch>> {
        let item = self
            .get_consistent(
                key(tenant_pk(tenant_id), batch_sk(batch_id)),
                "reading batch",
            )
            .await?;
        let batch = item
            .map(|item| decode::<BatchItem>(item, "decoding batch item").map(|item| item.batch))
            .transpose()?;
        Ok(batch.filter(|batch| batch.expires_at > now_epoch_seconds()))
    }

    /// Notes that a worker started on the batch (first writer wins).
    #[tracing::instrument(skip(self))]
    pub async fn mark_batch_started(
        &self,
        tenant_id: &str,
        batch_id: &str,
        now: &str,
    ) -> Result<()> {
        // Gone meanwhile (the condition failed): counting will notice.
        let request = self
            .update(key(tenant_pk(tenant_id), batch_sk(batch_id)))
            .update_expression("SET started_at = if_not_exists(started_at, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", s(now));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("marking batch started")?;
        Ok(())
    }

    /// Everything earlier attempts recorded for one chunk: one strongly
    /// consistent query over the chunk's items, without their results.
    #[tracing::instrument(skip(self))]
    pub async fn chunk_progress(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
    ) -> Result<ChunkProgress> {
        let marker = chunk_sk(batch_id, chunk);
        // The marker and its `#P#` items, and not chunk 100000's under
        // chunk 10000's prefix: `$` sorts right after `#`, before any digit.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :marker AND :end")
            .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
            .expression_attribute_values(":marker", s(marker.clone()))
            .expression_attribute_values(":end", s(format!("{marker}#P$")))
            .consistent_read(true)
            .projection_expression("#sk, #d, #db, #sd, #sf, #sn")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#d", "delivered")
            .expression_attribute_names("#db", "delivered_bin")
            .expression_attribute_names("#sd", "settled_delivered")
            .expression_attribute_names("#sf", "settled_failed")
            .expression_attribute_names("#sn", "settled_no_devices");
        let items = self.query_all(query, "reading chunk progress").await?;
        let mut progress = ChunkProgress::default();
        for item in items {
            // The marker's `delivered` is a count, not a set.
            if text_attribute(&item, SK) == Some(marker.as_str()) {
                progress.counted = true;
                continue;
            }
            let mut sets: ProgressSets = decode(item, "decoding chunk progress")?;
            progress.delivered.extend(sets.delivered());
            for (indices, outcome) in sets.settled() {
                for index in indices {
                    progress.settle(index, outcome);
                }
            }
        }
        Ok(progress)
    }

    /// Adds a wave's records to a chunk: one progress item, or several in
    /// order when it is too large for one (see [`progress_parts`]).
    #[tracing::instrument(skip(self, update), fields(delivered = update.delivered.len(), settled = update.settled.len(), devices = update.devices.len()))]
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
        for part in progress_parts::split(update, progress_parts::PART_BYTES) {
            self.put_progress_part(tenant_id, batch_id, chunk, part, expires_at)
                .await?;
        }
        Ok(())
    }

    /// Writes one progress item, under a key of its own: items are only
    /// ever added, so concurrent writers cannot lose each other's records.
    async fn put_progress_part(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
        part: progress_parts::Part,
        expires_at: i64,
    ) -> Result<()> {
        let results = match part.results.is_empty() {
            true => None,
            false => Some(
                serde_json::to_string(&part.results)
                    .map_err(|err| Error::internal("encoding chunk results", err))?,
            ),
        };
        let (delivered_bin, delivered) = digests::to_raw(part.delivered);
        let mut item = ProgressItem {
            pk: tenant_pk(tenant_id),
            sk: format!(
                "{}#P#{}",
                chunk_sk(batch_id, chunk),
                uuid::Uuid::new_v4().simple()
            ),
            entity: "batch_progress".to_owned(),
            delivered,
            delivered_bin,
            settled_delivered: Vec::new(),
            settled_failed: Vec::new(),
            settled_no_devices: Vec::new(),
            results,
            expires_at,
        };
        for (index, outcome) in part.settled {
            match outcome {
                UserOutcome::Delivered => item.settled_delivered.push(index),
                UserOutcome::Failed => item.settled_failed.push(index),
                UserOutcome::NoDevices => item.settled_no_devices.push(index),
            }
        }
        // Sets refuse duplicates.
        for indices in [
            &mut item.settled_delivered,
            &mut item.settled_failed,
            &mut item.settled_no_devices,
        ] {
            indices.sort_unstable();
            indices.dedup();
        }
        let item = encode(item, "encoding chunk progress")?;
        self.put(item)
            .send()
            .await
            .map_err(|err| Error::from_sdk("recording chunk progress", err))?;
        Ok(())
    }

    /// What a chunk's progress items recorded for the batch's results,
    /// merged: one strongly consistent query over the chunk's items.
    #[tracing::instrument(skip(self))]
    pub async fn chunk_results(
        &self,
        tenant_id: &str,
        batch_id: &str,
        chunk: u32,
    ) -> Result<ChunkResults> {
        let progress = format!("{}#P#", chunk_sk(batch_id, chunk));
        let query = self.query_prefix(tenant_pk(tenant_id), progress);
        let items = self.query_all(query, "reading chunk results").await?;
        let mut merged = ChunkResults::default();
        for item in items {
            let part: ProgressItem = decode(item, "decoding chunk progress")?;
            merge_part(&mut merged, part);
        }
        Ok(merged)
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
        let marker = encode(
            ChunkMarkerItem {
                pk: tenant_pk(tenant_id),
                sk: chunk_sk(batch_id, chunk),
                entity: "batch_chunk".to_owned(),
                counted_at: now.to_owned(),
                delivered: counts.delivered,
                failed: counts.failed,
                no_devices: counts.no_devices,
                expires_at,
            },
            "encoding chunk marker",
        )?;
        let add_counts = self
            .tx_update(key(tenant_pk(tenant_id), batch_sk(batch_id)))
            .update_expression("ADD delivered :delivered, failed :failed, no_devices :no_devices")
            .condition_expression("#state = :open")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":delivered", n(counts.delivered))
            .expression_attribute_values(":failed", n(counts.failed))
            .expression_attribute_values(":no_devices", n(counts.no_devices))
            .expression_attribute_values(":open", s("open"));
        let items = vec![self.tx_put_new(marker)?, update_item(add_counts)?];
        match self.transact(items, None, "counting chunk").await? {
            Ok(()) => Ok(CountResult::Counted),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(CountResult::AlreadyCounted),
            Err(cancelled) if cancelled.condition_failed(1) => Ok(CountResult::BatchGone),
            Err(cancelled) => Err(cancelled.into_error("counting chunk")),
        }
    }
}

/// Adds one progress item to a chunk's merged results. A `results`
/// attribute that does not parse (never written so) is left out, logged:
/// the rest of the batch's results still answer.
fn merge_part(merged: &mut ChunkResults, part: ProgressItem) {
    merged.delivered.extend(part.delivered);
    merged
        .delivered
        .extend(part.delivered_bin.iter().map(RawDigest::to_hex));
    for (indices, outcome) in [
        (part.settled_delivered, UserOutcome::Delivered),
        (part.settled_failed, UserOutcome::Failed),
        (part.settled_no_devices, UserOutcome::NoDevices),
    ] {
        for index in indices {
            merged.settle(index, outcome);
        }
    }
    let Some(json) = part.results else {
        return;
    };
    let results: ResultsAttribute = match serde_json::from_str(&json) {
        Ok(results) => results,
        Err(err) => {
            tracing::warn!(error = %err, "a progress item's results do not parse; left out");
            return;
        }
    };
    merged.user_ids.extend(results.users.iter().cloned());
    merged.user_reasons.extend(results.reasons.iter().cloned());
    for record in results.device_records() {
        let digest = token_digest(&record.token);
        merged.add_device(digest, record);
    }
}
