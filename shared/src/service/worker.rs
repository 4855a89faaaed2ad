//! The delivery worker's rules: what to do with one message of the delivery
//! queue. The Lambda crate (`functions/delivery-worker`) turns SQS records
//! into calls of [`Worker::process`] and its [`Verdict`]s into
//! `batchItemFailures`.
//!
//! # `deliver`: one chunk of a bulk batch
//!
//! 1. A message whose tenant is gone is dropped (acknowledged, nothing
//!    delivered); so is one whose batch is gone or aborted. A chunk of a
//!    batch still being enqueued (`pending`) comes back a few seconds later.
//! 2. The chunk's progress items are read once. A chunk already counted is
//!    a duplicate: acknowledged at once.
//! 3. The users not settled yet are processed in waves: their devices are
//!    looked up (bounded concurrency; the next wave's lookups overlap this
//!    wave's pushes), devices that already accepted this push on an
//!    earlier attempt are skipped, the rest get it through the engine
//!    (which bounds pushes in flight across APNs and FCM and retries
//!    transient failures), dead tokens are removed, and one progress item
//!    records the wave: digests of the devices that accepted, and the users
//!    settled. A redelivered message thus never pushes twice to a device
//!    that accepted (short of a crash between a push and its wave's record).
//! 4. When every user is settled, the chunk's counts go into the batch
//!    counters in one transaction with the chunk's marker item, on
//!    condition that the marker does not exist: counted exactly once.
//! 5. No new wave starts close to the invocation's deadline, and a wave's
//!    pushes are over (cut short if need be: see
//!    `Providers::deliver_encoded_until`) a few seconds before it, leaving
//!    the time to record the wave: the message is retried with its
//!    progress kept rather than the invocation timing out with pushes
//!    sent and not recorded (which would push them again).
//! 6. Users with a device whose push failed transiently (after the
//!    engine's retries) stay unsettled and the message is reported failed,
//!    so SQS delivers it again; on its last receive (when the queue's
//!    `maxReceiveCount` is configured) they are settled as failed instead,
//!    so the batch still reaches `done`.
//!
//! # `purge_tenant`
//!
//! Goes on with a tenant's deletion: its partition in bounded steps for a
//! bounded time, enqueueing itself again if anything is left; then its
//! secret and its tombstone. A purge for a live tenant (no tombstone) is
//! refused (logged and dropped): it can only be a mistake.

use std::time::{Duration, Instant};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::clock::{less, now_rfc3339};
use crate::error::{Error, Result};
use crate::ids::has_id_shape;
use crate::model::{BatchState, DeliverChunk, Device, QueueMessage};
use crate::push::{DeliveryOutcome, EncodedNotification, TenantPush};
use crate::service::sending::Dispatcher;
use crate::service::tenants::{self, Finish};
use crate::store::{ChunkProgress, CountResult, ProgressUpdate, UserOutcome};

/// Knobs of the worker; the defaults suit a 30-second Lambda with 10
/// messages of 500 users per invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Users per wave: one progress item per wave.
    pub wave_users: usize,
    /// Device lookups in flight per message.
    pub lookup_concurrency: usize,
    /// The queue's `maxReceiveCount`: on that receive, transient failures
    /// are final. `None`: always retried (SQS decides when to give up).
    pub max_receive_count: Option<u32>,
    /// Visibility timeout given to a chunk whose batch is still pending.
    pub pending_retry: Duration,
    /// Items deleted per purge step.
    pub purge_step: usize,
    /// Purge time per message before it re-enqueues itself.
    pub purge_budget: Duration,
    /// No new wave starts with less than this left before the invocation's
    /// deadline: the message is retried with its progress kept, instead of
    /// the whole invocation timing out (which would retry every message).
    pub deadline_margin: Duration,
    /// The delivery queue's dead-letter queue, where poison messages go at
    /// once with their reason (`NOTIFY_DELIVERY_DLQ_URL`).
    pub dead_letter_queue_url: Option<String>,
    /// A wave's pushes end this long before the invocation's deadline, to
    /// leave time for removing dead tokens and recording the wave.
    pub settle_reserve: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            wave_users: 100,
            lookup_concurrency: 32,
            max_receive_count: None,
            pending_retry: Duration::from_secs(5),
            purge_step: 500,
            purge_budget: Duration::from_secs(10),
            deadline_margin: Duration::from_secs(5),
            settle_reserve: Duration::from_secs(3),
            dead_letter_queue_url: None,
        }
    }
}

