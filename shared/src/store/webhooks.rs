//! Webhook items, all in the tenant's partition so that the tenant purge
//! removes them: the registrations, their count (the per-tenant cap), the
//! delivery log, the markers of events already published, and the gates
//! that let an event through at most once a period.
//!
//! The delivery log lives under `WEBHOOK_DELIVERY#…`, not under the
//! webhook's own `WEBHOOK#{id}#…`: a listing of registrations (every
//! published event reads one) then never reads log items.

use serde::{Deserialize, Serialize};

use super::keys::{
    webhook_attempt_sk, webhook_attempts_prefix, webhook_gate_sk, webhook_marker_sk, webhook_sk,
    WEBHOOK_COUNT_SK, WEBHOOK_PREFIX,
};
use super::ops::{decode, encode, live_tenant_check, update_item, ConditionalExt};
use super::{key, n, s, tenant_pk, Store};
use crate::error::{Error, Result};
use crate::model::{EventType, Webhook, WebhookAttempt};

/// How long delivery log items and event markers are kept.
pub const WEBHOOK_LOG_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct WebhookItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    tenant_id: String,
    #[serde(flatten)]
    webhook: Webhook,
}

#[derive(Serialize, Deserialize)]
struct AttemptItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    webhook_id: String,
    #[serde(flatten)]
    attempt: WebhookAttempt,
    expires_at: i64,
}

impl Store {
    /// Stores a new webhook for a live tenant, unless the tenant has `max`
    /// already. `Ok(false)`: the cap is reached.
    #[tracing::instrument(skip(self, webhook), fields(webhook_id = %webhook.webhook_id))]
    pub async fn insert_webhook(
        &self,
        tenant_id: &str,
        webhook: &Webhook,
        max: u32,
    ) -> Result<bool> {
        let item = encode(
            WebhookItem {
                pk: tenant_pk(tenant_id),
                sk: webhook_sk(&webhook.webhook_id),
                entity: "webhook".to_owned(),
                tenant_id: tenant_id.to_owned(),
                webhook: webhook.clone(),
            },
            "encoding webhook item",
        )?;
        let count = self
            .tx_update(key(tenant_pk(tenant_id), WEBHOOK_COUNT_SK))
            .update_expression("ADD webhooks :one")
            .condition_expression("attribute_not_exists(webhooks) OR webhooks < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max));
        let items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            self.tx_put_new(item)?,
            update_item(count)?,
        ];
        // The SDK's retry of a transaction whose answer was lost applies
        // it once with the same token.
        match self
            .transact_for_tenant(
                items,
                Some(webhook.webhook_id.as_str()),
                "inserting webhook",
            )
            .await?
        {
            Ok(()) => Ok(true),
            Err(cancelled) if cancelled.condition_failed(2) => Ok(false),
            Err(cancelled) => Err(cancelled.into_error("inserting webhook")),
        }
    }

    /// The tenant's webhooks, in id order.
    #[tracing::instrument(skip(self))]
    pub async fn list_webhooks(&self, tenant_id: &str) -> Result<Vec<Webhook>> {
        let items = self
            .query_all(
                self.query_prefix(tenant_pk(tenant_id), WEBHOOK_PREFIX),
                "listing webhooks",
            )
            .await?;
        items
            .into_iter()
            .map(|item| decode::<WebhookItem>(item, "decoding webhook item").map(|w| w.webhook))
            .collect()
    }

    #[tracing::instrument(skip(self))]
    pub async fn get_webhook(&self, tenant_id: &str, webhook_id: &str) -> Result<Option<Webhook>> {
        let item = self
            .get_consistent(
                key(tenant_pk(tenant_id), webhook_sk(webhook_id)),
                "reading webhook",
            )
            .await?;
        item.map(|item| decode::<WebhookItem>(item, "decoding webhook item").map(|w| w.webhook))
            .transpose()
    }

