//! Steps 1 to 6 of the module docs: admit a chunk, run its waves within the
//! invocation's time, count it once.

use std::time::{Duration, Instant};

use futures::StreamExt;

use super::wave::{merge, WaveContext};
use super::{DeliveryStats, MessageMeta, Verdict, Worker};
use crate::clock::{less, now_rfc3339};
use crate::error::Result;
use crate::model::{BatchState, DeliverChunk, Device};
use crate::push::EncodedNotification;
use crate::service::delivery::WebPushSize;
use crate::store::CountResult;

/// Token bytes one wave of a message holds at most (give or take one
/// user's devices): the next wave's devices are read while this wave's are
/// pushed, so a message holds about twice this in devices. Device counts
/// alone do not bound memory: a user may have 100 devices with FCM tokens
/// of 4,096 characters.
pub const WAVE_TOKEN_BYTES: usize = 1024 * 1024;

/// The first wave of a message, before anything is known of its users'
/// devices: small, so that even users with the most and largest tokens
/// keep it near [`WAVE_TOKEN_BYTES`].
const FIRST_WAVE_USERS: usize = 2;

/// What a device costs in memory besides its token: user id, timestamps,
/// Web Push keys, the `Device` itself.
const DEVICE_OVERHEAD_BYTES: usize = 256;

/// Users in the next wave: as many as [`WAVE_TOKEN_BYTES`] holds at this
/// wave's bytes per user, between 1 and `max_wave`.
fn next_wave_users(wave: &[u32], devices: &[Vec<Device>], max_wave: usize) -> usize {
    let bytes: usize = devices
        .iter()
        .flatten()
        .map(|device| device.token.len() + DEVICE_OVERHEAD_BYTES)
        .sum();
    let per_user = bytes.div_ceil(wave.len().max(1)).max(1);
    (WAVE_TOKEN_BYTES / per_user).clamp(1, max_wave)
}

