//! Who is calling: API keys of one tenant, or users holding a signed JWT
//! (HS256 from the deployment's secret, or RS256/ES256 from an identity
//! provider).

pub mod access;
pub mod api_key;
pub mod oidc;
pub mod token_header;
pub mod user_token;
pub mod verifier;

pub use access::{Authenticator, Caller, RateLimits, Requirement, TenantAccess};
pub use api_key::{ApiKeyMaterial, ParsedApiKey};
pub use user_token::UserClaims;
pub use verifier::UserTokenVerifier;
