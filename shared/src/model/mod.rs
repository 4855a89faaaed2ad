//! The contract's resources as Rust types: what requests carry and responses show.

pub mod api_key;
pub mod tenant;

pub use api_key::{ApiKey, ApiKeyList, CreateApiKeyRequest, CreatedApiKey, Scope};
pub use tenant::{CreateTenantRequest, Tenant, TenantList, UpdateTenantRequest};
