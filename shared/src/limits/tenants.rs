//! Per-tenant limits in a function instance: requests per second of all
//! the tenant's keys together, and pushes per UTC day.
//!
//! Requests: the instance leases a slice of the tenant's current second
//! from its day item (`store::tenant_days`) and spends it in memory, so a
//! busy tenant costs a few writes per instance and second, not one per
//! request. A lease starts at one request each second and doubles with
//! each further lease in that second, up to a tenth of the limit: what an
//! instance leases and does not spend lapses with the second, so a tenant
//! at its limit may be admitted somewhat under it, never over.
//!
//! A tenant whose keys' own limits add up to no more than its limit cannot
//! exceed it: its requests take no lease (`store::key_rates`).
//!
//! Pushes: each lease returns the day's total, and an instance without a
//! lease this second reads it, so an instance knows it to within about a
//! second; sends are refused with 429 `quota_exceeded` once it reaches
//! `pushes_per_day`. Single sends' pushes are held and written together
//! (see [`TenantLimiter::record_pushes`]); the worker adds its own per
//! message and stops a bulk send's chunk when the quota is used up.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::limits::fields::note_tenant_throttled;
use crate::store::{Store, TenantLease};

/// A lease is at most this share of the tenant's limit.
const LEASE_SHARE: u32 = 10;
/// Tenants an instance keeps notes on; idle ones make room.
const MAX_NOTES: usize = 10_000;
const IDLE_SECS: i64 = 60;
const DAY_SECS: i64 = 24 * 3600;
/// Single sends' pushes are held at most this long (seconds), and a tenant
/// whose sends come further apart is quiet (its pushes are written at once).
const HOLD_SECS: i64 = 10;
/// Other tenants' held pushes written with one send at most.
const FLUSH_OTHERS: usize = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TenantNote {
    /// The second of the instance's lease, what is left of it and its size.
    window: i64,
    left: u32,
    lease: u32,
    /// Requests are refused without a write until this second.
    throttled_until: i64,
    /// The UTC day (days since the epoch) of `pushes`, the day's total as
    /// last learnt, and the second it was learnt.
    day: i64,
    pushes: u64,
    pushes_at: i64,
    /// Pushes of single sends not written yet, since when, and when the
    /// tenant's last single send pushed (a quiet tenant's are written at
    /// once: its next send may be far off).
    pending: u32,
    pending_since: i64,
    last_pushed: i64,
}

/// The per-instance part of tenant limits (see the module docs).
#[derive(Default)]
pub struct TenantLimiter {
    notes: Mutex<HashMap<String, TenantNote>>,
    clock: Clock,
}

/// What a request does about the tenant's rate.
enum Step {
    Admitted,
    Refused {
        reset_secs: i64,
    },
    /// Lease this many, joining the second the instance last leased when
    /// it is this one (else opening a new one): a guess that saves a write.
    Lease {
        lease: u32,
        join: bool,
    },
}

impl TenantLimiter {
    pub fn new(clock: Clock) -> Self {
        Self {
            notes: Mutex::default(),
            clock,
        }
    }

