//! The delivery worker's rules: what to do with one message of the delivery
//! queue. The Lambda crate (`functions/delivery-worker`) turns SQS records
//! into calls of [`Worker::process`] and its [`Verdict`]s into
//! `batchItemFailures`.
//!
//! # `deliver_chunk`: one chunk of a bulk batch
//!
//! 1. A message whose tenant is gone is dropped (acknowledged, nothing
//!    delivered); so is one whose batch is gone or aborted. A chunk of a
//!    batch still being enqueued (`pending`) comes back a few seconds later.
//! 2. The chunk's progress items are read once. A chunk already counted is
//!    a duplicate: acknowledged at once.
//! 3. The users not settled yet are processed in waves, sized in bytes
//!    (at most `wave_users` users and about [`WAVE_TOKEN_BYTES`] of their
//!    devices' tokens, so memory is bounded whatever the tokens' length;
//!    see `docs/limits.md` for the measured peak): their devices are
//!    looked up (bounded concurrency; the next wave's lookups overlap this
//!    wave's pushes), devices that already accepted this push on an
//!    earlier attempt are skipped, the rest get it through the engine
//!    (which bounds pushes in flight across APNs and FCM and retries
//!    transient failures), dead tokens are removed, and one progress item
//!    records the wave: digests of the devices that accepted, the users
//!    settled, and for the batch's results (`service::bulk::bulk_results`)
//!    the ids of the users it names and the devices whose outcome became
//!    final without delivery (several items when that is too large for one). A redelivered message thus never pushes twice to a device
//!    that accepted (short of a crash between a push and its wave's record).
//! 4. When every user is settled, the chunk's counts go into the batch
//!    counters in one transaction with the chunk's marker item, on
//!    condition that the marker does not exist: counted exactly once.
//! 5. No new wave starts close to the invocation's deadline, and a wave's
//!    pushes are over (cut short if need be: see
//!    `PushEngine::deliver`) a few seconds before it, leaving
//!    the time to record the wave: the message is retried with its
//!    progress kept rather than the invocation timing out with pushes
//!    sent and not recorded (which would push them again).
//! 6. Users with a device whose push failed transiently (after the
//!    engine's retries) stay unsettled and the message is reported failed,
//!    so SQS delivers it again; on its last receive (when the queue's
//!    `maxReceiveCount` is configured) they are settled as failed instead,
//!    so the batch still reaches `done`. When a provider asked for a wait
//!    the engine would not sleep through (FCM's minute after
//!    `QUOTA_EXCEEDED`, Apple's 15 minutes after a 5xx, a long
//!    `Retry-After`), the message comes back no sooner than that
//!    (`ChangeMessageVisibility`): the invocation moves on to other
//!    messages, other tenants' among them, instead of waiting.
//!
//! # Fairness
//!
//! Before an event's records are processed, each tenant's beyond its share
//! of the invocation are set aside to the back of the queue: see [`fair`].
//!
//! # `read_audience`: one page of an audience batch
//!
//! A topic's subscribers, all users, or a scheduled list, a page at a time:
//! see [`audience`].
//!
//! # `purge_tenant`
//!
//! Goes on with a tenant's deletion: its partition in bounded steps for a
//! bounded time, enqueueing itself again if anything is left; then its
//! secret and its tombstone. A purge for a live tenant (no tombstone) is
//! refused (logged and dropped): it can only be a mistake.

mod audience;
pub mod chain;
mod deliver;
pub mod fair;
mod purge;
mod wave;

use std::time::{Duration, Instant};

use crate::app::App;
use crate::config::Config;
use crate::ids::is_tenant_id;
use crate::model::QueueMessage;
use crate::service::delivery::Delivery;

pub use crate::model::bulk_results::token_digest;
pub use deliver::WAVE_TOKEN_BYTES;

/// Knobs of the worker; the defaults suit a 30-second Lambda with 10
/// messages of 500 users per invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Users per wave at most (fewer when their tokens pass
    /// [`WAVE_TOKEN_BYTES`]): one progress item per wave.
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
    /// A wait a provider asked for that is at least this long decides when
    /// the message is delivered again; shorter ones are left to the
    /// queue's visibility timeout (retrying sooner than it would only add
    /// requests).
    pub requeue_min_wait: Duration,
    /// The longest such wait (SQS allows a visibility timeout of 12 hours).
    pub max_requeue_delay: Duration,
    /// Records of one tenant processed per invocation at most; the rest of
    /// its first receives are set aside ([`fair`]). `WorkerTenantShare`,
    /// default 2; `usize::MAX` when the operator turned it off (0).
    pub tenant_share: usize,
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
            requeue_min_wait: Duration::from_secs(15),
            max_requeue_delay: Duration::from_secs(12 * 3600),
            tenant_share: 2,
        }
    }
}

impl WorkerSettings {
    /// Defaults, with `max_receive_count` (`NOTIFY_DELIVERY_MAX_RECEIVE_COUNT`)
    /// and the dead-letter queue (`NOTIFY_DELIVERY_DLQ_URL`) from the
    /// configuration read at cold start.
    pub fn from_config(config: &Config) -> Self {
        let defaults = Self::default();
        Self {
            max_receive_count: config.delivery_max_receive_count,
            dead_letter_queue_url: config.delivery_dlq_url.clone(),
            tenant_share: tenant_share_of(config.worker_tenant_share, defaults.tenant_share),
            ..defaults
        }
    }
}

