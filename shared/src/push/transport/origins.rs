//! What one container keeps connections to, and the bounds no tenant can
//! steer (house style 16; security review N1):
//!
//! - the providers' own origins (FCM, the OAuth token endpoint, a Web Push
//!   service on one of them): from configuration, few, never evicted;
//! - APNs, per (environment, credential): Apple binds a connection to one
//!   team, key and token; the least recently used credential's pool goes
//!   when there are too many (it reconnects when next used);
//! - Web Push origins, by the tenant whose push made them: idle ones go
//!   first, a tenant beyond its share loses its own least recently used,
//!   and when all are taken the tenant holding the most loses one.
//!
//! Evicting a pool never fails a request: requests hold their own handle
//! and the connections close when the last one is done.

use std::collections::HashMap;
use std::sync::Arc;

use super::pool::Pool;
use super::{Origin, TransportError};

pub(crate) const MAX_PROVIDER_ORIGINS: usize = 16;
pub(crate) const MAX_CREDENTIAL_POOLS: usize = 256;
pub(crate) const MAX_WEB_PUSH_ORIGINS: usize = 64;
pub(crate) const MAX_WEB_PUSH_ORIGINS_PER_TENANT: usize = 16;
/// A credential or Web Push pool unused this long is dropped first.
const IDLE_POOL_MILLIS: u64 = 10 * 60 * 1000;

/// An APNs pool's key: origin, base path (the environment) and credential.
pub(crate) type CredentialKey = (Origin, String, [u8; 32]);

/// A pool and when it was last handed out.
struct Kept {
    pool: Arc<Pool>,
    /// Wall-clock milliseconds.
    used_at: u64,
    /// Order of use, for least-recently-used eviction.
    tick: u64,
}

struct WebPushKept {
    tenant: Arc<str>,
    kept: Kept,
}

#[derive(Default)]
pub(crate) struct Origins {
    providers: HashMap<Origin, Arc<Pool>>,
    credentials: HashMap<CredentialKey, Kept>,
    web_push: HashMap<Origin, WebPushKept>,
    ticks: u64,
}

/// The least recently used key of `entries`.
fn least_recent<'a, K: Clone + 'a>(entries: impl Iterator<Item = (&'a K, &'a Kept)>) -> Option<K> {
    entries
        .min_by_key(|(_, kept)| kept.tick)
        .map(|(key, _)| key.clone())
}

impl Origins {
    fn tick(&mut self) -> u64 {
        self.ticks += 1;
        self.ticks
    }

    /// A provider's own origin's pool, made by `make` the first time.
    pub fn provider(
        &mut self,
        origin: &Origin,
        make: impl FnOnce() -> Result<Arc<Pool>, TransportError>,
    ) -> Result<Arc<Pool>, TransportError> {
        if let Some(pool) = self.providers.get(origin) {
            return Ok(pool.clone());
        }
        if self.providers.len() >= MAX_PROVIDER_ORIGINS {
            return Err(TransportError::Invalid(format!(
                "more than {MAX_PROVIDER_ORIGINS} provider origins"
            )));
        }
        let pool = make()?;
        self.providers.insert(origin.clone(), pool.clone());
        Ok(pool)
    }

    /// An APNs credential's pool; when there are too many, idle ones and
    /// then the least recently used go.
    pub fn credential(
        &mut self,
        key: CredentialKey,
        now: u64,
        make: impl FnOnce() -> Result<Arc<Pool>, TransportError>,
    ) -> Result<Arc<Pool>, TransportError> {
        let tick = self.tick();
        if let Some(kept) = self.credentials.get_mut(&key) {
            kept.used_at = now;
            kept.tick = tick;
            return Ok(kept.pool.clone());
        }
        if self.credentials.len() >= MAX_CREDENTIAL_POOLS {
            self.credentials
                .retain(|_, kept| now.saturating_sub(kept.used_at) < IDLE_POOL_MILLIS);
        }
        if self.credentials.len() >= MAX_CREDENTIAL_POOLS {
            if let Some(oldest) = least_recent(self.credentials.iter()) {
                self.credentials.remove(&oldest);
            }
        }
        let pool = make()?;
        self.credentials.insert(
            key,
            Kept {
                pool: pool.clone(),
                used_at: now,
                tick,
            },
        );
        Ok(pool)
    }

    /// A Web Push origin's pool for a push of `tenant`: a provider's pool
    /// when the service shares its origin (Chrome's is FCM's), else one
    /// counted against the tenant's share.
    pub fn web_push(
        &mut self,
        origin: &Origin,
        tenant: &str,
        now: u64,
        make: impl FnOnce() -> Result<Arc<Pool>, TransportError>,
    ) -> Result<Arc<Pool>, TransportError> {
        if let Some(pool) = self.providers.get(origin) {
            return Ok(pool.clone());
        }
        let tick = self.tick();
        if let Some(entry) = self.web_push.get_mut(origin) {
            entry.kept.used_at = now;
            entry.kept.tick = tick;
            return Ok(entry.kept.pool.clone());
        }
        self.make_room_for_web_push(tenant, now);
        let pool = make()?;
        self.web_push.insert(
            origin.clone(),
            WebPushKept {
                tenant: tenant.into(),
                kept: Kept {
                    pool: pool.clone(),
                    used_at: now,
                    tick,
                },
            },
        );
        Ok(pool)
    }

    fn held_by(&self, tenant: &str) -> usize {
        self.web_push
            .values()
            .filter(|entry| &*entry.tenant == tenant)
            .count()
    }

    /// Frees a place for one more Web Push origin of `tenant`: idle origins
    /// go first; then, if the tenant holds its whole share, its least
    /// recently used; then, if all places are taken, the least recently
    /// used of the tenant holding the most.
    fn make_room_for_web_push(&mut self, tenant: &str, now: u64) {
        if self.web_push.len() >= MAX_WEB_PUSH_ORIGINS
            || self.held_by(tenant) >= MAX_WEB_PUSH_ORIGINS_PER_TENANT
        {
            self.web_push
                .retain(|_, entry| now.saturating_sub(entry.kept.used_at) < IDLE_POOL_MILLIS);
        }
        let evict_from = if self.held_by(tenant) >= MAX_WEB_PUSH_ORIGINS_PER_TENANT {
            Some(Arc::<str>::from(tenant))
        } else if self.web_push.len() >= MAX_WEB_PUSH_ORIGINS {
            let mut counts: HashMap<&Arc<str>, usize> = HashMap::new();
            for entry in self.web_push.values() {
                *counts.entry(&entry.tenant).or_default() += 1;
            }
            counts
                .into_iter()
                .max_by_key(|(_, count)| *count)
                .map(|(tenant, _)| tenant.clone())
        } else {
            None
        };
        if let Some(victim) = evict_from {
            let oldest = least_recent(
                self.web_push
                    .iter()
                    .filter(|(_, entry)| entry.tenant == victim)
                    .map(|(origin, entry)| (origin, &entry.kept)),
            );
            if let Some(oldest) = oldest {
                self.web_push.remove(&oldest);
            }
        }
    }

    /// Pools kept now: (provider origins, credential pools, Web Push origins).
    #[cfg(test)]
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.providers.len(),
            self.credentials.len(),
            self.web_push.len(),
        )
    }

    #[cfg(test)]
    pub fn web_push_origins_of(&self, tenant: &str) -> usize {
        self.held_by(tenant)
    }

    #[cfg(test)]
    pub fn holds_credential(&self, credential: &[u8; 32]) -> bool {
        self.credentials
            .keys()
            .any(|(_, _, held)| held == credential)
    }
}