    /// The limiter's time, epoch seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_epoch_secs()
    }

    /// Counts one request of the tenant against `limit` per second: 429
    /// `rate_limited` when over it.
    pub async fn admit(&self, store: &Store, tenant_id: &str, limit: u32) -> Result<()> {
        let now = self.now();
        let (lease, join) = match self.step(tenant_id, now, limit) {
            Step::Admitted => return Ok(()),
            Step::Refused { reset_secs } => return Err(refuse(limit, reset_secs)),
            Step::Lease { lease, join } => (lease, join),
        };
        match store
            .lease_tenant_requests(tenant_id, now, limit, lease, join)
            .await?
        {
            TenantLease::Granted {
                window,
                granted,
                pushes,
            } => {
                self.update(tenant_id, |note| {
                    note.window = window;
                    note.left = granted.saturating_sub(1);
                    note.lease = granted;
                    note.learn_pushes(now, pushes);
                });
                Ok(())
            }
            TenantLease::Full { window, pushes } => {
                self.update(tenant_id, |note| {
                    note.window = window;
                    note.left = 0;
                    note.throttled_until = window.saturating_add(1);
                    note.learn_pushes(now, pushes);
                });
                Err(refuse(limit, window.saturating_add(1).saturating_sub(now)))
            }
        }
    }

    fn step(&self, tenant_id: &str, now: i64, limit: u32) -> Step {
        let mut notes = self.lock();
        let Some(note) = notes.get_mut(tenant_id) else {
            return Step::Lease {
                lease: 1,
                join: false,
            };
        };
        if note.throttled_until > now {
            return Step::Refused {
                reset_secs: note.throttled_until.saturating_sub(now),
            };
        }
        if note.window == now && note.left > 0 {
            note.left -= 1;
            return Step::Admitted;
        }
        let cap = (limit / LEASE_SHARE).max(1);
        let join = note.window == now;
        let lease = if join {
            note.lease.saturating_mul(2).clamp(1, cap)
        } else {
            1
        };
        Step::Lease { lease, join }
    }

    /// 429 `quota_exceeded` when the tenant's pushes of the day reached
    /// `pushes_per_day`: as this instance learnt them this second (a
    /// lease), else read (a user token's send takes no lease).
    pub async fn check_push_quota(
        &self,
        store: &Store,
        tenant_id: &str,
        pushes_per_day: u32,
    ) -> Result<()> {
        let now = self.now();
        // Learnt this second (a lease or an earlier check), or read again.
        let known = self
            .lock()
            .get(tenant_id)
            .filter(|note| note.day == day_of(now) && note.pushes_at >= now)
            .map(|note| note.pushes);
        let pushes = match known {
            Some(pushes) => pushes,
            None => {
                let pushes = store.tenant_pushes_today(tenant_id, now).await?;
                self.update(tenant_id, |note| note.learn_pushes(now, pushes));
                pushes
            }
        };
        let pending = self
            .lock()
            .get(tenant_id)
            .map_or(0, |note| u64::from(note.pending));
        let pushes = pushes.saturating_add(pending);
        if pushes < u64::from(pushes_per_day) {
            return Ok(());
        }
        let reset_secs = seconds_to_midnight(now);
        Err(Error::QuotaExceeded {
            detail: format!(
                "this tenant used up its `pushes_per_day` of {pushes_per_day} pushes; \
                 the quota resets at midnight UTC, in {reset_secs} s"
            ),
            retry_after_secs: u64::try_from(reset_secs).unwrap_or(1),
        })
    }

    /// Counts a single send's pushes in the tenant's day: written at once
    /// for a quiet tenant, else held and written with others when held
    /// [`HOLD_SECS`] (a busy sender pays a write per instance every ten
    /// seconds, not one per send). Held pushes count in this instance's
    /// quota checks at once. Up to [`FLUSH_OTHERS`] other tenants' pushes
    /// held that long are written with it. Failures are logged and the
    /// pushes held again: the pushes were made.
    pub async fn record_pushes(&self, store: &Store, tenant_id: &str, pushes: u32) {
        let now = self.now();
        let mut due = Vec::new();
        if pushes > 0 {
            let noted = self.update(tenant_id, |note| {
                let quiet = now.saturating_sub(note.last_pushed) >= HOLD_SECS;
                note.last_pushed = now;
                note.hold(pushes, now);
                if quiet || note.held_long(now) {
                    due.push((tenant_id.to_owned(), note.take_pending()));
                }
            });
            // No room for a note (every other one busy): written at once.
            if !noted {
                due.push((tenant_id.to_owned(), (pushes, now)));
            }
        }
        due.extend(self.take_due(now));
        for (tenant_id, (pushes, at)) in due {
            self.add_pushes_at(store, &tenant_id, pushes, at).await;
        }
    }

    /// Writes the pushes other tenants held [`HOLD_SECS`] or longer (a few
    /// at a time): with any answer, so that a tenant whose sends stopped
    /// still has them counted.
    pub async fn flush_due(&self, store: &Store) {
        let due = self.take_due(self.now());
        for (tenant_id, (pushes, at)) in due {
            self.add_pushes_at(store, &tenant_id, pushes, at).await;
        }
    }

    /// Adds `pushes` to the tenant's day now (the worker's, per message).
    pub async fn add_pushes(&self, store: &Store, tenant_id: &str, pushes: u32) {
        self.add_pushes_at(store, tenant_id, pushes, self.now())
            .await;
    }

    /// Adds `pushes` made at `at` to the tenant's day of `at` (held pushes
    /// written after midnight count in the day they were made).
    async fn add_pushes_at(&self, store: &Store, tenant_id: &str, pushes: u32, at: i64) {
        if pushes == 0 {
            return;
        }
        let now = self.now();
        match store.add_tenant_pushes(tenant_id, at, pushes).await {
            Ok(total) if day_of(at) == day_of(now) => {
                self.update(tenant_id, |note| note.learn_pushes(now, total));
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err.cause_chain(), "could not count the tenant's pushes");
                self.update(tenant_id, |note| note.hold(pushes, at));
            }
        }
    }

    /// Up to [`FLUSH_OTHERS`] tenants' pushes held [`HOLD_SECS`] or longer,
    /// each with when the holding began.
    fn take_due(&self, now: i64) -> Vec<(String, (u32, i64))> {
        self.lock()
            .iter_mut()
            .filter(|(_, note)| note.held_long(now))
            .take(FLUSH_OTHERS)
            .map(|(tenant_id, note)| (tenant_id.clone(), note.take_pending()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TenantNote>> {
        self.notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the tenant's note, made when absent; `false` when there is
    /// no room for it (every other note active within [`IDLE_SECS`]).
    fn update(&self, tenant_id: &str, change: impl FnOnce(&mut TenantNote)) -> bool {
        let mut notes = self.lock();
        if let Some(note) = notes.get_mut(tenant_id) {
            change(note);
            return true;
        }
        if notes.len() >= MAX_NOTES {
            let newest = notes.values().map(TenantNote::active_at).max().unwrap_or(0);
            // Idle notes go, held pushes with them: a bounded loss of
            // counts, never of limits.
            notes.retain(|_, note| note.active_at() > newest.saturating_sub(IDLE_SECS));
            if notes.len() >= MAX_NOTES {
                return false;
            }
        }
        let mut note = TenantNote::default();
        change(&mut note);
        notes.insert(tenant_id.to_owned(), note);
        true
    }
}

impl TenantNote {
    fn hold(&mut self, pushes: u32, now: i64) {
        if self.pending == 0 {
            self.pending_since = now;
        }
        self.pending = self.pending.saturating_add(pushes);
    }

    /// The held pushes, and when holding them began; none are left.
    fn take_pending(&mut self) -> (u32, i64) {
        (std::mem::take(&mut self.pending), self.pending_since)
    }

    /// The note's last use: a lease, a learnt total or a send's pushes.
    fn active_at(&self) -> i64 {
        self.window.max(self.pushes_at).max(self.last_pushed)
    }

    fn held_long(&self, now: i64) -> bool {
        self.pending > 0 && now.saturating_sub(self.pending_since) >= HOLD_SECS
    }

    /// The day's total as a write returned it: never lowered by a read
    /// older than one already learnt, reset by a new day.
    fn learn_pushes(&mut self, now: i64, total: u64) {
        self.pushes_at = now;
        let today = day_of(now);
        if self.day != today {
            self.day = today;
            self.pushes = total;
        } else {
            self.pushes = self.pushes.max(total);
        }
    }
}

fn day_of(now: i64) -> i64 {
    now.div_euclid(DAY_SECS)
}

/// Seconds from `now` to the next midnight UTC, at least 1.
pub fn seconds_to_midnight(now: i64) -> i64 {
    (DAY_SECS - now.rem_euclid(DAY_SECS)).max(1)
}

fn refuse(limit: u32, reset_secs: i64) -> Error {
    note_tenant_throttled();
    let reset_secs = reset_secs.max(1);
    Error::RateLimited {
        detail: format!(
            "this tenant is over its limit of {limit} requests per second (all its API keys \
             together); retry after {reset_secs} s"
        ),
        retry_after_secs: u64::try_from(reset_secs).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_double_within_a_second_up_to_a_tenth_of_the_limit_and_restart_at_one() {
        let limiter = TenantLimiter::default();
        assert!(matches!(
            limiter.step("t", 100, 100),
            Step::Lease {
                lease: 1,
                join: false
            }
        ));
        for (lease, next) in [(1, 2), (2, 4), (4, 8), (8, 10), (10, 10)] {
            limiter.update("t", |note| {
                note.window = 100;
                note.lease = lease;
                note.left = 0;
            });
            assert!(
                matches!(limiter.step("t", 100, 100), Step::Lease { lease, join: true } if lease == next),
                "after {lease}"
            );
        }
        assert!(matches!(
            limiter.step("t", 101, 100),
            Step::Lease {
                lease: 1,
                join: false
            }
        ));
        limiter.update("t", |note| {
            note.window = 101;
            note.left = 2;
        });
        assert!(matches!(limiter.step("t", 101, 100), Step::Admitted));
        assert!(matches!(limiter.step("t", 101, 100), Step::Admitted));
        assert!(matches!(limiter.step("t", 101, 100), Step::Lease { .. }));
        limiter.update("t", |note| note.throttled_until = 102);
        assert!(matches!(
            limiter.step("t", 101, 100),
            Step::Refused { reset_secs: 1 }
        ));
    }

    #[test]
    fn a_full_map_drops_notes_idle_by_any_use_and_says_when_none_is() {
        let limiter = TenantLimiter::default();
        for n in 0..MAX_NOTES {
            let at = if n == 0 { 1 } else { 1_000 };
            // Notes of sends only (no lease): their window stays 0.
            assert!(limiter.update(&format!("t{n}"), |note| note.last_pushed = at));
        }
        assert!(limiter.update("new", |note| note.pushes_at = 1_000));
        assert!(
            limiter.lock().get("t0").is_none(),
            "the idle note made room"
        );
        assert!(limiter.lock().get("t1").is_some(), "a busy one stays");
        assert!(
            !limiter.update("newer", |note| note.pushes_at = 1_000),
            "no idle note left: the caller is told"
        );
    }

    #[test]
    fn the_push_total_learnt_never_goes_down_within_a_day_and_restarts_with_the_next() {
        let mut note = TenantNote::default();
        let noon = 1_796_601_600 + 12 * 3600;
        note.learn_pushes(noon, 10);
        note.learn_pushes(noon, 3);
        assert_eq!(note.pushes, 10, "an older total never lowers it");
        note.learn_pushes(noon + DAY_SECS, 3);
        assert_eq!((note.day, note.pushes), (day_of(noon + DAY_SECS), 3));
        assert_eq!(seconds_to_midnight(noon), 12 * 3600);
        assert_eq!(seconds_to_midnight(noon + 12 * 3600 - 1), 1);
    }
}
