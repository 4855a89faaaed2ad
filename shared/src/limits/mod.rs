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

mod fields;
mod notes;

pub use fields::{collect_rate_fields, note_rate_fields, RateFields};

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::store::{Store, UsageDelta, WindowOutcome};
use notes::{KeyNote, Notes};

/// The per-container part of rate limiting (see the module docs).
#[derive(Default)]
pub struct RateLimiter {
    notes: Mutex<Notes>,
}

impl RateLimiter {
    /// Counts one request of `key_id` at `now` (epoch seconds) against
    /// `limit` per second: its rate fields, or 429 `rate_limited` (the
    /// fields are noted for the answer either way).
    pub async fn admit(&self, store: &Store, key_id: &str, limit: u32, now: i64) -> Result<()> {
        let Some((joined, delta)) = self.before_write(key_id, now) else {
            return Err(refuse(RateFields::exhausted(limit, 1)));
        };
        let outcome = store
            .count_key_request(key_id, now, limit, joined, delta)
            .await;
        match outcome {
            Ok(WindowOutcome::Admitted { window, used }) => {
                self.update(key_id, |note| note.window = window);
                let fields = RateFields::after(limit, used);
                note_rate_fields(fields);
                Ok(())
            }
            Ok(WindowOutcome::Full { window }) => {
                // Nothing was written: this request and the carried counts
                // wait in the note for the key's next counted request.
                self.update(key_id, |note| {
                    note.window = window;
                    note.throttled_until = window.saturating_add(1);
                    note.carry(delta);
                    note.carry(UsageDelta {
                        requests: 1,
                        throttled: 1,
                    });
                });
                let reset = window.saturating_add(1).saturating_sub(now).max(1);
                Err(refuse(RateFields::exhausted(limit, reset)))
            }
            Err(err) => {
                self.update(key_id, |note| note.carry(delta));
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
        if note.throttled_until > now {
            note.carry(UsageDelta {
                requests: 1,
                throttled: 1,
            });
            return None;
        }
        let joined = (note.window == now).then_some(now);
        Some((joined, note.take()))
    }

    fn update(&self, key_id: &str, change: impl FnOnce(&mut KeyNote)) {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        notes.update(key_id, change);
    }
}

fn refuse(fields: RateFields) -> Error {
    note_rate_fields(fields);
    Error::RateLimited {
        detail: format!(
            "this API key is over its rate limit of {} requests per second; retry after {} s",
            fields.limit, fields.reset_secs
        ),
        retry_after_secs: fields.reset_secs,
    }
}