/// The share the operator set (`WorkerTenantShare`), `default` without one.
fn tenant_share_of(configured: Option<u32>, default: usize) -> usize {
    match configured {
        // Off: no tenant has more records in an event than it holds.
        Some(0) => usize::MAX,
        Some(share) => usize::try_from(share).unwrap_or(usize::MAX),
        None => default,
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
    /// Message attribute [`chain::HOP_ATTRIBUTE`]: how many messages came
    /// before this one in its chain (a purge's continuations); 0 when absent.
    pub hop: u32,
    /// Message attribute `notify_schema` (`service::queue_schema`): the
    /// body's schema version; `None` when absent.
    pub schema: Option<String>,
    /// Message attribute `notify_key_id` (`service::queue_schema`): the API
    /// key whose request enqueued the message; `None` when absent.
    pub key_id: Option<String>,
}

impl MessageMeta {
    /// The schema attribute to send a copy of this message with (to the
    /// dead-letter queue, or as a purge's continuation): the same as it came.
    pub(crate) fn schema_attribute(&self) -> Option<aws_sdk_sqs::types::MessageAttributeValue> {
        let schema = self.schema.as_deref()?;
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(schema)
            .build()
            .ok()
    }

    /// `send` with this message's schema and key attributes, as it came:
    /// for a copy (set aside, dead-lettered, a purge's continuation).
    pub(crate) fn copy_attributes(
        &self,
        mut send: aws_sdk_sqs::operation::send_message::builders::SendMessageFluentBuilder,
    ) -> aws_sdk_sqs::operation::send_message::builders::SendMessageFluentBuilder {
        use crate::service::queue_schema::{key_attribute, KEY_ATTRIBUTE, SCHEMA_ATTRIBUTE};
        if let Some(schema) = self.schema_attribute() {
            send = send.message_attributes(SCHEMA_ATTRIBUTE, schema);
        }
        // The key that enqueued it still counts its pushes.
        if let Some(key) = self.key_id.as_deref().and_then(|id| key_attribute(id).ok()) {
            send = send.message_attributes(KEY_ATTRIBUTE, key);
        }
        send
    }
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
    /// The longest wait a provider asked for before a transiently failed
    /// push is tried again.
    pub retry_after: Option<Duration>,
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
/// clients, and the [`Delivery`] pipeline (provider connections, cached
/// tenant credentials, the audience, dead-token removal).
pub struct Worker {
    pub app: App,
    pub delivery: Delivery,
    pub settings: WorkerSettings,
}

impl Worker {
    pub fn new(app: App, delivery: Delivery, settings: WorkerSettings) -> Self {
        Self {
            app,
            delivery,
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
        self.count_pushes(meta, &stats).await;
        Processed { verdict, stats }
    }

    /// Adds the message's pushes to the usage of the key that enqueued it:
    /// one write per message that pushed. A failure is logged (usage is
    /// bookkeeping, and the message's verdict stands).
    async fn count_pushes(&self, meta: &MessageMeta, stats: &DeliveryStats) {
        let Some(key_id) = meta.key_id.as_deref() else {
            return;
        };
        if stats.pushes == 0 {
            return;
        }
        let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
        let delta = crate::store::UsageDelta {
            pushes: count(stats.pushes),
            pushes_failed: count(stats.pushes.saturating_sub(stats.delivered)),
            ..crate::store::UsageDelta::default()
        };
        let now = self.app.rate_limiter.now();
        if let Err(err) = self.app.store.add_key_usage(key_id, now, delta).await {
            tracing::warn!(key_id, error = %err, "could not count the message's pushes in its key's usage");
        }
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
        let mut send = meta.copy_attributes(
            self.app
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .message_attributes("notify_reason", reason_value),
        );
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
        let message = match QueueMessage::from_message(body, meta.schema.as_deref()) {
            Ok(message) => message,
            Err(err) => {
                // The parse error names a field or a position, never the content.
                tracing::error!(error = %err, bytes = body.len(), "poison message: body does not parse");
                return Verdict::Poison("the body is not a queue message of this version");
            }
        };
        let tenant_id = message.tenant_id().to_owned();
        if !is_tenant_id(&tenant_id) {
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
                tracing::Instrument::instrument(self.deliver_chunk(chunk, meta, stats), span).await
            }
            QueueMessage::PurgeTenant { tenant_id } => {
                let span = tracing::info_span!("purge_tenant", tenant_id = %tenant_id);
                tracing::Instrument::instrument(self.purge(&tenant_id, body, meta), span).await
            }
            QueueMessage::ReadAudience(page) => {
                let span = tracing::info_span!(
                    "read_audience",
                    tenant_id = %page.tenant_id,
                    batch_id = %page.batch_id,
                    page = page.page
                );
                tracing::Instrument::instrument(self.read_audience(page, meta), span).await
            }
        };
        result.unwrap_or_else(|err| {
            tracing::warn!(error = %err, cause = %err.cause_chain(), "message failed; SQS will deliver it again");
            Verdict::Retry
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_s_tenant_share_is_used_and_zero_turns_it_off() {
        assert_eq!(tenant_share_of(None, 2), 2);
        assert_eq!(tenant_share_of(Some(5), 2), 5);
        assert_eq!(tenant_share_of(Some(0), 2), usize::MAX);
    }

    #[test]
    fn settings_default_to_no_receive_limit_and_only_retry_and_poison_are_failures() {
        assert_eq!(WorkerSettings::default().max_receive_count, None);
        assert!(Verdict::Poison("x").is_failure() && Verdict::Retry.is_failure());
        assert!(!Verdict::Done.is_failure() && !Verdict::DeadLettered.is_failure());
    }
}
