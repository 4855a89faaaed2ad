//! The container's copy of the provider's keys.
//!
//! Read without waiting while the key a token names is there and fresh.
//! Otherwise one request at a time may fetch (the others wait for it and
//! then use what it got), and fetches are spaced: at most one a minute, so
//! that tokens naming random `kid`s cost the provider one fetch a minute
//! per container whatever their number. While no key was ever read, a
//! failed fetch may be retried sooner. A fetch that fails leaves the keys
//! held before in use, however old.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

use super::keys::{KeySet, Lookup};
use super::source::KeySource;
use crate::error::{Error, Result};

/// When fetches may happen.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// The least time between two fetches once keys are held.
    pub min_interval: Duration,
    /// The least time between two fetches while none is held.
    pub retry_when_empty: Duration,
    /// Keys older than this are fetched again at their next use.
    pub max_age: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(60),
            retry_when_empty: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, Default)]
struct Held {
    keys: KeySet,
    fetched_at: Option<Instant>,
}

/// The last fetch: when, and whether it failed.
#[derive(Default)]
struct LastFetch {
    at: Option<Instant>,
    failed: bool,
}

pub struct KeyCache {
    held: RwLock<Arc<Held>>,
    fetching: Mutex<LastFetch>,
    policy: CachePolicy,
}

impl KeyCache {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            held: RwLock::new(Arc::new(Held::default())),
            fetching: Mutex::new(LastFetch::default()),
            policy,
        }
    }

    /// The key `kid` names for `alg`, fetching the keys again when needed
    /// and allowed.
    pub async fn key(
        &self,
        kid: &str,
        alg: Algorithm,
        source: &KeySource,
    ) -> Result<Arc<DecodingKey>> {
        if let Some(key) = self.fresh_key(kid, alg).await {
            return Ok(key);
        }
        let mut last = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.fresh_key(kid, alg).await {
            return Ok(key);
        }
        let held = self.held.read().await.clone();
        if self.may_fetch(&last, &held) {
            last.at = Some(Instant::now());
            match source.fetch().await {
                Ok(keys) => {
                    last.failed = false;
                    let fetched = Arc::new(Held {
                        keys,
                        fetched_at: Some(Instant::now()),
                    });
                    *self.held.write().await = fetched.clone();
                    return answer(fetched.keys.lookup(kid, alg), false);
                }
                Err(err) => {
                    last.failed = true;
                    tracing::warn!(
                        error = %err,
                        keys_held = !held.keys.is_empty(),
                        "fetching the identity provider's keys failed"
                    );
                }
            }
        }
        answer(
            held.keys.lookup(kid, alg),
            last.failed || held.keys.is_empty(),
        )
    }

    async fn fresh_key(&self, kid: &str, alg: Algorithm) -> Option<Arc<DecodingKey>> {
        let held = self.held.read().await;
        let fresh = held
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.policy.max_age);
        match held.keys.lookup(kid, alg) {
            Lookup::Found(key) if fresh => Some(key),
            _ => None,
        }
    }

    fn may_fetch(&self, last: &LastFetch, held: &Held) -> bool {
        let spacing = if held.keys.is_empty() {
            self.policy.retry_when_empty
        } else {
            self.policy.min_interval
        };
        last.at.is_none_or(|at| at.elapsed() >= spacing)
    }
}

/// The lookup as the caller's answer. A key missing while the keys could
/// not be read is the provider's trouble (503), not the token's.
fn answer(lookup: Lookup, keys_unreadable: bool) -> Result<Arc<DecodingKey>> {
    match lookup {
        Lookup::Found(key) => Ok(key),
        Lookup::OtherKind => Err(Error::Unauthorized(
            "user token's `kid` names a key of another type than its `alg`".to_owned(),
        )),
        Lookup::Missing if keys_unreadable => Err(Error::Unavailable {
            context: "reading the identity provider's keys",
            source: "no key for the token's `kid` is held and the JWKS could not be fetched".into(),
        }),
        Lookup::Missing => Err(Error::Unauthorized(
            "user token is signed with a key the identity provider does not publish (`kid`)"
                .to_owned(),
        )),
    }
}
