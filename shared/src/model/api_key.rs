//! API keys as the contract shows them: never the key after creation, never the hash.

use serde::{Deserialize, Serialize};

/// What an API key may do. Management endpoints need a user token whatever the scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Register, list and unregister devices.
    Devices,
    /// Single and bulk sends, batch status.
    Send,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Devices, Scope::Send];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Devices => "devices",
            Scope::Send => "send",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    pub scopes: Option<Vec<Scope>>,
}

/// The creation answer: the only time the plain key is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key_id: String,
    pub key: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}
