//! The delivery pipeline every send goes through: single sends
//! (`service::sending`), the bulk worker (`service::worker`) and any later
//! caller. It holds the rules a caller must not have to repeat: who a
//! notification goes to (its audience, and the Web Push size rule), the
//! tenant's credentials, and the clean-up after the pushes (dead tokens
//! removed, ended activity tokens expired).
//!
//! [`Delivery`] is built once per container next to the `App`: it owns the
//! provider connections and a short-lived cache of tenant credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::credentials::TenantCredentials;
use crate::error::Result;
use crate::metrics::{Metrics, MetricsSink, PushMetrics};
use crate::model::{Device, Platform, Tenant};
use crate::push::{EncodedNotification, PushEngine, Target, TargetResult, TenantPush};
use crate::secrets::Secrets;
use crate::service::webhooks::events::Origin;
use crate::service::webhooks::EventPublisher;
use crate::store::{ReadConsistency, Store};

/// How long a container reuses a tenant's credentials before reading its
/// secret again (a credential change takes effect within this).
pub const CREDENTIALS_TTL: Duration = Duration::from_secs(60);
/// Tenants whose credentials one container keeps at most.
const MAX_CACHED_TENANTS: usize = 1024;

/// What a Web Push message too large to encrypt within 4096 bytes does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebPushSize {
    /// The whole send is refused (413) when the user has a `webpush`
    /// device: a single send answers before anything is pushed.
    Refuse,
    /// Each `webpush` device fails, the others get the push: a bulk batch
    /// was accepted before its users' platforms were known.
    FailDevice,
}

/// How a caller's recipients are read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientRules {
    pub web_push: WebPushSize,
    pub read: ReadConsistency,
}

impl RecipientRules {
    /// A single send answers the caller with what happened: the devices as
    /// of its request, and a Web Push message too large refused before
    /// anything is pushed.
    pub const SINGLE_SEND: Self = Self {
        web_push: WebPushSize::Refuse,
        read: ReadConsistency::Strong,
    };
    /// A bulk chunk is delivered some time after its batch was accepted, at
    /// no instant the caller knows: a read a second stale is one that could
    /// have been made a second earlier, at half the read units (the bulk
    /// fan-out's main cost). Web Push devices a message does not fit fail
    /// one by one.
    pub const BULK: Self = Self {
        web_push: WebPushSize::FailDevice,
        read: ReadConsistency::Eventual,
    };
}

/// Provider clients, tenant credentials, and the store and secrets the
/// pipeline reads and cleans up, shared by every invocation of a container.
pub struct Delivery {
    engine: PushEngine,
    credentials: CredentialsCache,
    store: Store,
    secrets: Secrets,
    /// Where each push call's metrics go (`metrics`).
    metrics: Metrics,
    /// Webhook events of what a push found (dead tokens removed).
    events: EventPublisher,
}

impl Delivery {
    pub fn new(engine: PushEngine, store: Store, secrets: Secrets, events: EventPublisher) -> Self {
        Self {
            engine,
            credentials: CredentialsCache::default(),
            store,
            secrets,
            metrics: Metrics::default(),
            events,
        }
    }

    /// Provider clients for the app's configured endpoints, with the app's
    /// store, secrets and webhook queue, and metrics on stdout in the app's
    /// namespace. No network I/O.
    pub fn from_app(app: &App) -> Result<Self> {
        let metrics = Metrics::new(app.config.metrics_namespace.clone(), MetricsSink::stdout());
        Ok(Self::new(
            PushEngine::new(&app.config.providers)?,
            app.store.clone(),
            app.secrets.clone(),
            EventPublisher::from_app(app),
        )
        .with_metrics(metrics))
    }

    /// This pipeline, its metrics going to `metrics` (tests capture them).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where the pipeline's metrics go; the worker writes its own there too.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The webhook events publisher this pipeline uses.
    pub fn events(&self) -> &EventPublisher {
        &self.events
    }

    /// The tenant as the push engine needs it: its APNs settings and its
    /// credentials (from Secrets Manager, cached per container).
    pub async fn tenant(&self, tenant: &Tenant) -> Result<TenantPush> {
        let credentials = match self.credentials.get(&tenant.tenant_id) {
            Some(credentials) => credentials,
            None => {
                let credentials =
                    Arc::new(self.secrets.tenant_credentials(&tenant.tenant_id).await?);
                self.credentials.put(&tenant.tenant_id, credentials.clone());
                credentials
            }
        };
        Ok(TenantPush {
            tenant_id: tenant.tenant_id.clone(),
            bundle_id: tenant.bundle_id.clone(),
            use_sandbox: tenant.use_sandbox,
            apns: credentials.apns.clone(),
            fcm: credentials.fcm.clone(),
            web_push: credentials.web_push.clone(),
        })
    }

