//! The webhook dispatcher's rules: one queue message is one event for one
//! webhook. Read the webhook (deleted: dropped) and its secret, sign, POST
//! through the [`WebhookSender`], record the attempt in the delivery log,
//! and on failure come back after the next delay of [`RETRY_SCHEDULE`]
//! (the message's visibility is set to it): over 24 hours in all, after
//! which the queue's redrive moves the message to the dead-letter queue.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::SecretString;

use super::events::WebhookMessage;
use super::sender::{SendOutcome, WebhookSender};
use super::signing::sign;
use crate::app::App;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::WebhookAttempt;
use crate::secrets::Secrets;
use crate::store::Store;

/// The wait before attempt `n + 2` after attempt `n + 1` failed: 10 s,
/// 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (27.6 hours in all).
pub const RETRY_SCHEDULE: [Duration; 8] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The webhook queue's `maxReceiveCount`: every attempt of the schedule,
/// and the first.
pub const MAX_ATTEMPTS: u32 = RETRY_SCHEDULE.len() as u32 + 1;

/// The wait after failed attempt `attempt` (1-based) of `schedule`;
/// `None` after the last.
pub fn retry_delay(schedule: &[Duration], attempt: u32) -> Option<Duration> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    schedule.get(index).copied()
}

/// What the dispatcher needs of a record besides its body.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    /// `ApproximateReceiveCount`: 1 on the first attempt.
    pub receive_count: u32,
    pub receipt_handle: Option<String>,
}

/// What the function does with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// Delivered, or nothing left to deliver to: acknowledged.
    Done,
    /// Reported failed: it comes back when its visibility ends.
    Retry,
}

/// Secrets kept per container at most, and for how long.
const CACHED_SECRETS: usize = 1024;
const SECRET_TTL: Duration = Duration::from_secs(600);