    /// Deletes a webhook and takes it off the tenant's count; `false` when
    /// there was none.
    #[tracing::instrument(skip(self))]
    pub async fn delete_webhook(&self, tenant_id: &str, webhook_id: &str) -> Result<bool> {
        let delete = self
            .tx_delete(key(tenant_pk(tenant_id), webhook_sk(webhook_id)))
            .condition_expression("attribute_exists(PK)");
        let count = self
            .tx_update(key(tenant_pk(tenant_id), WEBHOOK_COUNT_SK))
            .update_expression("ADD webhooks :minus_one")
            .condition_expression("webhooks > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0));
        let items = vec![super::ops::delete_item(delete)?, update_item(count)?];
        let token = format!("delete-{webhook_id}");
        match self
            .transact(items, Some(token.as_str()), "deleting webhook")
            .await?
        {
            Ok(()) => Ok(true),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(false),
            Err(cancelled) => Err(cancelled.into_error("deleting webhook")),
        }
    }

    /// Records one delivery attempt in the webhook's log (kept
    /// [`WEBHOOK_LOG_TTL_SECS`]). `at_millis` orders the log.
    #[tracing::instrument(skip(self, attempt), fields(event_id = %attempt.event_id))]
    pub async fn record_webhook_attempt(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        attempt: &WebhookAttempt,
        at_millis: u64,
        now_epoch: i64,
    ) -> Result<()> {
        let item = encode(
            AttemptItem {
                pk: tenant_pk(tenant_id),
                sk: webhook_attempt_sk(webhook_id, at_millis, &attempt.event_id, attempt.attempt),
                entity: "webhook_attempt".to_owned(),
                webhook_id: webhook_id.to_owned(),
                attempt: attempt.clone(),
                expires_at: now_epoch.saturating_add(WEBHOOK_LOG_TTL_SECS),
            },
            "encoding webhook attempt",
        )?;
        self.put(item)
            .send()
            .await
            .map_err(|err| Error::from_sdk("recording webhook attempt", err))?;
        Ok(())
    }

    /// The webhook's latest `limit` attempts, newest first.
    #[tracing::instrument(skip(self))]
    pub async fn webhook_attempts(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        limit: usize,
        now_epoch: i64,
    ) -> Result<Vec<WebhookAttempt>> {
        let query = self
            .query_prefix(tenant_pk(tenant_id), webhook_attempts_prefix(webhook_id))
            .scan_index_forward(false);
        let found = self
            .items_upto(query, limit, false, "listing webhook attempts")
            .await?;
        let mut attempts = Vec::with_capacity(found.items.len());
        for item in found.items {
            let item: AttemptItem = decode(item, "decoding webhook attempt")?;
            // TTL deletion lags; an expired item is not shown.
            if item.expires_at > now_epoch {
                attempts.push(item.attempt);
            }
        }
        attempts.truncate(limit);
        Ok(attempts)
    }

    /// Whether the event `event_id` was marked published already.
    #[tracing::instrument(skip(self))]
    pub async fn webhook_event_published(&self, tenant_id: &str, event_id: &str) -> Result<bool> {
        let item = self
            .get_consistent(
                key(tenant_pk(tenant_id), webhook_marker_sk(event_id)),
                "reading webhook event marker",
            )
            .await?;
        Ok(item.is_some())
    }

    /// Marks the event `event_id` published (kept [`WEBHOOK_LOG_TTL_SECS`]).
    #[tracing::instrument(skip(self))]
    pub async fn mark_webhook_event_published(
        &self,
        tenant_id: &str,
        event_id: &str,
        kind: EventType,
        now_epoch: i64,
    ) -> Result<()> {
        self.put(
            [
                ("PK", s(tenant_pk(tenant_id))),
                ("SK", s(webhook_marker_sk(event_id))),
                ("entity", s("webhook_event")),
                ("type", s(kind.as_str())),
                (
                    "expires_at",
                    n(now_epoch.saturating_add(WEBHOOK_LOG_TTL_SECS)),
                ),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        )
        .send()
        .await
        .map_err(|err| Error::from_sdk("marking webhook event", err))?;
        Ok(())
    }

    /// Opens the gate `gate` of the tenant until `until` (epoch seconds),
    /// when it is not open already: `true` for the one caller that opened
    /// it (who may publish), `false` while it is open. A lost answer that
    /// the SDK retries finds its own gate and says `false`: one event too
    /// few, never one too many.
    #[tracing::instrument(skip(self))]
    pub async fn pass_webhook_gate(
        &self,
        tenant_id: &str,
        gate: &str,
        now_epoch: i64,
        until: i64,
    ) -> Result<bool> {
        self.update(key(tenant_pk(tenant_id), webhook_gate_sk(gate)))
            .update_expression("SET #until = :until, entity = :entity, expires_at = :ttl")
            .condition_expression("attribute_not_exists(#until) OR #until <= :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now_epoch))
            .expression_attribute_values(":entity", s("webhook_gate"))
            .expression_attribute_values(":ttl", n(until.saturating_add(WEBHOOK_LOG_TTL_SECS)))
            .send()
            .await
            .condition_held("passing webhook gate")
    }
}

impl Store {
    /// Notes that `gate` (one key's) found the hour starting at `hour`
    /// (epoch seconds) unusual: `true` when that starts an episode, i.e.
    /// the gate had not found the previous hour unusual. Only the first
    /// note of an hour writes (the condition holds once per hour), so two
    /// containers or an SDK retry never both start one: a retried write
    /// finds its own note and says `false` (one event too few, never one
    /// too many).
    #[tracing::instrument(skip(self))]
    pub async fn note_unusual_hour(&self, tenant_id: &str, gate: &str, hour: i64) -> Result<bool> {
        let written = self
            .update(key(tenant_pk(tenant_id), webhook_gate_sk(gate)))
            .update_expression("SET last_unusual = :hour, entity = :entity, expires_at = :ttl")
            .condition_expression("attribute_not_exists(last_unusual) OR last_unusual < :hour")
            .expression_attribute_values(":hour", n(hour))
            .expression_attribute_values(":entity", s("webhook_gate"))
            .expression_attribute_values(":ttl", n(hour.saturating_add(WEBHOOK_LOG_TTL_SECS)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .unless_condition_failed("noting an unusual hour")?;
        let Some(output) = written else {
            return Ok(false);
        };
        let previous = output
            .attributes()
            .and_then(|old| super::number_attribute(old, "last_unusual"));
        Ok(previous.is_none_or(|last| last < hour.saturating_sub(3600)))
    }
}
