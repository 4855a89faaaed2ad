//! Tenants: one app's push configuration inside an org.

use serde::{Deserialize, Serialize};

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
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    pub org_id: Option<String>,
    pub bundle_id: Option<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key: Option<String>,
    pub use_sandbox: Option<bool>,
    /// A service-account object, or the same JSON as a string.
    pub fcm_service_account: Option<serde_json::Value>,
}

/// The creation fields to change or add; `org_id` cannot move.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    pub bundle_id: Option<String>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key: Option<String>,
    pub use_sandbox: Option<bool>,
    pub fcm_service_account: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantList {
    pub tenants: Vec<Tenant>,
}