/// Built once per container.
pub struct Dispatcher {
    store: Store,
    secrets: Secrets,
    sqs: aws_sdk_sqs::Client,
    queue_url: Option<String>,
    sender: WebhookSender,
    /// [`RETRY_SCHEDULE`]; shorter in tests.
    delays: Vec<Duration>,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl Dispatcher {
    pub fn from_app(app: &App) -> Result<Self> {
        Ok(Self {
            store: app.store.clone(),
            secrets: app.secrets.clone(),
            sqs: app.sqs.clone(),
            queue_url: app.config.webhooks.queue_url.clone(),
            sender: WebhookSender::new(app.config.webhooks.allow_loopback)?,
            delays: RETRY_SCHEDULE.to_vec(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The same dispatcher waiting `delays` between attempts instead of
    /// [`RETRY_SCHEDULE`]: tests do not wait hours. The queue's
    /// `maxReceiveCount` decides the last attempt all the same.
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.delays = delays;
        self
    }

    /// One record. Never fails: a transient trouble is a retry.
    pub async fn process(&self, body: &str, receipt: &Receipt) -> Dispatched {
        let message: WebhookMessage = match serde_json::from_str(body) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(error = %err, "poison webhook message dropped");
                return Dispatched::Done;
            }
        };
        match self.deliver(&message, receipt).await {
            Ok(dispatched) => dispatched,
            Err(err) => {
                tracing::warn!(error = %err, cause = %err.cause_chain(), "webhook delivery could not be attempted; retrying");
                Dispatched::Retry
            }
        }
    }

    async fn deliver(&self, message: &WebhookMessage, receipt: &Receipt) -> Result<Dispatched> {
        let (tenant_id, webhook_id) = (message.tenant_id.as_str(), message.webhook_id.as_str());
        let Some(webhook) = self.store.get_webhook(tenant_id, webhook_id).await? else {
            tracing::info!(tenant_id, webhook_id, "webhook deleted; event dropped");
            return Ok(Dispatched::Done);
        };
        let Some(secret) = self.secret(tenant_id, webhook_id).await? else {
            tracing::info!(tenant_id, webhook_id, "webhook secret gone; event dropped");
            return Ok(Dispatched::Done);
        };
        let body = serde_json::to_vec(&message.payload())
            .map_err(|err| Error::internal("encoding a webhook body", err))?;
        let timestamp = now_epoch_seconds();
        let signature = sign(&secret, &message.event.event_id, timestamp, &body)?;
        let headers = [
            ("webhook-id", message.event.event_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let outcome = self
            .sender
            .post(&webhook.url, &headers, Bytes::from(body))
            .await;
        let attempt = receipt.receive_count.max(1);
        let delay = (!outcome.delivered())
            .then(|| retry_delay(&self.delays, attempt))
            .flatten();
        self.record(message, attempt, &outcome, delay).await;
        if outcome.delivered() {
            tracing::info!(tenant_id, webhook_id, event_id = %message.event.event_id, attempt, "webhook delivered");
            return Ok(Dispatched::Done);
        }
        let why = match &outcome {
            SendOutcome::Answered(status) => format!("answered {status}"),
            SendOutcome::NoAnswer(why) => why.clone(),
        };
        match delay {
            Some(delay) => {
                tracing::warn!(tenant_id, webhook_id, event_id = %message.event.event_id, attempt, why = %why, retry_in_secs = delay.as_secs(), "webhook delivery failed");
                self.come_back_after(receipt, delay).await;
            }
            None => {
                tracing::error!(tenant_id, webhook_id, event_id = %message.event.event_id, attempt, why = %why, "webhook delivery failed for the last time; the event goes to the dead-letter queue");
                // Visible at once: its next receive is over the queue's
                // maxReceiveCount, and SQS moves it to the dead-letter queue.
                self.come_back_after(receipt, Duration::ZERO).await;
            }
        }
        Ok(Dispatched::Retry)
    }

    /// The attempt in the webhook's delivery log. Logged, not returned: the
    /// attempt was made.
    async fn record(
        &self,
        message: &WebhookMessage,
        attempt: u32,
        outcome: &SendOutcome,
        delay: Option<Duration>,
    ) {
        let now = chrono::Utc::now();
        let next_attempt_at = delay
            .and_then(|delay| chrono::Duration::from_std(delay).ok())
            .and_then(|delay| now.checked_add_signed(delay))
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let entry = WebhookAttempt {
            event_id: message.event.event_id.clone(),
            kind: message.event.kind,
            attempt,
            status_code: outcome.status_code(),
            at: now_rfc3339(),
            next_attempt_at,
        };
        let at_millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        if let Err(err) = self
            .store
            .record_webhook_attempt(
                &message.tenant_id,
                &message.webhook_id,
                &entry,
                at_millis,
                now.timestamp(),
            )
            .await
        {
            tracing::warn!(error = %err, "could not record a webhook attempt");
        }
    }

    /// The message becomes visible again after `delay`. Best effort: if
    /// this fails, the queue's visibility timeout applies.
    async fn come_back_after(&self, receipt: &Receipt, delay: Duration) {
        let (Some(queue_url), Some(handle)) =
            (self.queue_url.as_deref(), receipt.receipt_handle.as_deref())
        else {
            return;
        };
        // SQS takes 0 to 43,200 seconds.
        let seconds = i32::try_from(delay.as_secs().min(43_200)).unwrap_or(43_200);
        if let Err(err) = self
            .sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "could not set the retry delay");
        }
    }

    /// The webhook's secret, cached per container (a webhook's secret
    /// never changes; a deleted webhook is caught by its item first).
    async fn secret(&self, tenant_id: &str, webhook_id: &str) -> Result<Option<SecretString>> {
        let cache_key = format!("{tenant_id}/{webhook_id}");
        if let Some(secret) = self.cached(&cache_key) {
            return Ok(Some(secret));
        }
        let secret = self.secrets.webhook_secret(tenant_id, webhook_id).await?;
        if let Some(secret) = &secret {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= CACHED_SECRETS {
                cache.retain(|_, (read_at, _)| read_at.elapsed() < SECRET_TTL);
                if cache.len() >= CACHED_SECRETS {
                    cache.clear();
                }
            }
            cache.insert(cache_key, (Instant::now(), secret.clone()));
        }
        Ok(secret)
    }

    fn cached(&self, cache_key: &str) -> Option<SecretString> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(cache_key)
            .filter(|(read_at, _)| read_at.elapsed() < SECRET_TTL)
            .map(|(_, secret)| secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_and_covers_more_than_a_day() {
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        assert!(RETRY_SCHEDULE.windows(2).all(|pair| pair[0] <= pair[1]));
        // SQS's longest visibility timeout.
        assert!(RETRY_SCHEDULE.iter().all(|delay| delay.as_secs() <= 43_200));
        assert_eq!(MAX_ATTEMPTS, 9);
    }

    #[test]
    fn each_failed_attempt_waits_its_delay_and_the_last_none() {
        let schedule = &RETRY_SCHEDULE;
        assert_eq!(retry_delay(schedule, 0), None);
        assert_eq!(retry_delay(schedule, 1), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(schedule, 2), Some(Duration::from_secs(60)));
        assert_eq!(retry_delay(schedule, 8), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(schedule, MAX_ATTEMPTS), None);
        assert_eq!(retry_delay(schedule, u32::MAX), None);
    }
}
