//! The container's notes on keys, bounded: when full, notes of keys idle
//! for a while are dropped; if none is, a new key gets no note (its
//! requests then write every time, which is correct, only not the cheapest).
//! No key can evict another key's note.

use std::collections::HashMap;

use crate::store::UsageDelta;

/// Keys a container keeps notes on (a note is under 100 bytes).
const MAX_NOTES: usize = 10_000;
/// A note idle this long (seconds) may be dropped to make room.
const IDLE_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct KeyNote {
    /// The second of the key's last window seen.
    pub window: i64,
    /// Requests are refused without a write until this second.
    pub throttled_until: i64,
    /// Counts not written yet, and since when.
    pub pending: UsageDelta,
    pub pending_since: i64,
    /// The second of the key's latest request here, and whether the one
    /// before it was long before (a quiet key: see [`KeyNote::flush_now`]).
    pub last_seen: i64,
    pub quiet: bool,
}

/// A key whose requests come further apart than this (seconds) is quiet.
const QUIET_SECS: i64 = 10;

/// Other keys' held counts written with one answer at most: bounds the
/// writes a request adds, while counts held since `QUIET_SECS` still
/// reach the store with the container's next answers.
pub(super) const FLUSH_OTHERS: usize = 4;

impl KeyNote {
    pub fn carry(&mut self, delta: UsageDelta, now: i64) {
        if delta.is_empty() {
            return;
        }
        if self.pending.is_empty() {
            self.pending_since = now;
        }
        self.pending.add(delta);
    }

    pub fn take(&mut self) -> UsageDelta {
        std::mem::take(&mut self.pending)
    }

    /// A request of the key arrives at `now`.
    pub fn seen(&mut self, now: i64) {
        self.quiet = now.saturating_sub(self.last_seen) >= QUIET_SECS;
        self.last_seen = now;
    }

    /// Whether pending counts are written now rather than carried by the
    /// key's next request: a quiet key's next request may be far off, and
    /// counts held `QUIET_SECS` are due. A busy key's counts ride on its
    /// next request's write (no write of their own).
    pub fn flush_now(&self, now: i64) -> bool {
        self.quiet && !self.pending.is_empty() || self.held_long(now)
    }

    /// Counts are pending since `QUIET_SECS` or longer.
    pub fn held_long(&self, now: i64) -> bool {
        !self.pending.is_empty() && now.saturating_sub(self.pending_since) >= QUIET_SECS
    }
}

#[derive(Default)]
pub(super) struct Notes {
    notes: HashMap<String, KeyNote>,
}

impl Notes {
    pub fn get_mut(&mut self, key_id: &str, _now: i64) -> Option<&mut KeyNote> {
        self.notes.get_mut(key_id)
    }

    /// Up to [`FLUSH_OTHERS`] keys' counts held `QUIET_SECS` or longer,
    /// taken out of their notes to be written (a key whose requests
    /// stopped would otherwise hold them until the container ends).
    pub fn take_due(&mut self, now: i64) -> Vec<(String, UsageDelta)> {
        self.notes
            .iter_mut()
            .filter(|(_, note)| note.held_long(now))
            .take(FLUSH_OTHERS)
            .map(|(key_id, note)| (key_id.clone(), note.take()))
            .collect()
    }

    pub fn update(&mut self, key_id: &str, change: impl FnOnce(&mut KeyNote)) {
        if let Some(note) = self.notes.get_mut(key_id) {
            change(note);
            return;
        }
        if self.notes.len() >= MAX_NOTES {
            let newest = self
                .notes
                .values()
                .map(|note| note.window)
                .max()
                .unwrap_or(0);
            // Idle notes with uncounted requests are dropped too: a bounded
            // loss of usage counts, never of limits.
            self.notes
                .retain(|_, note| note.window > newest.saturating_sub(IDLE_SECS));
            if self.notes.len() >= MAX_NOTES {
                return;
            }
        }
        let mut note = KeyNote::default();
        change(&mut note);
        self.notes.insert(key_id.to_owned(), note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_drops_idle_notes_and_never_a_busy_one() {
        let mut notes = Notes::default();
        for index in 0..MAX_NOTES {
            let window = if index == 0 { 1_000 } else { 1 };
            notes.update(&format!("key_{index}"), |note| note.window = window);
        }
        notes.update("key_new", |note| note.window = 1_000);
        assert!(notes.get_mut("key_0", 1_000).is_some());
        assert!(notes.get_mut("key_new", 1_000).is_some());
        assert!(notes.get_mut("key_1", 1_000).is_none());
    }

    #[test]
    fn counts_held_ten_seconds_are_taken_a_few_keys_at_a_time() {
        let mut notes = Notes::default();
        let held = UsageDelta {
            rejected: 1,
            ..UsageDelta::default()
        };
        for index in 0..6 {
            notes.update(&format!("key_{index}"), |note| {
                note.seen(100);
                note.seen(101);
                note.carry(held, 101);
            });
        }
        assert!(notes.take_due(105).is_empty(), "held under ten seconds");
        let due = notes.take_due(111);
        assert_eq!(due.len(), FLUSH_OTHERS);
        assert!(due.iter().all(|(_, delta)| *delta == held));
        assert_eq!(notes.take_due(111).len(), 6 - FLUSH_OTHERS);
        assert!(notes.take_due(200).is_empty(), "nothing is taken twice");
    }

    #[test]
    fn a_full_map_of_busy_keys_takes_no_new_note() {
        let mut notes = Notes::default();
        for index in 0..MAX_NOTES {
            notes.update(&format!("key_{index}"), |note| note.window = 1_000);
        }
        notes.update("key_new", |note| note.window = 1_000);
        assert!(notes.get_mut("key_new", 1_000).is_none());
        assert!(notes.get_mut("key_5", 1_000).is_some());
    }
}