impl WorkerSettings {
    /// Defaults, with `max_receive_count` from
    /// `NOTIFY_DELIVERY_MAX_RECEIVE_COUNT` (the template's
    /// `DeliveryMaxReceiveCount`) and the dead-letter queue from
    /// `NOTIFY_DELIVERY_DLQ_URL`, when set.
    pub fn from_env() -> Self {
        Self {
            max_receive_count: std::env::var("NOTIFY_DELIVERY_MAX_RECEIVE_COUNT")
                .ok()
                .and_then(|value| value.trim().parse().ok())
                .filter(|count| *count > 0),
            dead_letter_queue_url: std::env::var("NOTIFY_DELIVERY_DLQ_URL")
                .ok()
                .filter(|url| !url.trim().is_empty()),
            ..Self::default()
        }
    }
}

/// What SQS says about a message besides its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageMeta {
    pub message_id: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    pub receipt_handle: Option<String>,
    /// When the invocation ends (Lambda's deadline); `None`: no limit.
    pub deadline: Option<Instant>,
}

impl MessageMeta {
    /// Time left before the deadline, less `margin`; `None` without one.
    fn time_left(&self, margin: Duration) -> Option<Duration> {
        self.deadline.map(|deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(margin)
        })
    }
}

/// What to tell SQS about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Done (or dropped on purpose): delete it.
    Done,
    /// Worth another try: report it in `batchItemFailures`.
    Retry,
    /// Can never be processed, for the reason given. With a dead-letter
    /// queue configured the worker moves it there at once, with the reason
    /// ([`Verdict::DeadLettered`]); otherwise (or when that fails) it is
    /// reported in `batchItemFailures` every time, so SQS moves it after
    /// `maxReceiveCount`.
    Poison(&'static str),
    /// Poison, moved to the dead-letter queue by the worker: delete it.
    DeadLettered,
}

impl Verdict {
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Retry | Verdict::Poison(_))
    }
}

/// Counters of one message's processing, for logs and measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Users processed (not settled by an earlier attempt).
    pub users: usize,
    pub pushes: usize,
    pub delivered: usize,
    pub skipped_already_delivered: usize,
    pub dead_tokens: usize,
    pub transient: usize,
    pub failed: usize,
    /// Time spent in the push engine (dead-token removal included).
    pub push_time: Duration,
    /// The whole message, from parsing to the last write.
    pub total_time: Duration,
}

/// A verdict and what it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processed {
    pub verdict: Verdict,
    pub stats: DeliveryStats,
}

/// Everything the worker needs, built once per container: the app's
/// clients, and the single-send [`Dispatcher`] (provider connections,
/// cached tenant credentials, delivery with dead-token removal).
pub struct Worker {
    pub app: App,
    pub dispatcher: Dispatcher,
    pub settings: WorkerSettings,
}

/// What every wave of one message shares.
#[derive(Clone, Copy)]
struct WaveContext<'a> {
    push: &'a TenantPush,
    encoded: &'a EncodedNotification,
    /// What earlier attempts recorded (devices that accepted are skipped).
    progress: &'a ChunkProgress,
    /// On the queue's last receive, transient failures are final.
    last_receive: bool,
    /// When the wave's pushes must be over.
    deadline: Option<Instant>,
}

/// One user of a wave while it is processed.
struct WaveUser {
    index: u32,
    devices: usize,
    delivered: bool,
    transient: bool,
}

