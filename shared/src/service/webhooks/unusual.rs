//! `key.unusual_activity`: an API key's last hour of requests exceeds ten
//! times its hourly mean of the previous 7 days (and 100), the rule of the
//! key list (`usage::ActivityCounts`). Evaluated at the sampled requests of
//! a key's hour (`limits::activity`): a tenant without a webhook for the
//! event costs one query there; else the key's hours are read, and when
//! they are unusual a note on a gate item of the key (in the tenant's
//! partition) starts an episode only if the previous hour was not found
//! unusual, so the event is sent once per episode, with an id derived from
//! the key and the episode's first hour.

use futures::future::BoxFuture;

use super::events::{Event, UnusualKey};
use super::EventPublisher;
use crate::clock::now_rfc3339;
use crate::error::Result;
use crate::limits::{ActivitySample, KeyActivityWatch};
use crate::model::EventType;
use crate::service::usage::{activity_since, ActivityCounts};

impl KeyActivityWatch for EventPublisher {
    fn sampled<'a>(&'a self, sample: &'a ActivitySample) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(err) = self.unusual_activity(sample).await {
                tracing::warn!(
                    tenant_id = %sample.tenant_id,
                    key_id = %sample.key_id,
                    error = %err,
                    cause = %err.cause_chain(),
                    "could not check the key for unusual activity"
                );
            }
        })
    }
}

/// The gate item's name of a key.
fn gate(key_id: &str) -> String {
    format!("{}#{key_id}", EventType::KeyUnusualActivity.as_str())
}

impl EventPublisher {
    /// The rule at one sample, and the event when an episode starts.
    async fn unusual_activity(&self, sample: &ActivitySample) -> Result<()> {
        let tenant_id = sample.tenant_id.as_str();
        let wanted = self
            .store
            .list_webhooks(tenant_id)
            .await?
            .iter()
            .any(|webhook| webhook.wants(EventType::KeyUnusualActivity));
        if !wanted {
            return Ok(());
        }
        let hours = self
            .store
            .key_usage_since(&sample.key_id, activity_since(sample.at))
            .await?;
        let counts = ActivityCounts::of(&hours, sample.at);
        if !counts.unusual() {
            return Ok(());
        }
        let hour = sample.at - sample.at.rem_euclid(3600);
        if !self
            .store
            .note_unusual_hour(tenant_id, &gate(&sample.key_id), hour)
            .await?
        {
            return Ok(());
        }
        // The key's name: a deleted key has none left to tell.
        let keys = self.store.list_api_keys(tenant_id).await?;
        let Some(key) = keys.iter().find(|key| key.key_id == sample.key_id) else {
            return Ok(());
        };
        let about = UnusualKey {
            key_id: &key.key_id,
            name: &key.name,
            requests_last_hour: counts.this_hour,
            hourly_mean_7d: counts.hourly_mean_7d(),
        };
        let event = Event::key_unusual_activity(tenant_id, &about, hour, &now_rfc3339());
        tracing::info!(tenant_id, key_id = %key.key_id, requests_last_hour = counts.this_hour, "key.unusual_activity");
        self.publish(tenant_id, &[event]).await.map(|_| ())
    }
}
