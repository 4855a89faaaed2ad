//! Publishing: an event of a tenant goes to the webhook queue once for each
//! of the tenant's webhooks that subscribed to its type. No webhook, no SQS
//! call. Failures are logged and never fail the push that caused them.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::credentials::{gate, refused_credentials, RecentChecks, CREDENTIALS_EVENT_PERIOD_SECS};
use super::events::{Event, Origin, RemovedDevice, WebhookMessage};
use crate::app::App;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::{BatchState, BatchStatus, Device, EventType};
use crate::push::TargetResult;
use crate::store::Store;

/// Entries of one `SendMessageBatch`, and the bytes they may add up to
/// (SQS: 10 entries, 256 KiB in all).
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 240 * 1024;

/// Built once per container, next to the `App`.
#[derive(Clone, Debug)]
pub struct EventPublisher {
    pub(super) store: Store,
    sqs: aws_sdk_sqs::Client,
    queue_url: Option<String>,
    recent_credential_checks: RecentChecks,
}

impl EventPublisher {
    pub fn from_app(app: &App) -> Self {
        Self {
            store: app.store.clone(),
            sqs: app.sqs.clone(),
            queue_url: app.config.webhooks.queue_url.clone(),
            recent_credential_checks: RecentChecks::default(),
        }
    }

    /// What a push found that the tenant's webhooks are told:
    /// `devices.removed` for the tokens reported dead (naming `origin`),
    /// and `credentials.failed` for a provider that refused the tenant's
    /// credentials. `results[i]` is the result for `devices[i]`. At most a
    /// query of the tenant's webhooks and an SQS call: a receiver is never
    /// waited for here.
    pub async fn after_push(
        &self,
        tenant_id: &str,
        devices: &[Device],
        results: &[TargetResult],
        origin: Origin<'_>,
    ) {
        let removed: Vec<RemovedDevice> = devices
            .iter()
            .zip(results)
            .filter(|(_, result)| result.outcome.is_dead_token())
            .map(|(device, result)| RemovedDevice {
                user_id: device.user_id.clone(),
                token: device.token.clone(),
                platform: device.platform,
                reason: result.outcome.error().unwrap_or_default().to_owned(),
            })
            .collect();
        if !removed.is_empty() {
            let events = Event::devices_removed(tenant_id, origin, &removed, &now_rfc3339());
            self.publish_logged(tenant_id, &events).await;
        }
        let mut told: Vec<&'static str> = Vec::new();
        for (device, result) in devices.iter().zip(results) {
            let Some(provider) = refused_credentials(device.platform.provider(), &result.outcome)
            else {
                continue;
            };
            if !told.contains(&provider) {
                told.push(provider);
                let reason = result.outcome.error().unwrap_or_default();
                self.credentials_failed(tenant_id, provider, reason).await;
            }
        }
    }

    /// `credentials.failed` for `provider`, at most once an hour per
    /// provider and tenant (see `credentials.rs`). Logged, never returned.
    pub async fn credentials_failed(&self, tenant_id: &str, provider: &'static str, reason: &str) {
        if !self.recent_credential_checks.due(tenant_id, provider) {
            return;
        }
        let result = async {
            let wanted = self
                .store
                .list_webhooks(tenant_id)
                .await?
                .iter()
                .any(|webhook| webhook.wants(EventType::CredentialsFailed));
            if !wanted {
                return Ok(());
            }
            let now = now_epoch_seconds();
            let until = now.saturating_add(CREDENTIALS_EVENT_PERIOD_SECS);
            if !self
                .store
                .pass_webhook_gate(tenant_id, &gate(provider), now, until)
                .await?
            {
                return Ok(());
            }
            let event =
                Event::credentials_failed(tenant_id, provider, reason, until, &now_rfc3339());
            self.publish(tenant_id, &[event]).await.map(|_| ())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(tenant_id, provider, error = %err, "could not publish credentials.failed");
        }
    }

    /// Publishes `events` (all of one type) to the tenant's subscribed
    /// webhooks, logging any failure: the caller's work goes on.
    pub async fn publish_logged(&self, tenant_id: &str, events: &[Event]) {
        if let Err(err) = self.publish(tenant_id, events).await {
            tracing::warn!(tenant_id, error = %err, cause = %err.cause_chain(), "could not publish webhook events");
        }
    }