/// The digest by which progress items remember a device: 16 hex digits of
/// the token's SHA-256 (tokens can be 4 KiB; a chunk's digests must fit in
/// DynamoDB items).
pub fn token_digest(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

impl Worker {
    pub fn new(app: App, dispatcher: Dispatcher, settings: WorkerSettings) -> Self {
        Self {
            app,
            dispatcher,
            settings,
        }
    }

    /// Processes one message body. Never panics; every failure is a verdict.
    pub async fn process(&self, body: &str, meta: &MessageMeta) -> Processed {
        let started = Instant::now();
        let mut stats = DeliveryStats::default();
        let verdict = match self.process_body(body, meta, &mut stats).await {
            Verdict::Poison(reason) => self.dead_letter(body, meta, reason).await,
            verdict => verdict,
        };
        stats.total_time = started.elapsed();
        Processed { verdict, stats }
    }

    /// Moves a poison message to the dead-letter queue with its reason (the
    /// `notify_reason` message attribute, for the operator reading it),
    /// rather than letting SQS receive it `maxReceiveCount` times first.
    /// Without a dead-letter queue, or when sending fails, it stays poison.
    async fn dead_letter(&self, body: &str, meta: &MessageMeta, reason: &'static str) -> Verdict {
        let Some(queue_url) = self.settings.dead_letter_queue_url.as_deref() else {
            return Verdict::Poison(reason);
        };
        let attribute = |value: String| {
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
        };
        let (Ok(reason_value), Ok(source_value)) = (
            attribute(reason.to_owned()),
            attribute(meta.message_id.clone()),
        ) else {
            return Verdict::Poison(reason);
        };
        let mut send = self
            .app
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .message_attributes("notify_reason", reason_value);
        if !meta.message_id.is_empty() {
            send = send.message_attributes("notify_source_message_id", source_value);
        }
        match send.send().await {
            Ok(_) => {
                tracing::warn!(reason, "poison message moved to the dead-letter queue");
                Verdict::DeadLettered
            }
            Err(err) => {
                tracing::error!(
                    reason,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                    "could not move a poison message to the dead-letter queue; SQS will after maxReceiveCount"
                );
                Verdict::Poison(reason)
            }
        }
    }

    async fn process_body(
        &self,
        body: &str,
        meta: &MessageMeta,
        stats: &mut DeliveryStats,
    ) -> Verdict {
        let message = match QueueMessage::from_body(body) {
            Ok(message) => message,
            Err(err) => {
                // The parse error names a field or a position, never the content.
                tracing::error!(error = %err, bytes = body.len(), "poison message: body does not parse");
                return Verdict::Poison("the body is not a queue message of this version");
            }
        };
        let tenant_id = message.tenant_id().to_owned();
        if !has_id_shape(&tenant_id, "tnt_") {
            tracing::error!(kind = message.kind(), "poison message: malformed tenant id");
            return Verdict::Poison("malformed tenant id");
        }
        let result = match message {
            QueueMessage::Deliver(chunk) => {
                let span = tracing::info_span!(
                    "deliver",
                    tenant_id = %chunk.tenant_id,
                    batch_id = %chunk.batch_id,
                    chunk = chunk.chunk,
                    users = chunk.user_ids.len()
                );
                tracing::Instrument::instrument(self.deliver(chunk, meta, stats), span).await
            }
            QueueMessage::PurgeTenant { tenant_id } => {
                let span = tracing::info_span!("purge_tenant", tenant_id = %tenant_id);
                tracing::Instrument::instrument(self.purge(&tenant_id, body, meta), span).await
            }
        };
        result.unwrap_or_else(|err| {
            tracing::warn!(error = %err, cause = %cause_chain(&err), "message failed; SQS will deliver it again");
            Verdict::Retry
        })
    }

    async fn deliver(
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
        let encoded = match EncodedNotification::new(&chunk.notification) {
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
                self.postpone(meta).await;
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
        let push = self.dispatcher.tenant_push(&self.app, &tenant).await?;
        let last_receive = self
            .settings
            .max_receive_count
            .is_some_and(|max| meta.receive_count >= max);

        let total = u32::try_from(chunk.user_ids.len()).unwrap_or(u32::MAX);
        let unsettled: Vec<u32> = (0..total)
            .filter(|index| !progress.settled.contains_key(index))
            .collect();
        let waves: Vec<&[u32]> = unsettled.chunks(self.settings.wave_users.max(1)).collect();
        stats.users = unsettled.len();
        let mut resolved = match waves.first() {
            Some(wave) => Some(self.resolve(tenant_id, &chunk.user_ids, wave).await),
            None => None,
        };
        let mut wave_index = 0;
        while let Some(devices) = resolved.take() {
            if meta.time_left(self.settings.deadline_margin) == Some(Duration::ZERO) {
                tracing::warn!(
                    waves_left = waves.len() - wave_index,
                    "the invocation's deadline is near; the rest waits for the next delivery"
                );
                break;
            }
            let devices = devices?;
            let wave = waves.get(wave_index).copied().unwrap_or_default();
            wave_index += 1;
            let next = waves.get(wave_index).copied();
            let context = WaveContext {
                push: &push,
                encoded: &encoded,
                progress: &progress,
                last_receive,
                deadline: less(meta.deadline, self.settings.settle_reserve),
            };
            let (update, upcoming) =
                tokio::join!(self.deliver_wave(&context, wave, devices, stats), async {
                    match next {
                        Some(wave) => Some(self.resolve(tenant_id, &chunk.user_ids, wave).await),
                        None => None,
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

    /// The devices of a wave's users, in wave order.
    async fn resolve(
        &self,
        tenant_id: &str,
        user_ids: &[String],
        wave: &[u32],
    ) -> Result<Vec<Vec<Device>>> {
        let lookups = wave.iter().map(|&index| async move {
            match user_ids.get(index as usize) {
                Some(user_id) => self.app.store.list_devices(tenant_id, user_id).await,
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

    /// Pushes to one wave's devices, removes dead ones, and returns what to
    /// record. `devices[i]` belongs to user `wave[i]`.
    async fn deliver_wave(
        &self,
        context: &WaveContext<'_>,
        wave: &[u32],
        devices: Vec<Vec<Device>>,
        stats: &mut DeliveryStats,
    ) -> ProgressUpdate {
        let WaveContext {
            push,
            encoded,
            progress,
            last_receive,
            deadline,
        } = *context;
        let mut users: Vec<WaveUser> = wave
            .iter()
            .zip(&devices)
            .map(|(&index, devices)| WaveUser {
                index,
                devices: devices.len(),
                delivered: false,
                transient: false,
            })
            .collect();
        // Devices still to push to, and (slot in the wave, digest) of each.
        let mut pending = Vec::new();
        let mut owners = Vec::new();
        for (slot, user_devices) in devices.into_iter().enumerate() {
            for device in user_devices {
                let digest = token_digest(&device.token);
                if progress.delivered.contains(&digest) {
                    stats.skipped_already_delivered += 1;
                    if let Some(user) = users.get_mut(slot) {
                        user.delivered = true;
                    }
                } else {
                    pending.push(device);
                    owners.push((slot, digest));
                }
            }
        }
        // Pushes, then removes the tokens reported dead.
        let pushing = Instant::now();
        let results = if pending.is_empty() {
            Vec::new()
        } else {
            self.dispatcher
                .deliver_to_devices(&self.app, push, encoded, &pending, deadline)
                .await
        };
        stats.pushes += pending.len();
        stats.push_time += pushing.elapsed();

        let mut update = ProgressUpdate::default();
        for ((slot, digest), result) in owners.into_iter().zip(results) {
            let Some(user) = users.get_mut(slot) else {
                continue;
            };
            match result.outcome {
                DeliveryOutcome::Delivered => {
                    stats.delivered += 1;
                    user.delivered = true;
                    update.delivered.push(digest);
                }
                DeliveryOutcome::DeadToken(_) => stats.dead_tokens += 1,
                DeliveryOutcome::Transient(_) => {
                    stats.transient += 1;
                    user.transient = true;
                }
                DeliveryOutcome::Failed(_) => stats.failed += 1,
            }
        }
        for user in &users {
            let outcome = if user.devices == 0 {
                Some(UserOutcome::NoDevices)
            } else if user.transient && !last_receive {
                None
            } else if user.delivered {
                Some(UserOutcome::Delivered)
            } else {
                Some(UserOutcome::Failed)
            };
            if let Some(outcome) = outcome {
                update.settled.push((user.index, outcome));
            }
        }
        update
    }

    /// Makes the message visible again soon instead of after the queue's
    /// full visibility timeout. Best effort.
    async fn postpone(&self, meta: &MessageMeta) {
        let (Some(queue_url), Some(receipt)) = (
            self.app.config.delivery_queue_url.as_deref(),
            meta.receipt_handle.as_deref(),
        ) else {
            return;
        };
        let seconds = i32::try_from(self.settings.pending_retry.as_secs()).unwrap_or(5);
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

    /// Goes on with a deletion: the partition in steps, then (see
    /// [`tenants::finish_deletion`]) the secret and the tombstone. Only a
    /// tenant being deleted (or already gone) is purged; a live one never.
    async fn purge(&self, tenant_id: &str, body: &str, meta: &MessageMeta) -> Result<Verdict> {
        let record = self.app.store.tenant_record(tenant_id).await?;
        if record.is_some_and(|record| record.is_live()) {
            tracing::error!("purge requested for a live tenant; refused and dropped");
            return Ok(Verdict::Done);
        }
        let started = Instant::now();
        let budget = match meta.time_left(self.settings.deadline_margin) {
            Some(left) => left.min(self.settings.purge_budget),
            None => self.settings.purge_budget,
        };
        let mut deleted = 0;
        loop {
            let step = self
                .app
                .store
                .purge_tenant_partition(tenant_id, self.settings.purge_step)
                .await?;
            deleted += step.deleted;
            if step.complete {
                return Ok(
                    match tenants::finish_deletion(&self.app, tenant_id).await? {
                        Finish::Done => {
                            tracing::info!(deleted, "tenant purged");
                            Verdict::Done
                        }
                        // SQS delivers it again after the visibility timeout,
                        // longer than any claim.
                        Finish::Held { retry_after_secs } => {
                            tracing::info!(deleted, retry_after_secs, "tenant purged but for its secret, which a change still holds; retrying");
                            Verdict::Retry
                        }
                    },
                );
            }
            if started.elapsed() >= budget {
                break;
            }
        }
        // More is left: hand it to a fresh message so no single one runs long.
        let Some(queue_url) = self.app.config.delivery_queue_url.as_deref() else {
            tracing::warn!(
                deleted,
                "purge incomplete and no queue to continue on; retrying"
            );
            return Ok(Verdict::Retry);
        };
        self.app
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|err| Error::from_sdk("re-enqueueing purge", err))?;
        tracing::info!(deleted, "purge continues in a new message");
        Ok(Verdict::Done)
    }
}

fn merge(progress: &mut ChunkProgress, update: ProgressUpdate) {
    progress.delivered.extend(update.delivered);
    for (index, outcome) in update.settled {
        progress.settle(index, outcome);
    }
}

/// The Display of every cause, outermost first.
fn cause_chain(err: &Error) -> String {
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    chain.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_short_stable_and_distinct() {
        let a = token_digest(&"ab".repeat(32));
        assert_eq!(a.len(), 16);
        assert_eq!(a, token_digest(&"ab".repeat(32)));
        assert_ne!(a, token_digest(&"ab".repeat(31)));
    }

    #[test]
    fn the_receive_limit_comes_from_the_environment_or_is_absent() {
        assert_eq!(WorkerSettings::default().max_receive_count, None);
        assert!(Verdict::Poison("x").is_failure() && Verdict::Retry.is_failure());
        assert!(!Verdict::Done.is_failure() && !Verdict::DeadLettered.is_failure());
    }

    #[test]
    fn merged_progress_keeps_the_strongest_outcome() {
        let mut progress = ChunkProgress::default();
        merge(
            &mut progress,
            ProgressUpdate {
                delivered: vec!["d1".to_owned()],
                settled: vec![(0, UserOutcome::Failed), (1, UserOutcome::NoDevices)],
            },
        );
        merge(
            &mut progress,
            ProgressUpdate {
                delivered: vec!["d1".to_owned(), "d2".to_owned()],
                settled: vec![(0, UserOutcome::Delivered)],
            },
        );
        assert_eq!(progress.delivered.len(), 2);
        assert_eq!(progress.settled.get(&0), Some(&UserOutcome::Delivered));
        let counts = progress.counts();
        assert_eq!(
            (counts.delivered, counts.failed, counts.no_devices),
            (1, 0, 1)
        );
    }
}
