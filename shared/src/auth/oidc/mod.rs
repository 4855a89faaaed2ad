//! User tokens from one OpenID Connect issuer (RS256 and ES256), checked
//! against the keys it publishes, which each container caches.

mod cache;
mod claims;
mod fetch;
mod keys;
mod source;
#[cfg(test)]
mod test_keys;
#[cfg(test)]
mod tests;

use jsonwebtoken::Algorithm;

use self::cache::{CachePolicy, KeyCache};
use self::source::KeySource;
use crate::auth::token_header::TokenHeader;
use crate::auth::user_token::UserClaims;
use crate::config::OidcSettings;
use crate::error::{Error, Result};

pub use self::claims::LEEWAY_SECS;
pub use self::fetch::{FETCH_TIMEOUT, MAX_BODY_BYTES};

/// Verifies the issuer's tokens; built once per container (no I/O until
/// the first token).
pub struct OidcVerifier {
    settings: OidcSettings,
    source: KeySource,
    keys: KeyCache,
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings) -> Self {
        Self {
            source: KeySource::new(settings.clone()),
            settings,
            keys: KeyCache::new(CachePolicy::default()),
        }
    }

    /// A verifier fetching by `policy`, each GET within `timeout`.
    #[cfg(test)]
    fn for_tests(
        settings: OidcSettings,
        policy: CachePolicy,
        timeout: std::time::Duration,
    ) -> Self {
        Self {
            source: KeySource::new(settings.clone()).with_timeout(timeout),
            settings,
            keys: KeyCache::new(policy),
        }
    }

    /// `header` is the token's, already read; its `alg` picks the kind of
    /// key, and nothing else in it (`jku`, `x5u`, `jwk`) is used.
    pub async fn verify(&self, token: &str, header: &TokenHeader) -> Result<UserClaims> {
        let alg = match header.alg.as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => return Err(crate::auth::token_header::unsupported_alg()),
        };
        let kid = header.kid.as_deref().ok_or_else(|| {
            Error::Unauthorized("user token's header names no signing key (`kid`)".to_owned())
        })?;
        let key = self.keys.key(kid, alg, &self.source).await?;
        claims::verify(token, alg, &key, &self.settings)
    }
}
