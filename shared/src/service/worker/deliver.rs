//! Steps 1 to 6 of the module docs: admit a chunk, run its waves within the
//! invocation's time, settle it (counted once, or delivered again).

use std::time::{Duration, Instant};

use futures::StreamExt;

use super::wave::WaveContext;
use super::{DeliveryStats, MessageMeta, Verdict, Worker};
use crate::clock::{less, now_rfc3339};
use crate::error::Result;
use crate::model::bulk_results::OVER_QUOTA;
use crate::model::{BatchState, ChunkProgress, DeliverChunk, Device, ProgressUpdate, UserOutcome};
use crate::push::{EncodedNotification, TenantPush};
use crate::service::delivery::RecipientRules;
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

/// Users the next wave may hold so that the tenant's pushes of the day
/// stay within what is left (`left`) once this wave's `devices` are pushed
/// on top of `pushed`: each user with devices takes one push at least. At
/// least one, so that a wave is read and the quota check settles the rest.
fn users_within_quota(left: u64, pushed: usize, devices: &[Vec<Device>]) -> usize {
    let this_wave = devices.iter().map(Vec::len).sum::<usize>();
    let spent = u64::try_from(pushed.saturating_add(this_wave)).unwrap_or(u64::MAX);
    usize::try_from(left.saturating_sub(spent))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// A chunk admitted for delivery: what its waves and its count need.
pub(super) struct ChunkJob {
    pub tenant_id: String,
    /// Hyphenated, as the batch item's key has it.
    pub batch_id: String,
    pub chunk: u32,
    pub user_ids: Vec<String>,
    pub encoded: EncodedNotification,
    pub push: TenantPush,
    /// The batch's TTL, carried by every progress item.
    pub expires_at: i64,
    /// On the queue's last receive, transient failures are final.
    pub last_receive: bool,
    /// Pushes the tenant may still make today (`pushes_per_day`): the
    /// chunk's users left when its pushes reach it fail unreached.
    pub pushes_left_today: u64,
}

/// What admission decided: the message's verdict already, or a job to run
/// with what earlier attempts recorded.
pub(super) enum Admission {
    Done(Verdict),
    Run(Box<ChunkJob>, ChunkProgress),
}

impl Worker {
    /// One chunk of a bulk batch: the module docs' steps 1 to 6.
    pub(super) async fn deliver_chunk(
        &self,
        chunk: DeliverChunk,
        meta: &MessageMeta,
        stats: &mut DeliveryStats,
    ) -> Result<Verdict> {
        let started = Instant::now();
        // Steps 1 and 2: tenant, batch and progress; duplicates acknowledged.
        let (job, mut progress) = match self.admit(chunk, meta).await? {
            Admission::Done(verdict) => return Ok(verdict),
            Admission::Run(job, progress) => (job, progress),
        };
        // Steps 3 and 5: waves of users, within the invocation's time.
        let waves = self.run_waves(&job, &mut progress, stats, meta).await;
        self.count_tenant_pushes(&job.tenant_id, stats.pushes).await;
        waves?;
        // Steps 4 and 6: counted once, or delivered again for what is left.
        self.settle(&job, &progress, stats, meta, started).await
    }

    /// Steps 1 and 2: whether the chunk is to be delivered, and if so what
    /// with. Reads the tenant, the batch and the chunk's progress once.
    async fn admit(&self, chunk: DeliverChunk, meta: &MessageMeta) -> Result<Admission> {
        let Ok(batch_uuid) = uuid::Uuid::parse_str(&chunk.batch_id) else {
            tracing::error!("poison message: malformed batch id");
            return Ok(Admission::Done(Verdict::Poison("malformed batch id")));
        };
        let batch_id = batch_uuid.hyphenated().to_string();
        let tenant_id = chunk.tenant_id.as_str();
        let encoded = match EncodedNotification::with_message_id(&chunk.notification, &batch_id) {
            Ok(encoded) => encoded,
            Err(err) => {
                tracing::error!(error = %err, "poison message: the notification is not deliverable");
                let reason = "the notification is not deliverable";
                return Ok(Admission::Done(Verdict::Poison(reason)));
            }
        };
        let Some(tenant) = self.app.store.get_tenant(tenant_id).await? else {
            tracing::info!("tenant deleted; chunk dropped");
            return Ok(Admission::Done(Verdict::Done));
        };
        let Some(batch) = self.app.store.get_batch(tenant_id, &batch_id).await? else {
            tracing::info!("batch gone; chunk dropped");
            return Ok(Admission::Done(Verdict::Done));
        };
        match batch.state {
            BatchState::Open => {}
            // Chunks of a scheduled batch exist only once it is open.
            BatchState::Aborted | BatchState::Cancelled | BatchState::Scheduled => {
                tracing::info!(state = ?batch.state, "batch not to be delivered; chunk dropped");
                return Ok(Admission::Done(Verdict::Done));
            }
            BatchState::Pending => {
                tracing::info!("batch still being enqueued; chunk postponed");
                self.postpone(meta, self.settings.pending_retry).await;
                return Ok(Admission::Done(Verdict::Retry));
            }
        }
        let progress = self
            .app
            .store
            .chunk_progress(tenant_id, &batch_id, chunk.chunk)
            .await?;
        if progress.counted {
            tracing::info!("chunk already counted; duplicate delivery acknowledged");
            self.delivery
                .events()
                .batch_completed_if_done(tenant_id, &batch_id)
                .await;
            return Ok(Admission::Done(Verdict::Done));
        }
        if batch.started_at.is_none() {
            self.app
                .store
                .mark_batch_started(tenant_id, &batch_id, &now_rfc3339())
                .await?;
        }
        let pushes_per_day = tenant
            .limits
            .effective(self.app.config.tenant_limits)
            .pushes_per_day;
        let pushed_today = self
            .app
            .store
            .tenant_pushes_today(tenant_id, self.app.tenant_limiter.now())
            .await?;
        let job = ChunkJob {
            pushes_left_today: u64::from(pushes_per_day).saturating_sub(pushed_today),
            push: self.delivery.tenant(&tenant).await?,
            last_receive: self
                .settings
                .max_receive_count
                .is_some_and(|max| meta.receive_count >= max),
            tenant_id: chunk.tenant_id,
            batch_id,
            chunk: chunk.chunk,
            user_ids: chunk.user_ids,
            encoded,
            expires_at: batch.expires_at,
        };
        Ok(Admission::Run(Box::new(job), progress))
    }

    /// Steps 3 and 5: the users not settled yet, wave by wave (the next
    /// wave's devices are looked up while this wave's are pushed), each
    /// wave recorded; no new wave close to the deadline.
    async fn run_waves(
        &self,
        job: &ChunkJob,
        progress: &mut ChunkProgress,
        stats: &mut DeliveryStats,
        meta: &MessageMeta,
    ) -> Result<()> {
        let unsettled = progress.unsettled(job.user_ids.len());
        stats.users = unsettled.len();
        let max_wave = self.settings.wave_users.max(1);
        // Waves are sized in bytes (see `next_wave_users`), starting small:
        // nothing is known of the users' devices yet.
        let (first, mut rest) =
            unsettled.split_at(FIRST_WAVE_USERS.min(max_wave).min(unsettled.len()));
        let mut resolved = self.resolve_wave(job, first).await;
        while let Some((wave, devices)) = resolved.take() {
            if meta.time_left(self.settings.deadline_margin) == Some(Duration::ZERO) {
                tracing::warn!(
                    users_left = wave.len() + rest.len(),
                    "the invocation's deadline is near; the rest waits for the next delivery"
                );
                break;
            }
            if u64::try_from(stats.pushes).unwrap_or(u64::MAX) >= job.pushes_left_today {
                let unreached: Vec<u32> = wave.iter().chain(rest).copied().collect();
                self.fail_over_quota(job, progress, &unreached).await?;
                break;
            }
            let devices = devices?;
            let next_users = next_wave_users(wave, &devices, max_wave).min(users_within_quota(
                job.pushes_left_today,
                stats.pushes,
                &devices,
            ));
            let (next, after) = rest.split_at(next_users.min(rest.len()));
            rest = after;
            let context = WaveContext {
                push: &job.push,
                encoded: &job.encoded,
                progress,
                last_receive: job.last_receive,
                deadline: less(meta.deadline, self.settings.settle_reserve),
                batch_id: &job.batch_id,
            };
            let (update, upcoming) = tokio::join!(
                self.push_wave(&context, wave, devices, stats),
                self.resolve_wave(job, next)
            );
            self.record(job, progress, update).await?;
            resolved = upcoming;
        }
        Ok(())
    }

    /// The tenant used up its pushes of the day: `users` fail without a
    /// push, recorded like a wave.
    async fn fail_over_quota(
        &self,
        job: &ChunkJob,
        progress: &mut ChunkProgress,
        users: &[u32],
    ) -> Result<()> {
        tracing::warn!(
            users = users.len(),
            "the tenant used up its pushes_per_day; the chunk's remaining users fail unreached"
        );
        let update = ProgressUpdate {
            settled: users
                .iter()
                .map(|&index| (index, UserOutcome::Failed))
                .collect(),
            user_reasons: users
                .iter()
                .map(|&index| (index, OVER_QUOTA.to_owned()))
                .collect(),
            ..ProgressUpdate::default()
        };
        self.record(job, progress, update).await
    }

    /// Stores what a wave settled (with the ids of the users it names, for
    /// the batch's results), then adds it to `progress`.
    async fn record(
        &self,
        job: &ChunkJob,
        progress: &mut ChunkProgress,
        mut update: ProgressUpdate,
    ) -> Result<()> {
        update.name_users(&job.user_ids);
        self.app
            .store
            .record_chunk_progress(
                &job.tenant_id,
                &job.batch_id,
                job.chunk,
                &update,
                job.expires_at,
            )
            .await?;
        progress.apply(update);
        Ok(())
    }

    /// Adds this invocation's pushes to the tenant's day (its
    /// `pushes_per_day`). Logged, not returned: the pushes were made.
    async fn count_tenant_pushes(&self, tenant_id: &str, pushes: usize) {
        let pushes = u32::try_from(pushes).unwrap_or(u32::MAX);
        self.app
            .tenant_limiter
            .add_pushes(&self.app.store, tenant_id, pushes)
            .await;
    }

    /// Steps 4 and 6: a chunk whose users are all settled goes into the
    /// batch counters (once); otherwise the message is retried, no sooner
    /// than a provider asked.
    async fn settle(
        &self,
        job: &ChunkJob,
        progress: &ChunkProgress,
        stats: &DeliveryStats,
        meta: &MessageMeta,
        started: Instant,
    ) -> Result<Verdict> {
        let settled = progress.settled.len();
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if settled < job.user_ids.len() {
            tracing::warn!(
                settled,
                unsettled = job.user_ids.len() - settled,
                pushes = stats.pushes,
                delivered = stats.delivered,
                transient = stats.transient,
                elapsed_ms,
                "transient failures remain; SQS will deliver the chunk again"
            );
            self.come_back_after_asked_wait(meta, stats).await;
            return Ok(Verdict::Retry);
        }
        let counts = progress.counts();
        let counted = self
            .app
            .store
            .count_chunk(
                &job.tenant_id,
                &job.batch_id,
                job.chunk,
                counts,
                &now_rfc3339(),
                job.expires_at,
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
        } else {
            self.delivery
                .events()
                .batch_completed_if_done(&job.tenant_id, &job.batch_id)
                .await;
        }
        Ok(Verdict::Done)
    }

    /// When a provider asked for a wait the engine would not sleep through,
    /// the message comes back no sooner than that.
    async fn come_back_after_asked_wait(&self, meta: &MessageMeta, stats: &DeliveryStats) {
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
    }

    /// A wave's users and their devices; `None` for an empty wave.
    async fn resolve_wave<'w>(
        &self,
        job: &ChunkJob,
        wave: &'w [u32],
    ) -> Option<(&'w [u32], Result<Vec<Vec<Device>>>)> {
        if wave.is_empty() {
            return None;
        }
        Some((
            wave,
            self.resolve(&job.tenant_id, &job.user_ids, wave, &job.encoded)
                .await,
        ))
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
                        .recipients(tenant_id, user_id, encoded, RecipientRules::BULK)
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
            self.app.config.delivery_queue().ok(),
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
