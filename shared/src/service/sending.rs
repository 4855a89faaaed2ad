//! Single sends: one notification to every device of one user, now.
//!
//! The [`Dispatcher`] is built once per container next to the `App`: it owns
//! the provider connections and a short-lived cache of tenant credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::Caller;
use crate::clock::less;
use crate::config::Config;
use crate::credentials::TenantCredentials;
use crate::error::Result;
use crate::model::device::validate_user_id;
use crate::model::{Device, Platform, Scope, Tenant, WithNotification};
use crate::push::{EncodedNotification, PushEngine, Target, TargetResult, TenantPush};

/// How long a container reuses a tenant's credentials before reading its
/// secret again (a credential change takes effect within this).
pub const CREDENTIALS_TTL: Duration = Duration::from_secs(60);
/// Tenants whose credentials one container keeps at most.
const MAX_CACHED_TENANTS: usize = 1024;

/// The send request's own fields (schema `SendNotificationRequest` with the
/// notification fields beside them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendTarget {
    pub user_id: String,
}

pub type SendNotificationRequest = WithNotification<SendTarget>;

/// Schema `SendNotificationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotificationResponse {
    /// At least one device accepted the push.
    pub success: bool,
    /// Only when there was nobody to send to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub message_id: String,
    pub delivered: u32,
    pub failed: u32,
    pub results: Vec<DeliveryResult>,
}

/// Schema `DeliveryResult`: one device's fate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryResult {
    pub token: String,
    pub platform: Platform,
    pub success: bool,
    pub error: Option<String>,
}

pub const NO_DEVICES: &str = "no devices registered for user";

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

/// Provider clients and tenant credentials, shared by every invocation of a
/// container.
pub struct Dispatcher {
    providers: PushEngine,
    credentials: CredentialsCache,
}

impl Dispatcher {
    pub fn new(providers: PushEngine) -> Self {
        Self {
            providers,
            credentials: CredentialsCache::default(),
        }
    }

    /// Provider clients for the configured endpoints. No network I/O.
    pub fn from_config(config: &Config) -> Result<Self> {
        Ok(Self::new(PushEngine::new(&config.providers)?))
    }

    pub fn providers(&self) -> &PushEngine {
        &self.providers
    }

