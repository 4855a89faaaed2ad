//! Secrets Manager: the user-token signing secret and one secret per tenant
//! holding its provider credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

use crate::credentials::{TenantCredentials, UserVerificationSecret};
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Secrets {
    client: Client,
    tenant_prefix: String,
    verification: VerificationCache,
}

impl Secrets {
    pub fn new(client: Client, tenant_prefix: impl Into<String>) -> Self {
        Self {
            client,
            tenant_prefix: tenant_prefix.into(),
            verification: VerificationCache::default(),
        }
    }

    /// The tenant's user verification secret as of `revision` (the tenant
    /// item's, raised by every change of the tenant, a rotation included),
    /// cached per container under that revision: a `register` key's
    /// registrations do not each read Secrets Manager, and a rotation is
    /// seen by the first request that reads the rotated tenant.
    pub async fn user_verification_secret(
        &self,
        tenant_id: &str,
        revision: u64,
    ) -> Result<Option<UserVerificationSecret>> {
        if let Some(cached) = self.verification.get(tenant_id, revision) {
            return Ok(cached);
        }
        let secret = self.tenant_credentials(tenant_id).await?.user_verification;
        self.verification.put(tenant_id, revision, secret.clone());
        Ok(secret)
    }

    pub fn tenant_secret_name(&self, tenant_id: &str) -> String {
        format!("{}{tenant_id}", self.tenant_prefix)
    }

    #[tracing::instrument(skip(self))]
    pub async fn secret_string(&self, secret_id: &str) -> Result<String> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading secret", err))?;
        output
            .secret_string
            .filter(|value| !value.is_empty())
            .ok_or_else(|| Error::internal("reading secret", "secret has no string value"))
    }

    /// The tenant's credentials; empty when it never had any.
    #[tracing::instrument(skip(self))]
    pub async fn tenant_credentials(&self, tenant_id: &str) -> Result<TenantCredentials> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(self.tenant_secret_name(tenant_id))
            .send()
            .await;
        let text = match result {
            Ok(output) => output.secret_string.unwrap_or_default(),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                return Ok(TenantCredentials::default())
            }
            Err(err) => return Err(Error::from_sdk("reading tenant credentials", err)),
        };
        serde_json::from_str(&text)
            .map_err(|err| Error::internal("decoding tenant credentials", err))
    }

    /// Stores a new tenant's credentials: its id is fresh, so the secret is
    /// created, never overwritten.
    #[tracing::instrument(skip(self, credentials))]
    pub async fn create_tenant_credentials(
        &self,
        tenant_id: &str,
        credentials: &TenantCredentials,
    ) -> Result<()> {
        let text = encode_credentials(credentials)?;
        self.create_tenant_secret(tenant_id, text).await
    }

    /// Replaces the tenant's credentials, creating its secret when the
    /// tenant had none. Only under a claim of the tenant
    /// (`service::tenants::change_tenant`): Secrets Manager has no
    /// conditional write, and a creation could otherwise outlive a deletion.
    #[tracing::instrument(skip(self, credentials))]
    pub async fn save_tenant_credentials(
        &self,
        tenant_id: &str,
        credentials: &TenantCredentials,
    ) -> Result<()> {
        let text = encode_credentials(credentials)?;
        let put = self
            .client
            .put_secret_value()
            .secret_id(self.tenant_secret_name(tenant_id))
            .secret_string(&text)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                self.create_tenant_secret(tenant_id, text).await
            }
            Err(err) => Err(Error::from_sdk("writing tenant credentials", err)),
        }
    }

    async fn create_tenant_secret(&self, tenant_id: &str, text: String) -> Result<()> {
        self.client
            .create_secret()
            .name(self.tenant_secret_name(tenant_id))
            .description("Notify tenant provider credentials (APNs key, FCM service account)")
            .secret_string(text)
            .send()
            .await
            .map_err(|err| Error::from_sdk("creating tenant secret", err))?;
        Ok(())
    }

    /// Removes the tenant's secret at once (no recovery window: a deleted
    /// tenant's keys must not linger).
    #[tracing::instrument(skip(self))]
    pub async fn delete_tenant_credentials(&self, tenant_id: &str) -> Result<()> {
        self.delete_now(self.tenant_secret_name(tenant_id), "deleting tenant secret")
            .await
    }

    /// Deletes a secret without a recovery window; one already gone is
    /// fine (a retried deletion, or a purge that got there first).
    async fn delete_now(&self, secret_id: String, what: &'static str) -> Result<()> {
        let result = self
            .client
            .delete_secret()
            .secret_id(secret_id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteSecretError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::from_sdk(what, err)),
        }
    }
}

/// Webhook signing secrets: one secret per webhook, under the tenant's
/// name (`{prefix}{tenant}/webhooks/{webhook}`), so the deployment's grant
/// on the tenant prefix covers them.
impl Secrets {
    pub fn webhook_secret_name(&self, tenant_id: &str, webhook_id: &str) -> String {
        format!("{}{tenant_id}/webhooks/{webhook_id}", self.tenant_prefix)
    }

