//! APNs provider tokens: ES256 JWTs signed with a `.p8`, reused across
//! pushes, invocations and tenants. A token is cached under the fingerprint
//! of the whole credential ([`credential_id`]: team, key id and private
//! key), never under the public (team, key) ids alone: a tenant that claims
//! another tenant's ids with a key of its own gets an entry of its own,
//! while tenants that share one `.p8` share one token, so a connection
//! (kept per credential, see `transport`) only ever sees one token.
//!
//! Apple refuses tokens whose `iat` is over an hour old and answers
//! `TooManyProviderTokenUpdates` to a connection given a new token more
//! often than every 20 minutes, so a token is renewed after 50 minutes
//! (Apple: "no more than once every 20 minutes and no less than once every
//! 60 minutes"). Ages are judged on the wall clock ([`Clock`]): the
//! monotonic clock may stand still while Lambda freezes the process, while
//! Apple's does not.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::credentials::ApnsKey;

/// Seconds a token is reused.
const RENEW_AFTER_SECS: u64 = 50 * 60;
/// A token younger than this is not replaced on `InvalidProviderToken`.
const KEEP_AT_LEAST_SECS: u64 = 20 * 60;
/// Credentials one container keeps tokens for; the least recently signed
/// goes first when all are live (re-signed on demand).
pub(crate) const MAX_ENTRIES: usize = 4096;

/// What a token is cached under: [`credential_id`].
pub(crate) type CacheId = [u8; 32];