impl Worker {
    pub(super) async fn deliver(
        &self,
        chunk: DeliverChunk,
        meta: &MessageMeta,
        stats: &mut DeliveryStats,
    ) -> Result<Verdict> {
        let started = Instant::now();
        let Ok(batch_uuid) = uuid::Uuid::parse_str(&chunk.batch_id) else {
            tracing::error!("poison message: malformed batch id");
            return Ok(Verdict::Poison("malformed batch id"));
        };
        let batch_id = batch_uuid.hyphenated().to_string();
        let tenant_id = chunk.tenant_id.as_str();
        let encoded = match EncodedNotification::with_message_id(&chunk.notification, &batch_id) {
            Ok(encoded) => encoded,
            Err(err) => {
                tracing::error!(error = %err, "poison message: the notification is not deliverable");
                return Ok(Verdict::Poison("the notification is not deliverable"));
            }
        };
        let Some(tenant) = self.app.store.get_tenant(tenant_id).await? else {
            tracing::info!("tenant deleted; chunk dropped");
            return Ok(Verdict::Done);
        };
        let Some(batch) = self.app.store.get_batch(tenant_id, &batch_id).await? else {
            tracing::info!("batch gone; chunk dropped");
            return Ok(Verdict::Done);
        };
        match batch.state {
            BatchState::Open => {}
            BatchState::Aborted => {
                tracing::info!("batch aborted at enqueueing; chunk dropped");
                return Ok(Verdict::Done);
            }
            BatchState::Pending => {
                tracing::info!("batch still being enqueued; chunk postponed");
                self.postpone(meta, self.settings.pending_retry).await;
                return Ok(Verdict::Retry);
            }
        }
        let mut progress = self
            .app
            .store
            .chunk_progress(tenant_id, &batch_id, chunk.chunk)
            .await?;
        if progress.counted {
            tracing::info!("chunk already counted; duplicate delivery acknowledged");
            return Ok(Verdict::Done);
        }
        if batch.started_at.is_none() {
            self.app
                .store
                .mark_batch_started(tenant_id, &batch_id, &now_rfc3339())
                .await?;
        }
        let push = self.delivery.tenant(&tenant).await?;
        let last_receive = self
            .settings
            .max_receive_count
            .is_some_and(|max| meta.receive_count >= max);

        let total = u32::try_from(chunk.user_ids.len()).unwrap_or(u32::MAX);
        let unsettled: Vec<u32> = (0..total)
            .filter(|index| !progress.settled.contains_key(index))
            .collect();
        stats.users = unsettled.len();
        let max_wave = self.settings.wave_users.max(1);
        // Waves are sized in bytes (see `next_wave_users`), starting small:
        // nothing is known of the users' devices yet.
        let (first, mut rest) =
            unsettled.split_at(FIRST_WAVE_USERS.min(max_wave).min(unsettled.len()));
        let mut resolved = if first.is_empty() {
            None
        } else {
            Some((
                first,
                self.resolve(tenant_id, &chunk.user_ids, first, &encoded)
                    .await,
            ))
        };
        while let Some((wave, devices)) = resolved.take() {
            if meta.time_left(self.settings.deadline_margin) == Some(Duration::ZERO) {
                tracing::warn!(
                    users_left = wave.len() + rest.len(),
                    "the invocation's deadline is near; the rest waits for the next delivery"
                );
                break;
            }
            let devices = devices?;
            let (next, after) =
                rest.split_at(next_wave_users(wave, &devices, max_wave).min(rest.len()));
            rest = after;
            let context = WaveContext {
                push: &push,
                encoded: &encoded,
                progress: &progress,
                last_receive,
                deadline: less(meta.deadline, self.settings.settle_reserve),
            };
            let (update, upcoming) =
                tokio::join!(self.deliver_wave(&context, wave, devices, stats), async {
                    if next.is_empty() {
                        None
                    } else {
                        Some((
                            next,
                            self.resolve(tenant_id, &chunk.user_ids, next, &encoded)
                                .await,
                        ))
                    }
                });
            self.app
                .store
                .record_chunk_progress(tenant_id, &batch_id, chunk.chunk, &update, batch.expires_at)
                .await?;
            merge(&mut progress, update);
            resolved = upcoming;
        }

        let settled = progress.settled.len();
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if settled < chunk.user_ids.len() {
            tracing::warn!(
                settled,
                unsettled = chunk.user_ids.len() - settled,
                pushes = stats.pushes,
                delivered = stats.delivered,
                transient = stats.transient,
                elapsed_ms,
                "transient failures remain; SQS will deliver the chunk again"
            );
            if let Some(wait) = stats
                .retry_after
                .filter(|wait| *wait >= self.settings.requeue_min_wait)
            {
                tracing::info!(
                    wait_secs = wait.as_secs(),
                    "a provider asked to wait; the chunk comes back after that"
                );
                self.postpone(meta, wait.min(self.settings.max_requeue_delay))
                    .await;
            }
            return Ok(Verdict::Retry);
        }
        let counts = progress.counts();
        let counted = self
            .app
            .store
            .count_chunk(
                tenant_id,
                &batch_id,
                chunk.chunk,
                counts,
                &now_rfc3339(),
                batch.expires_at,
            )
            .await?;
        tracing::info!(
            users = stats.users,
            pushes = stats.pushes,
            delivered = stats.delivered,
            skipped = stats.skipped_already_delivered,
            dead_tokens = stats.dead_tokens,
            failed = stats.failed,
            users_delivered = counts.delivered,
            users_failed = counts.failed,
            users_without_devices = counts.no_devices,
            counted = ?counted,
            push_ms = u64::try_from(stats.push_time.as_millis()).unwrap_or(u64::MAX),
            elapsed_ms,
            "chunk delivered"
        );
        if counted == CountResult::BatchGone {
            tracing::info!("batch gone before counting; counts dropped");
        }
        Ok(Verdict::Done)
    }

    /// The devices of a wave's users that the notification goes to, in
    /// wave order.
    async fn resolve(
        &self,
        tenant_id: &str,
        user_ids: &[String],
        wave: &[u32],
        encoded: &EncodedNotification,
    ) -> Result<Vec<Vec<Device>>> {
        let lookups = wave.iter().map(|&index| async move {
            match user_ids.get(index as usize) {
                Some(user_id) => {
                    self.delivery
                        .recipients(tenant_id, user_id, encoded, WebPushSize::FailDevice)
                        .await
                }
                None => Ok(Vec::new()),
            }
        });
        futures::stream::iter(lookups)
            .buffered(self.settings.lookup_concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Makes the message visible again after `delay` instead of the queue's
    /// visibility timeout. Best effort.
    pub(super) async fn postpone(&self, meta: &MessageMeta, delay: Duration) {
        let (Some(queue_url), Some(receipt)) = (
            self.app.config.delivery_queue_url.as_deref(),
            meta.receipt_handle.as_deref(),
        ) else {
            return;
        };
        // SQS takes 0 to 43,200 seconds.
        let seconds = i32::try_from(delay.as_secs().min(43_200)).unwrap_or(43_200);
        if let Err(err) = self
            .app
            .sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(
                error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                "could not shorten the visibility timeout"
            );
        }
    }
}
