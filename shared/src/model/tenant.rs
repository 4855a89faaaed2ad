//! Tenants: one app's push configuration inside an org.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::model::tenant_limits::{EffectiveLimits, TenantLimits};

/// The tenant object of the contract. Provider secrets are never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub tenant_id: String,
    pub org_id: String,
    pub bundle_id: Option<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub use_sandbox: bool,
    pub apns_configured: bool,
    pub fcm_configured: bool,
    pub fcm_project_id: Option<String>,
    /// A VAPID key pair is in the tenant's secret: `webpush` devices can be
    /// reached.
    #[serde(default)]
    pub web_push_configured: bool,
    /// Base64url of the VAPID public key (65-byte uncompressed P-256
    /// point): the web app's `applicationServerKey`.
    #[serde(default)]
    pub vapid_public_key: Option<String>,
    /// User verification is on: the tenant's secret holds a verification
    /// secret, and its `register` keys register only users it signed.
    /// Derived from the secret under the tenant's claim, like the fields
    /// above, so the two never disagree for long.
    #[serde(default)]
    pub user_verification: bool,
    /// Stored: the operator's overrides only. Shown: every limit, the
    /// deployment's default where the tenant has none ([`Tenant::shown`]).
    #[serde(default)]
    pub limits: TenantLimits,
    /// Not on the wire or in the tenant item: the sum of its API keys'
    /// rate limits, read with an API key's request (`store::key_rates`);
    /// `None` when unknown.
    #[serde(skip)]
    pub key_rates: Option<u64>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    /// Not on the wire: the revision of the stored item this value was read
    /// from, which a change of the tenant is conditional on (optimistic
    /// concurrency, see `service::tenants::update_tenant`).
    #[serde(skip)]
    pub revision: u64,
}

impl Tenant {
    /// The tenant as answers show it: its limits filled in from the
    /// deployment's `defaults`. Never stored (its overrides would become
    /// fixed).
    pub fn shown(mut self, defaults: EffectiveLimits) -> Self {
        self.limits = self.limits.shown(defaults);
        self
    }
}

/// A JSON value that is secret material (a service account with its private
/// key): it cannot be printed, by `Debug` or a `tracing` field.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretJson(serde_json::Value);

impl SecretJson {
    pub fn new(value: serde_json::Value) -> Self {
        Self(value)
    }
}

impl ExposeSecret<serde_json::Value> for SecretJson {
    fn expose_secret(&self) -> &serde_json::Value {
        &self.0
    }
}

impl fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `web_push` on tenant creation or PATCH: generates a VAPID key pair when
/// the tenant has none, uploads `private_key`, or replaces the pair when
/// `rotate` is true. `subject` alone on a tenant with keys changes the
/// contact only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushSettings {
    pub subject: String,
    #[serde(default)]
    pub private_key: Option<SecretString>,
    #[serde(default)]
    pub rotate: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    pub org_id: Option<String>,
    pub bundle_id: Option<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key: Option<SecretString>,
    pub use_sandbox: Option<bool>,
    /// A service-account object, or the same JSON as a string.
    pub fcm_service_account: Option<SecretJson>,
    #[serde(default)]
    pub web_push: Option<WebPushSettings>,
    /// Never accepted (403): limits are the operator's.
    #[serde(default)]
    pub limits: Option<serde::de::IgnoredAny>,
}

/// The creation fields to change or add; `org_id` cannot move.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    pub bundle_id: Option<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key: Option<SecretString>,
    pub use_sandbox: Option<bool>,
    pub fcm_service_account: Option<SecretJson>,
    #[serde(default)]
    pub web_push: Option<WebPushSettings>,
    /// Never accepted (403): limits are the operator's.
    #[serde(default)]
    pub limits: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantList {
    pub tenants: Vec<Tenant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_of_tenant_requests_never_print() {
        let body = serde_json::json!({
            "team_id": "ABCDE12345",
            "private_key": "-----BEGIN PRIVATE KEY-----\nSECRET-P8\n-----END PRIVATE KEY-----",
            "fcm_service_account": {"project_id": "p", "private_key": "SECRET-SA"},
        });
        let create: CreateTenantRequest = serde_json::from_value(body.clone()).unwrap();
        let update: UpdateTenantRequest = serde_json::from_value(body).unwrap();
        for printed in [format!("{create:?}"), format!("{update:?}")] {
            assert!(printed.contains("ABCDE12345"), "{printed}");
            assert!(!printed.contains("SECRET"), "{printed}");
        }
        assert!(create
            .private_key
            .as_ref()
            .is_some_and(|key| key.expose_secret().contains("SECRET-P8")));
        assert_eq!(
            update
                .fcm_service_account
                .as_ref()
                .map(|account| account.expose_secret()["private_key"].clone()),
            Some(serde_json::json!("SECRET-SA"))
        );
    }
}