/// The fingerprint of a whole APNs credential, the same for every tenant
/// that holds it.
pub(crate) fn credential_id(key: &ApnsKey) -> CacheId {
    let mut hash = Sha256::new();
    for part in [
        "apns-credential",
        key.team_id.as_str(),
        key.key_id.as_str(),
        key.private_key.expose_secret(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

pub(crate) struct ProviderTokens {
    cache: Mutex<HashMap<CacheId, Signed>>,
    clock: Clock,
    /// Bumped whenever a token is dropped before its scheduled renewal, so
    /// that batches holding it take the current one (one connection, one
    /// token: see [`ProviderTokens::generation`]).
    generation: AtomicU64,
    /// Signatures made; tests check reuse with it.
    pub signed: AtomicU64,
}

struct Signed {
    bearer: HeaderValue,
    /// The token's `iat`, wall-clock seconds.
    issued: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

/// Why Apple refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `ExpiredProviderToken`: always signed anew.
    Expired,
    /// `InvalidProviderToken`: signed anew unless the token is young.
    Invalid,
}

impl ProviderTokens {
    pub fn new(clock: Clock) -> Self {
        Self {
            cache: Mutex::new(HashMap::new()),
            clock,
            generation: AtomicU64::new(0),
            signed: AtomicU64::new(0),
        }
    }

    /// Changes when a cached token was dropped early (refused by Apple, or
    /// evicted by the bound): a batch that took its token under another
    /// generation asks for the current one before each push.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// `authorization` value for `key` (cached under `id`, its
    /// [`credential_id`]), signing a new token when there is none or it is
    /// 50 minutes old, and when it is due for renewal (wall-clock
    /// seconds). `Err` holds why the key cannot sign.
    pub fn bearer(&self, id: &CacheId, key: &ApnsKey) -> Result<(HeaderValue, u64), &'static str> {
        let now = self.clock.now_unix_secs();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(signed) = cache.get(id) {
            if now.saturating_sub(signed.issued) < RENEW_AFTER_SECS {
                return Ok((
                    signed.bearer.clone(),
                    signed.issued.saturating_add(RENEW_AFTER_SECS),
                ));
            }
        }
        let bearer = sign(key, now)?;
        self.signed.fetch_add(1, Ordering::Relaxed);
        if cache.len() >= MAX_ENTRIES && !cache.contains_key(id) {
            cache.retain(|_, signed| now.saturating_sub(signed.issued) < RENEW_AFTER_SECS);
            if cache.len() >= MAX_ENTRIES {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, signed)| signed.issued)
                    .map(|(id, _)| *id);
                if let Some(oldest) = oldest {
                    cache.remove(&oldest);
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        cache.insert(
            *id,
            Signed {
                bearer: bearer.clone(),
                issued: now,
            },
        );
        Ok((bearer, now.saturating_add(RENEW_AFTER_SECS)))
    }

    /// Apple refused `stale`. Forgets it so the next request signs anew
    /// (`true`), except an invalid token younger than 20 minutes (`false`):
    /// then the key, not the token's age, is wrong, and renewing would only
    /// add tokens. An expired token is always replaced: Apple's clock says
    /// so, whatever ours says.
    pub fn expire(&self, id: &CacheId, stale: &HeaderValue, why: Refused) -> bool {
        let now = self.clock.now_unix_secs();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(id) {
            Some(signed) if signed.bearer == *stale => {
                if why == Refused::Invalid && now.saturating_sub(signed.issued) < KEEP_AT_LEAST_SECS
                {
                    return false;
                }
                cache.remove(id);
                self.generation.fetch_add(1, Ordering::AcqRel);
                true
            }
            // Already renewed by another request.
            _ => true,
        }
    }

    /// Tokens cached now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn sign(key: &ApnsKey, iat: u64) -> Result<HeaderValue, &'static str> {
    const UNUSABLE: &str = "apns key of tenant cannot sign provider tokens";
    let encoding_key = EncodingKey::from_ec_pem(key.private_key.expose_secret().as_bytes())
        .map_err(|_| UNUSABLE)?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.key_id.clone());
    // Apple's documented header is exactly {"alg", "kid"}.
    header.typ = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A usable APNs key of its own (a fresh P-256 key): no simulator needed.
    fn key() -> ApnsKey {
        let pair = crate::web_push_protocol::VapidKey::generate("mailto:ops@example.com")
            .unwrap_or_else(|err| panic!("generating a P-256 key: {err}"));
        ApnsKey {
            team_id: "TEAM012345".into(),
            key_id: "KEY0123456".into(),
            private_key: pair.private_key,
        }
    }

    #[test]
    fn a_token_is_renewed_after_50_minutes_of_wall_clock_whatever_the_process_saw() {
        let clock = Clock::manual(1_700_000_000);
        let tokens = ProviderTokens::new(clock.clone());
        let key = key();
        let id = credential_id(&key);
        let (first, renew_at) = tokens.bearer(&id, &key).unwrap();
        assert_eq!(renew_at, 1_700_000_000 + 50 * 60);
        clock.advance(Duration::from_secs(49 * 60));
        assert_eq!(tokens.bearer(&id, &key).unwrap().0, first);
        // A freeze: no `Instant` time passed, the wall clock moved on.
        clock.advance(Duration::from_secs(2 * 60));
        assert_ne!(tokens.bearer(&id, &key).unwrap().0, first);
        assert_eq!(tokens.signed.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn an_expired_token_is_always_replaced_and_a_young_invalid_one_is_not() {
        let clock = Clock::manual(1_700_000_000);
        let tokens = ProviderTokens::new(clock.clone());
        let key = key();
        let id = credential_id(&key);
        let (young, _) = tokens.bearer(&id, &key).unwrap();
        assert!(!tokens.expire(&id, &young, Refused::Invalid));
        assert!(tokens.expire(&id, &young, Refused::Expired));
        clock.advance(Duration::from_secs(1));
        assert_ne!(tokens.bearer(&id, &key).unwrap().0, young);
    }

    #[test]
    fn the_token_cache_never_grows_past_its_bound_when_every_token_is_live() {
        let tokens = ProviderTokens::new(Clock::manual(1_700_000_000));
        let key = key();
        for n in 0..(MAX_ENTRIES + 10) {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            tokens.bearer(&id, &key).unwrap();
        }
        assert_eq!(tokens.len(), MAX_ENTRIES);
    }

    #[test]
    fn tenants_holding_one_credential_share_its_id_and_other_keys_do_not() {
        let key = key();
        let mut other = key.clone();
        other.key_id = "OTHERKEY01".into();
        assert_eq!(credential_id(&key), credential_id(&key.clone()));
        assert_ne!(credential_id(&key), credential_id(&other));
    }
}