    /// The user's devices that `encoded` goes to (its audience), read and
    /// checked by `rules`.
    pub async fn recipients(
        &self,
        tenant_id: &str,
        user_id: &str,
        encoded: &EncodedNotification,
        rules: RecipientRules,
    ) -> Result<Vec<Device>> {
        let mut devices = self
            .store
            .list_devices(tenant_id, user_id, rules.read)
            .await?;
        devices.retain(|device| encoded.reaches(device));
        let has_web_push = || {
            devices
                .iter()
                .any(|device| device.platform == Platform::Webpush)
        };
        if rules.web_push == WebPushSize::Refuse && has_web_push() {
            encoded.check_web_push_size()?;
        }
        Ok(devices)
    }

    /// Pushes to every device concurrently, over by `deadline` (see
    /// [`PushEngine::deliver`]), then removes the devices whose tokens the
    /// provider reported dead (unless re-registered meanwhile), telling the
    /// tenant's webhooks (`devices.removed`, naming `origin`) and, for an
    /// activity `end`, expires the tokens that accepted it. Writes the
    /// call's metrics (pushes by provider and outcome, provider latency,
    /// credential failures: `metrics`).
    /// `results[i]` is the result for `devices[i]`.
    pub async fn push(
        &self,
        tenant: &TenantPush,
        encoded: &EncodedNotification,
        devices: &[Device],
        deadline: Option<Instant>,
        origin: Origin<'_>,
    ) -> Vec<TargetResult> {
        let targets: Vec<Target> = devices
            .iter()
            .map(|device| Target {
                token: device.token.clone(),
                platform: device.platform,
                web_push_keys: device.web_push_keys.clone(),
            })
            .collect();
        let (results, latencies) = self
            .engine
            .deliver_timed(tenant, encoded, &targets, deadline)
            .await;
        let providers = devices.iter().map(|device| device.platform.provider());
        let pushes = PushMetrics::of(providers, &results, &latencies);
        self.metrics.record_pushes(&tenant.tenant_id, &pushes);
        self.remove_dead_tokens(&tenant.tenant_id, devices, &results)
            .await;
        self.events
            .after_push(&tenant.tenant_id, devices, &results, origin)
            .await;
        if let Some(ends_at) = encoded.activity_ends_at() {
            self.expire_ended_activities(&tenant.tenant_id, devices, &results, ends_at)
                .await;
        }
        results
    }

    async fn remove_dead_tokens(
        &self,
        tenant_id: &str,
        devices: &[Device],
        results: &[TargetResult],
    ) {
        let removals = devices
            .iter()
            .zip(results)
            .filter(|(_, result)| result.outcome.is_dead_token())
            .map(|(device, _)| self.store.remove_dead_device(tenant_id, device));
        for removal in futures::future::join_all(removals).await {
            if let Err(err) = removal {
                tracing::warn!(tenant_id = %tenant_id, error = %err, "could not remove a dead device token");
            }
        }
    }

    async fn expire_ended_activities(
        &self,
        tenant_id: &str,
        devices: &[Device],
        results: &[TargetResult],
        ends_at: i64,
    ) {
        let expiries = devices
            .iter()
            .zip(results)
            .filter(|(_, result)| result.outcome.is_delivered())
            .map(|(device, _)| self.store.expire_activity_token(tenant_id, device, ends_at));
        for expiry in futures::future::join_all(expiries).await {
            if let Err(err) = expiry {
                tracing::warn!(tenant_id = %tenant_id, error = %err, "could not expire an ended activity token");
            }
        }
    }
}

/// Tenant credentials by tenant id, each kept for [`CREDENTIALS_TTL`].
#[derive(Default)]
struct CredentialsCache {
    entries: Mutex<HashMap<String, (Instant, Arc<TenantCredentials>)>>,
}

impl CredentialsCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (Instant, Arc<TenantCredentials>)>> {
        self.entries.lock().unwrap_or_else(|err| err.into_inner())
    }

    fn get(&self, tenant_id: &str) -> Option<Arc<TenantCredentials>> {
        self.lock()
            .get(tenant_id)
            .filter(|(read_at, _)| read_at.elapsed() < CREDENTIALS_TTL)
            .map(|(_, credentials)| credentials.clone())
    }

    fn put(&self, tenant_id: &str, credentials: Arc<TenantCredentials>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_TENANTS {
            entries.retain(|_, (read_at, _)| read_at.elapsed() < CREDENTIALS_TTL);
            if entries.len() >= MAX_CACHED_TENANTS {
                entries.clear();
            }
        }
        entries.insert(tenant_id.to_owned(), (Instant::now(), credentials));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_credentials_expire_and_the_cache_stays_bounded() {
        let cache = CredentialsCache::default();
        assert!(cache.get("tnt_a").is_none());
        cache.put("tnt_a", Arc::new(TenantCredentials::default()));
        assert!(cache.get("tnt_a").is_some());
        if let Some((read_at, _)) = cache.lock().get_mut("tnt_a") {
            *read_at = Instant::now()
                .checked_sub(CREDENTIALS_TTL + Duration::from_secs(1))
                .unwrap_or(*read_at);
        }
        assert!(cache.get("tnt_a").is_none());
        for n in 0..MAX_CACHED_TENANTS + 10 {
            cache.put(&format!("tnt_{n}"), Arc::new(TenantCredentials::default()));
        }
        assert!(cache.lock().len() <= MAX_CACHED_TENANTS);
    }
}