    /// The tenant as the push engine needs it: its APNs settings and its
    /// credentials (from Secrets Manager, cached per container).
    pub async fn tenant_push(&self, app: &App, tenant: &Tenant) -> Result<TenantPush> {
        let credentials = match self.credentials.get(&tenant.tenant_id) {
            Some(credentials) => credentials,
            None => {
                let credentials =
                    Arc::new(app.secrets.tenant_credentials(&tenant.tenant_id).await?);
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

    /// Pushes to every device concurrently, over by `deadline` (see
    /// [`PushEngine::deliver_encoded_until`]), then removes the devices whose
    /// tokens the provider reported dead (unless re-registered meanwhile).
    /// `results[i]` is the result for `devices[i]`.
    pub async fn deliver_to_devices(
        &self,
        app: &App,
        tenant: &TenantPush,
        encoded: &EncodedNotification,
        devices: &[Device],
        deadline: Option<Instant>,
    ) -> Vec<TargetResult> {
        let targets: Vec<Target> = devices
            .iter()
            .map(|device| Target {
                token: device.token.clone(),
                platform: device.platform,
                web_push_keys: device.web_push_keys.clone(),
            })
            .collect();
        let results = self
            .providers
            .deliver_encoded_until(tenant, encoded, &targets, deadline)
            .await;
        let removals = devices
            .iter()
            .zip(&results)
            .filter(|(_, result)| result.outcome.is_dead_token())
            .map(|(device, _)| app.store.remove_dead_device(&tenant.tenant_id, device));
        for removal in futures::future::join_all(removals).await {
            if let Err(err) = removal {
                tracing::warn!(tenant_id = %tenant.tenant_id, error = %err, "could not remove a dead device token");
            }
        }
        if let Some(ends_at) = encoded.activity_ends_at() {
            let expiries = devices
                .iter()
                .zip(&results)
                .filter(|(_, result)| result.outcome.is_delivered())
                .map(|(device, _)| {
                    app.store
                        .expire_activity_token(&tenant.tenant_id, device, ends_at)
                });
            for expiry in futures::future::join_all(expiries).await {
                if let Err(err) = expiry {
                    tracing::warn!(tenant_id = %tenant.tenant_id, error = %err, "could not expire an ended activity token");
                }
            }
        }
        results
    }
}

/// Time a single send keeps back from its invocation's end, after the
/// pushes, to remove dead tokens, record an idempotent answer and reply.
pub const SEND_RESERVE: Duration = Duration::from_secs(2);

/// How a single send runs, besides what it sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// The invocation's end: no push runs past it less [`SEND_RESERVE`].
    pub deadline: Option<Instant>,
    /// Whether `results[].token` shows whole tokens. A key that may only
    /// send gets them shortened: it has no business reading device tokens
    /// (see [`reveals_device_tokens`]).
    pub full_tokens: bool,
}

/// User tokens and keys that may list devices see whole tokens in send
/// results; `send`-only keys see `abcd1234…`.
pub fn reveals_device_tokens(caller: &Caller) -> bool {
    match caller {
        Caller::User(_) => true,
        Caller::ApiKey(grant) => grant.allows(Scope::Devices),
    }
}

/// The first 8 characters of a token and an ellipsis, as the contract shows.
pub fn shortened_token(token: &str) -> String {
    let mut short: String = token.chars().take(8).collect();
    short.push('…');
    short
}

/// `POST /tenants/{tenant_id}/notify`: validates (400, 413 before anything
/// is sent), resolves the user's devices and delivers to all of them.
pub async fn send_notification(
    app: &App,
    dispatcher: &Dispatcher,
    tenant: &Tenant,
    request: SendNotificationRequest,
    options: SendOptions,
) -> Result<SendNotificationResponse> {
    let user_id = &request.target.user_id;
    validate_user_id(user_id)?;
    let message_id = uuid::Uuid::new_v4().to_string();
    let encoded = EncodedNotification::with_message_id(&request.notification, &message_id)?;
    let mut devices = app.store.list_devices(&tenant.tenant_id, user_id).await?;
    devices.retain(|device| encoded.reaches(device));
    if devices
        .iter()
        .any(|device| device.platform == Platform::Webpush)
    {
        encoded.check_web_push_size()?;
    }
    if devices.is_empty() {
        tracing::info!(tenant_id = %tenant.tenant_id, message_id, "no devices registered for user");
        return Ok(SendNotificationResponse {
            success: false,
            error: Some(NO_DEVICES.to_owned()),
            message_id,
            delivered: 0,
            failed: 0,
            results: Vec::new(),
        });
    }
    let push = dispatcher.tenant_push(app, tenant).await?;
    let deadline = less(options.deadline, SEND_RESERVE);
    let outcomes = dispatcher
        .deliver_to_devices(app, &push, &encoded, &devices, deadline)
        .await;
    let results: Vec<DeliveryResult> = devices
        .into_iter()
        .zip(outcomes)
        .map(|(device, result)| DeliveryResult {
            token: match options.full_tokens {
                true => device.token,
                false => shortened_token(&device.token),
            },
            platform: device.platform,
            success: result.outcome.is_delivered(),
            error: result.outcome.error().map(str::to_owned),
        })
        .collect();
    let delivered = results.iter().filter(|result| result.success).count();
    let failed = results.len() - delivered;
    tracing::info!(
        tenant_id = %tenant.tenant_id,
        message_id,
        delivered,
        failed,
        "notification sent"
    );
    Ok(SendNotificationResponse {
        success: delivered > 0,
        error: None,
        message_id,
        delivered: u32::try_from(delivered).unwrap_or(u32::MAX),
        failed: u32::try_from(failed).unwrap_or(u32::MAX),
        results,
    })
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

    #[test]
    fn shortened_tokens_keep_eight_characters() {
        assert_eq!(shortened_token(&"ab".repeat(32)), "abababab…");
        assert_eq!(shortened_token("fcm1:APA91bxyz"), "fcm1:APA…");
    }

    #[test]
    fn an_answer_without_devices_has_the_contract_shape() {
        let answer = SendNotificationResponse {
            success: false,
            error: Some(NO_DEVICES.to_owned()),
            message_id: "m".to_owned(),
            delivered: 0,
            failed: 0,
            results: Vec::new(),
        };
        let json = serde_json::to_value(&answer).unwrap_or_default();
        assert_eq!(json["error"], NO_DEVICES);
        let with_devices = SendNotificationResponse {
            success: true,
            error: None,
            ..answer
        };
        let json = serde_json::to_value(&with_devices).unwrap_or_default();
        let keys: Vec<&String> = json
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 5, "{json}");
    }
}
