//! API keys as the contract shows them: never the key after creation, never the hash;
//! and what a valid key grants a request.

use serde::{Deserialize, Serialize};

use crate::model::whole_number;

/// What an API key may do. Management endpoints need a user token whatever the scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Register a device, nothing else: for a key shipped inside an app.
    Register,
    /// Register, list and unregister devices.
    Devices,
    /// Single and bulk sends, batch status.
    Send,
}

impl Scope {
    /// Every scope, in the order answers list them.
    pub const ALL: [Scope; 3] = [Scope::Register, Scope::Devices, Scope::Send];
    /// The scopes of a key created without `scopes`.
    pub const DEFAULT: [Scope; 2] = [Scope::Devices, Scope::Send];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Register => "register",
            Scope::Devices => "devices",
            Scope::Send => "send",
        }
    }

    /// The scopes any one of which lets a key do what `self` names:
    /// `devices` includes registering.
    pub fn granted_by(self) -> &'static [Scope] {
        match self {
            Scope::Register => &[Scope::Register, Scope::Devices],
            Scope::Devices => &[Scope::Devices],
            Scope::Send => &[Scope::Send],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    pub scopes: Option<Vec<Scope>>,
    /// Requests per second, 1 to the deployment's maximum.
    #[serde(default, deserialize_with = "whole_number::optional")]
    pub rate_limit: Option<u32>,
}

/// The creation answer: the only time the plain key is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key_id: String,
    pub key: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub rate_limit: u32,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// Requests per second; absent on keys made before rate limits, which
    /// get the deployment's default (filled in when listed).
    #[serde(default)]
    pub rate_limit: Option<u32>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// Requests in the last 24 hours (listings only, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_24h: Option<u64>,
    /// The current hour's requests exceed ten times the key's hourly mean
    /// over the 7 days before, and 100 (listings only, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusual_activity: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}

/// What a valid API key grants: one tenant, some scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyGrant {
    pub key_id: String,
    pub tenant_id: String,
    pub scopes: Vec<Scope>,
    pub last_used_at: Option<String>,
    /// Requests per second; `None` for the deployment's default.
    pub rate_limit: Option<u32>,
    /// The key's SHA-256: the key of its lookup item.
    pub(crate) hash: String,
}

impl ApiKeyGrant {
    /// Whether the key may do what `scope` names (`devices` includes `register`).
    pub fn allows(&self, scope: Scope) -> bool {
        scope
            .granted_by()
            .iter()
            .any(|granted| self.scopes.contains(granted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_includes_registering_and_register_includes_nothing_else() {
        assert!(Scope::Register.granted_by().contains(&Scope::Devices));
        assert!(Scope::Register.granted_by().contains(&Scope::Register));
        assert_eq!(Scope::Devices.granted_by(), &[Scope::Devices]);
        assert_eq!(Scope::Send.granted_by(), &[Scope::Send]);
    }

    #[test]
    fn scopes_read_and_write_lowercase() {
        let scopes: Vec<Scope> =
            serde_json::from_str(r#"["register", "devices", "send"]"#).unwrap_or_default();
        assert_eq!(scopes, Scope::ALL.to_vec());
        assert_eq!(
            serde_json::to_string(&Scope::DEFAULT).ok().as_deref(),
            Some(r#"["devices","send"]"#)
        );
    }

    #[test]
    fn a_rate_limit_is_read_whole_with_or_without_a_fraction_and_may_be_null() {
        let rate = |body: &str| {
            serde_json::from_str::<CreateApiKeyRequest>(body)
                .map(|request| request.rate_limit)
                .map_err(|e| e.to_string())
        };
        assert_eq!(rate(r#"{"name":"k","rate_limit":500}"#), Ok(Some(500)));
        assert_eq!(rate(r#"{"name":"k","rate_limit":500.0}"#), Ok(Some(500)));
        assert_eq!(rate(r#"{"name":"k","rate_limit":null}"#), Ok(None));
        assert_eq!(rate(r#"{"name":"k"}"#), Ok(None));
        for bad in [
            r#"{"name":"k","rate_limit":1.5}"#,
            r#"{"name":"k","rate_limit":-1}"#,
        ] {
            assert!(
                rate(bad).is_err_and(|e| e.contains("whole number")),
                "{bad}"
            );
        }
    }
}
