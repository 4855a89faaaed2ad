//! Per-key rate limits: each request made with an API key is counted in the
//! key's usage window item (one conditional write that both counts and
//! limits, see `store::key_windows`), and its answer carries the IETF
//! `RateLimit-Policy` / `RateLimit` fields.
//!
//! A container keeps a bounded note per key: the key's last window (so the
//! first write is the right shape) and, once a window is full, until when
//! the key is throttled. Requests refused in that time cost no write: they
//! are counted in the note and carried into the key's next counted request,
//! so a hostile key's flood costs at most one write per container per second.

mod activity;
mod fields;
mod notes;
mod tenants;

pub use activity::{passes_sample, ActivitySample, KeyActivityWatch};
pub use fields::{
    collect_metering, metered_key_id, note_activity_sample, note_pushes, note_rate_fields,
    note_tenant_throttled, Metered, RateFields,
};
pub use tenants::{seconds_to_midnight, TenantLimiter};

use std::sync::Mutex;

use crate::clock::Clock;

use crate::error::{Error, Result};
use crate::store::{Store, UsageDelta, WindowOutcome};
use notes::{KeyNote, Notes};

/// What recording a request's outcome needs: the store and the container's
/// limiter (`App::meter`), without the rest of `App`.
#[derive(Clone, Copy)]
pub struct Meter<'a> {
    pub store: &'a Store,
    pub limiter: &'a RateLimiter,
    pub tenants: &'a TenantLimiter,
    /// Told of a key's hour passing a sample point, when installed.
    pub watch: Option<&'a dyn KeyActivityWatch>,
}

/// The per-container part of rate limiting (see the module docs).
#[derive(Default)]
pub struct RateLimiter {
    notes: Mutex<Notes>,
    /// Windows and usage hours are read on this clock: the wall clock in
    /// production, a manual one in tests (which set the time, not race it).
    clock: Clock,
}

impl RateLimiter {
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

    /// Counts one request of `key_id` now against `limit` per second: its
    /// rate fields, or 429 `rate_limited` (the fields are noted for the
    /// answer either way). `Some(hour's requests, now)` when this request's
    /// write passed one of the hour's sample points (see `activity`).
    pub async fn admit(
        &self,
        store: &Store,
        key_id: &str,
        limit: u32,
    ) -> Result<Option<(u64, i64)>> {
        let now = self.now();
        let Some((joined, delta)) = self.before_write(key_id, now) else {
            return Err(refuse(key_id, RateFields::exhausted(limit, 1)));
        };
        let outcome = store
            .count_key_request(key_id, now, limit, joined, delta)
            .await;
        match outcome {
            Ok(WindowOutcome::Admitted {
                window,
                used,
                hour_requests,
            }) => {
                self.update(key_id, |note| {
                    note.window = window;
                    first_sight(note, now);
                });
                note_rate_fields(key_id, RateFields::after(limit, used));
                let added = u64::from(delta.requests.saturating_add(1));
                let before = hour_requests.saturating_sub(added);
                Ok(passes_sample(before, hour_requests).then_some((hour_requests, now)))
            }
            Ok(WindowOutcome::Full { window }) => {
                // Nothing was written: this request and the carried counts
                // wait in the note for the key's next counted request.
                self.update(key_id, |note| {
                    first_sight(note, now);
                    note.window = window;
                    note.throttled_until = window.saturating_add(1);
                    note.carry(delta, now);
                    note.carry(THROTTLED, now);
                });
                let reset = window.saturating_add(1).saturating_sub(now).max(1);
                Err(refuse(key_id, RateFields::exhausted(limit, reset)))
            }
            Err(err) => {
                self.update(key_id, |note| note.carry(delta, now));
                Err(err)
            }
        }
    }

    /// `None` when the container knows the key is throttled (the request
    /// is counted in the note); otherwise the window to join, if the note
    /// says it is this second's, and the counts to carry into the write.
    fn before_write(&self, key_id: &str, now: i64) -> Option<(Option<i64>, UsageDelta)> {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(note) = notes.get_mut(key_id, now) else {
            return Some((None, UsageDelta::default()));
        };
        note.seen(now);
        if note.throttled_until > now {
            note.carry(THROTTLED, now);
            return None;
        }
        let joined = (note.window == now).then_some(now);
        Some((joined, note.take()))
    }

    /// Counts an answered request's outcome (`rejected`, `pushes`...):
    /// carried by the key's next counted request, or written now when the
    /// key is quiet or the counts have waited long enough (see
    /// [`KeyNote::flush_now`]). Failures are logged: usage is bookkeeping.
    pub async fn record_outcome(&self, store: &Store, key_id: &str, outcome: UsageDelta) {
        let now = self.now();
        let mut due = UsageDelta::default();
        self.update(key_id, |note| {
            note.carry(outcome, now);
            if note.flush_now(now) {
                due = note.take();
            }
        });
        let mut writes = self.take_due(now);
        if !due.is_empty() {
            writes.push((key_id.to_owned(), due));
        }
        for (key_id, due) in writes {
            if let Err(err) = store.add_key_usage(&key_id, now, due).await {
                tracing::warn!(key_id, error = %err, "could not record API key usage");
                self.update(&key_id, |note| note.carry(due, now));
            }
        }
    }

    /// Other keys' counts held long enough (see [`Notes::take_due`]).
    fn take_due(&self, now: i64) -> Vec<(String, UsageDelta)> {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        notes.take_due(now)
    }

    fn update(&self, key_id: &str, change: impl FnOnce(&mut KeyNote)) {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        notes.update(key_id, change);
    }
}

/// A note made by this request: the key was not seen here before, so it
/// counts as quiet.
fn first_sight(note: &mut KeyNote, now: i64) {
    if note.last_seen == 0 {
        note.seen(now);
    }
}

/// A request refused for the key's rate; its 4xx is counted with the answer.
const THROTTLED: UsageDelta = UsageDelta {
    requests: 1,
    throttled: 1,
    rejected: 0,
    pushes: 0,
    pushes_failed: 0,
};

fn refuse(key_id: &str, fields: RateFields) -> Error {
    note_rate_fields(key_id, fields);
    Error::RateLimited {
        detail: format!(
            "this API key is over its rate limit of {} requests per second; retry after {} s",
            fields.limit, fields.reset_secs
        ),
        retry_after_secs: fields.reset_secs,
    }
}
