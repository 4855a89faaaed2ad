//! APNs provider tokens: ES256 JWTs signed with the tenant's `.p8`, reused
//! across pushes and invocations. A token is cached under the fingerprint of
//! the tenant and its whole key ([`ApnsKey::fingerprint`]), never under the
//! public (team, key) ids: a tenant that claims another tenant's ids with a
//! key of its own must neither use nor replace the other's token.
//!
//! Apple refuses tokens older than an hour and answers
//! `TooManyProviderTokenUpdates` to tokens renewed more often than every 20
//! minutes, so a token is renewed after 50 minutes and never before 20.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::credentials::ApnsKey;

const RENEW_AFTER: Duration = Duration::from_secs(50 * 60);
const KEEP_AT_LEAST: Duration = Duration::from_secs(20 * 60);
/// Entries one container keeps before dropping the expired ones.
const MAX_ENTRIES: usize = 4096;

/// What a token is cached under: [`ApnsKey::fingerprint`].
pub(crate) type CacheId = [u8; 32];

#[derive(Default)]
pub(crate) struct ProviderTokens {
    cache: Mutex<HashMap<CacheId, Signed>>,
    /// Signatures made; tests check reuse with it.
    pub signed: AtomicU64,
}

struct Signed {
    bearer: HeaderValue,
    issued: Instant,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ProviderTokens {
    /// `authorization` value for `key` (cached under `id`, its
    /// fingerprint), signing a new token when there is none or it is 50
    /// minutes old. `Err` holds why the key cannot sign.
    pub fn bearer(&self, id: &CacheId, key: &ApnsKey) -> Result<HeaderValue, &'static str> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(signed) = cache.get(id) {
            if signed.issued.elapsed() < RENEW_AFTER {
                return Ok(signed.bearer.clone());
            }
        }
        let bearer = sign(key)?;
        self.signed.fetch_add(1, Ordering::Relaxed);
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, signed| signed.issued.elapsed() < RENEW_AFTER);
        }
        cache.insert(
            *id,
            Signed {
                bearer: bearer.clone(),
                issued: Instant::now(),
            },
        );
        Ok(bearer)
    }

    /// Apple called `stale` expired or invalid. Forgets it so the next
    /// request signs anew, unless it is younger than 20 minutes (then our
    /// clock, not the token, is wrong, and renewing would only add
    /// throttling): `false`.
    pub fn expire(&self, id: &CacheId, stale: &HeaderValue) -> bool {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(id) {
            Some(signed) if signed.bearer == *stale => {
                if signed.issued.elapsed() < KEEP_AT_LEAST {
                    return false;
                }
                cache.remove(id);
                true
            }
            // Already renewed by another request.
            _ => true,
        }
    }
}

fn sign(key: &ApnsKey) -> Result<HeaderValue, &'static str> {
    const UNUSABLE: &str = "apns key of tenant cannot sign provider tokens";
    let encoding_key = EncodingKey::from_ec_pem(key.private_key.expose_secret().as_bytes())
        .map_err(|_| UNUSABLE)?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.key_id.clone());
    // Apple's documented header is exactly {"alg", "kid"}.
    header.typ = None;
    let iat = crate::clock::now_unix_secs();
    let claims = Claims {
        iss: &key.team_id,
        iat,
    };
    let token = jsonwebtoken::encode(&header, &claims, &encoding_key).map_err(|_| UNUSABLE)?;
    let mut value = HeaderValue::try_from(format!("bearer {token}")).map_err(|_| UNUSABLE)?;
    // Never indexed by HPACK, never printed by Debug.
    value.set_sensitive(true);
    Ok(value)
}
