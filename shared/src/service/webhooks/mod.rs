//! Webhooks: a tenant's receivers of events (`batch.completed`,
//! `devices.removed`, `credentials.failed`, `key.unusual_activity`).
//!
//! - `registry` (this module): create, list, delete, and the delivery log.
//! - [`publish`]: an event of tenant T becomes one message per subscribed
//!   webhook on the webhook queue (never more than a DynamoDB query and an
//!   SQS call in the push path: a receiver is never waited for there).
//! - [`dispatch`]: the `webhook-dispatcher` function's rules: sign, POST
//!   through the [`sender`] (public addresses only, see [`address`]),
//!   record the attempt, retry on a growing schedule for over 24 hours.
//! - `unusual`: `key.unusual_activity`, checked at the sampled requests of
//!   an API key's hour (the publisher is the `App`'s key watch).

pub mod address;
pub mod credentials;
pub mod dispatch;
pub mod events;
pub mod publish;
pub mod sender;
pub mod signing;
mod unusual;
pub mod url;

use std::collections::HashSet;

use secrecy::ExposeSecret;

use crate::app::App;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::ids::{has_id_shape, new_webhook_id};
use crate::model::{
    CreateWebhookRequest, CreatedWebhook, EventType, Webhook, WebhookDeliveryList, WebhookList,
};

pub use publish::EventPublisher;

/// Webhooks one tenant may have.
pub const MAX_WEBHOOKS_PER_TENANT: u32 = 10;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Attempts the deliveries endpoint lists, newest first.
pub const ATTEMPTS_LISTED: usize = 100;

pub async fn create_webhook(
    app: &App,
    tenant_id: &str,
    request: CreateWebhookRequest,
) -> Result<CreatedWebhook> {
    url::ReceiverUrl::parse(&request.url, app.config.webhooks.allow_loopback)?;
    let events = events_of(&request.events)?;
    let description = description_of(request.description)?;
    let webhook = Webhook {
        webhook_id: new_webhook_id(),
        url: request.url,
        events,
        description,
        created_at: now_rfc3339(),
    };
    let secret = signing::new_secret();
    // The secret first: a webhook item never exists without it. If the
    // item cannot be written, the secret goes again.
    app.secrets
        .create_webhook_secret(tenant_id, &webhook.webhook_id, &secret)
        .await?;
    let inserted = app
        .store
        .insert_webhook(tenant_id, &webhook, MAX_WEBHOOKS_PER_TENANT)
        .await;
    if !matches!(inserted, Ok(true)) {
        if let Err(cleanup) = app
            .secrets
            .delete_webhook_secret(tenant_id, &webhook.webhook_id)
            .await
        {
            tracing::warn!(tenant_id, webhook_id = %webhook.webhook_id, error = %cleanup, "orphaned webhook secret");
        }
    }
    if !inserted? {
        return Err(Error::Conflict {
            code: "webhook_limit_reached",
            detail: format!(
                "a tenant may have at most {MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first"
            ),
        });
    }
    tracing::info!(tenant_id, webhook_id = %webhook.webhook_id, "webhook created");
    Ok(CreatedWebhook {
        webhook,
        secret: secret.expose_secret().to_owned(),
    })
}

/// The requested event types, deduplicated, in canonical order.
fn events_of(requested: &[String]) -> Result<Vec<EventType>> {
    let known = || {
        EventType::ALL
            .iter()
            .map(|kind| format!("\"{}\"", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if requested.is_empty() {
        return Err(Error::invalid_request(format!(
            "`events` must name at least one of {}",
            known()
        )));
    }
    let mut wanted = HashSet::new();
    for name in requested {
        let kind = EventType::parse(name).ok_or_else(|| {
            Error::invalid_request(format!(
                "`events` names an unknown event type; known types: {}",
                known()
            ))
        })?;
        wanted.insert(kind);
    }
    Ok(EventType::ALL
        .into_iter()
        .filter(|kind| wanted.contains(kind))
        .collect())
}

fn description_of(description: Option<String>) -> Result<Option<String>> {
    let Some(description) = description else {
        return Ok(None);
    };
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid_request(format!(
            "`description` must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if description.chars().any(char::is_control) {
        return Err(Error::invalid_request(
            "`description` must not contain control characters",
        ));
    }
    Ok(Some(description))
}

pub async fn list_webhooks(app: &App, tenant_id: &str) -> Result<WebhookList> {
    let mut webhooks = app.store.list_webhooks(tenant_id).await?;
    webhooks.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.webhook_id.cmp(&b.webhook_id))
    });
    Ok(WebhookList { webhooks })
}

fn not_found(webhook_id: &str) -> Error {
    Error::NotFound(format!("webhook `{webhook_id}` not found"))
}

/// Deletes the webhook, then its secret: an event already queued for it
/// finds no webhook and is dropped.
pub async fn delete_webhook(app: &App, tenant_id: &str, webhook_id: &str) -> Result<()> {
    if !has_id_shape(webhook_id, "wh_") {
        return Err(not_found(webhook_id));
    }
    if !app.store.delete_webhook(tenant_id, webhook_id).await? {
        return Err(not_found(webhook_id));
    }
    app.secrets
        .delete_webhook_secret(tenant_id, webhook_id)
        .await?;
    tracing::info!(tenant_id, webhook_id, "webhook deleted");
    Ok(())
}

/// The webhook's latest delivery attempts, newest first.
pub async fn list_deliveries(
    app: &App,
    tenant_id: &str,
    webhook_id: &str,
) -> Result<WebhookDeliveryList> {
    if !has_id_shape(webhook_id, "wh_")
        || app
            .store
            .get_webhook(tenant_id, webhook_id)
            .await?
            .is_none()
    {
        return Err(not_found(webhook_id));
    }
    let deliveries = app
        .store
        .webhook_attempts(tenant_id, webhook_id, ATTEMPTS_LISTED, now_epoch_seconds())
        .await?;
    Ok(WebhookDeliveryList { deliveries })
}

/// Deletes the secrets of a deleted tenant's webhooks, before its partition
/// (and with it the webhook items that name them) is purged.
pub async fn forget_secrets(app: &App, tenant_id: &str) -> Result<()> {
    for webhook in app.store.list_webhooks(tenant_id).await? {
        app.secrets
            .delete_webhook_secret(tenant_id, &webhook.webhook_id)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn events_are_deduplicated_in_canonical_order() {
        let events = events_of(&names(&[
            "key.unusual_activity",
            "batch.completed",
            "batch.completed",
        ]))
        .ok();
        assert_eq!(
            events,
            Some(vec![
                EventType::BatchCompleted,
                EventType::KeyUnusualActivity
            ])
        );
    }

    #[test]
    fn empty_or_unknown_events_are_refused_naming_events() {
        for bad in [
            names(&[]),
            names(&["batch.done"]),
            names(&["batch.completed", ""]),
        ] {
            let err = events_of(&bad)
                .err()
                .map(|err| err.to_string())
                .unwrap_or_default();
            assert!(
                err.starts_with("`events`") && err.contains("batch.completed"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_description_is_bounded_and_free_of_control_characters() {
        assert_eq!(description_of(None).ok(), Some(None));
        let longest = "é".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(
            description_of(Some(longest.clone())).ok(),
            Some(Some(longest))
        );
        for bad in ["x".repeat(MAX_DESCRIPTION_CHARS + 1), "a\u{7}b".to_owned()] {
            let err = description_of(Some(bad))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("`description`"), "{err}");
        }
    }
}