    #[tracing::instrument(skip(self, secret))]
    pub async fn create_webhook_secret(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        secret: &SecretString,
    ) -> Result<()> {
        self.client
            .create_secret()
            .name(self.webhook_secret_name(tenant_id, webhook_id))
            .description("Notify webhook signing secret")
            .secret_string(secret.expose_secret())
            .send()
            .await
            .map_err(|err| Error::from_sdk("creating webhook secret", err))?;
        Ok(())
    }

    /// The webhook's signing secret; `None` when it has none (deleted).
    #[tracing::instrument(skip(self))]
    pub async fn webhook_secret(
        &self,
        tenant_id: &str,
        webhook_id: &str,
    ) -> Result<Option<SecretString>> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(self.webhook_secret_name(tenant_id, webhook_id))
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .secret_string
                .filter(|text| !text.is_empty())
                .map(SecretString::from)),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(Error::from_sdk("reading webhook secret", err)),
        }
    }

    /// Removes the webhook's secret at once; absent is fine.
    #[tracing::instrument(skip(self))]
    pub async fn delete_webhook_secret(&self, tenant_id: &str, webhook_id: &str) -> Result<()> {
        self.delete_now(
            self.webhook_secret_name(tenant_id, webhook_id),
            "deleting webhook secret",
        )
        .await
    }
}

fn encode_credentials(credentials: &TenantCredentials) -> Result<String> {
    serde_json::to_string(credentials)
        .map_err(|err| Error::internal("encoding tenant credentials", err))
}

/// Tenants whose verification secret one container keeps: one entry a
/// tenant, so a tenant cannot take more than its own; past the bound the
/// entry read longest ago goes (by time, which no tenant steers).
const VERIFICATION_CACHE_ENTRIES: usize = 4096;
/// How long an entry is used at most: bounds how long a container can keep
/// a secret that changed without a new revision (a change that died between
/// writing the secret and committing the tenant).
const VERIFICATION_CACHE_TTL: Duration = Duration::from_secs(300);

/// Per-container cache of user verification secrets, keyed by tenant and
/// the tenant item's revision.
#[derive(Clone, Default)]
struct VerificationCache(Arc<Mutex<HashMap<String, CachedVerification>>>);

struct CachedVerification {
    revision: u64,
    fetched: Instant,
    secret: Option<UserVerificationSecret>,
}

impl std::fmt::Debug for VerificationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCache")
    }
}

impl VerificationCache {
    /// The cached secret (`Some(None)`: cached as absent) of the tenant at
    /// `revision`, while fresh.
    fn get(&self, tenant_id: &str, revision: u64) -> Option<Option<UserVerificationSecret>> {
        let entries = self.0.lock().ok()?;
        entries
            .get(tenant_id)
            .filter(|entry| {
                entry.revision == revision && entry.fetched.elapsed() < VERIFICATION_CACHE_TTL
            })
            .map(|entry| entry.secret.clone())
    }

    fn put(&self, tenant_id: &str, revision: u64, secret: Option<UserVerificationSecret>) {
        let Ok(mut entries) = self.0.lock() else {
            return;
        };
        if entries.len() >= VERIFICATION_CACHE_ENTRIES && !entries.contains_key(tenant_id) {
            entries.retain(|_, entry| entry.fetched.elapsed() < VERIFICATION_CACHE_TTL);
            if entries.len() >= VERIFICATION_CACHE_ENTRIES {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.fetched)
                    .map(|(tenant, _)| tenant.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(
            tenant_id.to_owned(),
            CachedVerification {
                revision,
                fetched: Instant::now(),
                secret,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Option<UserVerificationSecret> {
        Some(UserVerificationSecret {
            secret: text.to_owned(),
            created_at: "2026-12-07T00:00:00Z".to_owned(),
        })
    }

    #[test]
    fn a_cached_secret_is_served_only_at_its_revision() {
        let cache = VerificationCache::default();
        cache.put("tnt_a", 4, secret("one"));
        assert_eq!(cache.get("tnt_a", 4), Some(secret("one")));
        assert_eq!(
            cache.get("tnt_a", 6),
            None,
            "a rotation raises the revision"
        );
        assert_eq!(cache.get("tnt_b", 4), None);
        cache.put("tnt_a", 6, secret("two"));
        assert_eq!(cache.get("tnt_a", 6), Some(secret("two")));
        assert_eq!(cache.get("tnt_a", 4), None);
    }

    #[test]
    fn the_cache_holds_one_entry_a_tenant_and_stays_bounded() {
        let cache = VerificationCache::default();
        for n in 0..VERIFICATION_CACHE_ENTRIES + 10 {
            cache.put(&format!("tnt_{n}"), 2, secret("s"));
            cache.put(&format!("tnt_{n}"), 4, secret("s"));
        }
        let entries = cache.0.lock().map(|entries| entries.len()).unwrap_or(0);
        assert_eq!(entries, VERIFICATION_CACHE_ENTRIES);
        let last = format!("tnt_{}", VERIFICATION_CACHE_ENTRIES + 9);
        assert_eq!(cache.get(&last, 4), Some(secret("s")));
    }
}
