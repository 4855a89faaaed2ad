//! Who is calling: API keys of one tenant, or users holding a signed JWT.

pub mod access;
pub mod api_key;
pub mod user_token;

pub use access::{Authenticator, Caller, RateLimits, Requirement, TenantAccess};
pub use api_key::{ApiKeyMaterial, ParsedApiKey};
pub use user_token::{UserClaims, UserTokenVerifier};