    /// Publishes `event` unless it was published before (its id marked):
    /// for events that can be produced again, such as `batch.completed`
    /// when a chunk is delivered twice. The mark follows the publication,
    /// so a failure in between publishes it again (at least once, with the
    /// same `webhook-id`).
    pub async fn publish_once_logged(&self, tenant_id: &str, event: Event) {
        let result = async {
            if self
                .store
                .webhook_event_published(tenant_id, &event.event_id)
                .await?
            {
                tracing::info!(tenant_id, event_id = %event.event_id, "webhook event published before");
                return Ok(());
            }
            if self.publish(tenant_id, std::slice::from_ref(&event)).await? > 0 {
                self.store
                    .mark_webhook_event_published(
                        tenant_id,
                        &event.event_id,
                        event.kind,
                        now_epoch_seconds(),
                    )
                    .await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(tenant_id, error = %err, cause = %err.cause_chain(), "could not publish a webhook event");
        }
    }

    /// `batch.completed` once the batch is done: called after each count of
    /// a chunk, and when a chunk comes again already counted (the earlier
    /// delivery may have stopped between its count and this). Published
    /// once per batch (see [`Self::publish_once_logged`]).
    pub async fn batch_completed_if_done(&self, tenant_id: &str, batch_id: &str) {
        let batch = match self.store.get_batch(tenant_id, batch_id).await {
            Ok(Some(batch)) => batch,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(tenant_id, batch_id, error = %err, "could not read the batch for its webhook event");
                return;
            }
        };
        if batch.state != BatchState::Open || batch.status() != BatchStatus::Done {
            return;
        }
        let event = Event::batch_completed(tenant_id, &batch.report(), &now_rfc3339());
        self.publish_once_logged(tenant_id, event).await;
    }

    /// Messages sent: one per event and subscribed webhook.
    pub async fn publish(&self, tenant_id: &str, events: &[Event]) -> Result<usize> {
        let Some(kind) = events.first().map(|event| event.kind) else {
            return Ok(0);
        };
        let webhooks: Vec<String> = self
            .store
            .list_webhooks(tenant_id)
            .await?
            .into_iter()
            .filter(|webhook| webhook.wants(kind))
            .map(|webhook| webhook.webhook_id)
            .collect();
        if webhooks.is_empty() {
            return Ok(0);
        }
        let Some(queue_url) = self.queue_url.as_deref() else {
            tracing::warn!(
                tenant_id,
                kind = kind.as_str(),
                "no webhook queue configured; event not published"
            );
            return Ok(0);
        };
        let mut bodies = Vec::with_capacity(events.len() * webhooks.len());
        for event in events {
            for webhook_id in &webhooks {
                let message = WebhookMessage {
                    tenant_id: tenant_id.to_owned(),
                    webhook_id: webhook_id.clone(),
                    event: event.clone(),
                };
                bodies.push(
                    serde_json::to_string(&message)
                        .map_err(|err| Error::internal("encoding a webhook message", err))?,
                );
            }
        }
        let sent = bodies.len();
        for batch in batches(bodies) {
            self.send_batch(queue_url, tenant_id, batch).await?;
        }
        tracing::info!(
            tenant_id,
            kind = kind.as_str(),
            messages = sent,
            "webhook events published"
        );
        Ok(sent)
    }

    async fn send_batch(
        &self,
        queue_url: &str,
        tenant_id: &str,
        bodies: Vec<String>,
    ) -> Result<()> {
        let entries = bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    // Its tenant's group, as every delivery message (SQS fair queues).
                    .message_group_id(tenant_id)
                    .build()
                    .map_err(|err| Error::internal("building SQS entry", err))
            })
            .collect::<Result<Vec<_>>>()?;
        let output = self
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| Error::from_sdk("publishing webhook events", err))?;
        if !output.failed.is_empty() {
            return Err(Error::Unavailable {
                context: "publishing webhook events",
                source: format!("SQS refused {} of the messages", output.failed.len()).into(),
            });
        }
        Ok(())
    }
}

/// Bodies grouped for `SendMessageBatch`, each group within its limits.
fn batches(bodies: Vec<String>) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0;
    for body in bodies {
        let fits = groups
            .last()
            .is_some_and(|group| group.len() < BATCH_ENTRIES && bytes + body.len() <= BATCH_BYTES);
        if !fits {
            groups.push(Vec::new());
            bytes = 0;
        }
        bytes += body.len();
        if let Some(group) = groups.last_mut() {
            group.push(body);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_grouped_by_ten_and_by_bytes() {
        let small: Vec<String> = (0..23).map(|n| n.to_string()).collect();
        let sizes: Vec<usize> = batches(small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        let large: Vec<String> = (0..3).map(|_| "x".repeat(150 * 1024)).collect();
        let sizes: Vec<usize> = batches(large).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
        assert!(batches(Vec::new()).is_empty());
    }
}
