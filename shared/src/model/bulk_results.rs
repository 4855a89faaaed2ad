//! Per-device results of a bulk send (`GET .../notify/bulk/{batch_id}/results`):
//! the contract's rows, what a wave of the delivery worker records for them,
//! and a chunk's records merged.
//!
//! Delivered devices are not recorded with their token (a 4 KB FCM token
//! per push would cost more than the push): a wave records a 16-digit
//! digest of each (the one that makes redelivery skip them), and the
//! results name them by reading the user's devices from the registry. The
//! devices that did not get the push are recorded whole, in the wave where
//! their outcome became final: a dead token is gone from the registry by
//! the time anyone reads the results.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Platform, UserOutcome};

/// The digest by which progress items remember a device: 16 hex digits of
/// the token's SHA-256 (tokens can be 4 KiB; a chunk's digests must fit in
/// DynamoDB items).
pub fn token_digest(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

/// A result's outcome, and the endpoint's `outcome` filter. The derived
/// order is the strength of device outcomes: when two records of one device
/// disagree (a redelivery, two workers on one message), the first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultOutcome {
    /// The provider accepted the push.
    Delivered,
    /// The provider said the token is dead; it was removed from the registry.
    Removed,
    /// Not delivered: refused, or transient failures until the last receive.
    Failed,
    /// The user had no devices (one row per user, without a token).
    NoDevices,
}

impl ResultOutcome {
    pub const ALL: [ResultOutcome; 4] = [
        ResultOutcome::Delivered,
        ResultOutcome::Failed,
        ResultOutcome::Removed,
        ResultOutcome::NoDevices,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResultOutcome::Delivered => "delivered",
            ResultOutcome::Removed => "removed",
            ResultOutcome::Failed => "failed",
            ResultOutcome::NoDevices => "no_devices",
        }
    }

    /// The outcome the contract names `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// One row of the results (schema `BulkResult`). `token` and `platform`
/// are null for a row about the user rather than one of its devices
/// (`no_devices`, or a user that failed before any push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResult {
    pub user_id: String,
    pub token: Option<String>,
    pub platform: Option<Platform>,
    pub outcome: ResultOutcome,
    pub reason: Option<String>,
}

/// A page of results (schema `BulkResultList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResultList {
    pub results: Vec<BulkResult>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A device whose outcome became final without delivery (`removed` or
/// `failed`), as a wave records it. `user` is its user's position in the
/// chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub user: u32,
    pub token: String,
    pub platform: Platform,
    pub outcome: ResultOutcome,
    pub reason: String,
}

/// The reason of a user that failed without any push: the tenant had
/// used up its pushes of the day when the worker reached it.
pub const OVER_QUOTA: &str = "not sent: the tenant's pushes_per_day was used up";

/// The reason of a failed user with no device record (recorded before
/// results existed).
pub const NOT_ACCEPTED: &str = "no device accepted the push";

/// The reason of a delivered user none of whose devices is still
/// registered: the registry names delivered devices (see the module docs).
pub const UNREGISTERED_SINCE: &str = "delivered; its devices have been unregistered since";

/// Reasons are the providers' short codes or our own sentences; a longer
/// one is cut here so that it cannot bloat a progress item.
pub const MAX_REASON_CHARS: usize = 200;

/// `reason`, cut to [`MAX_REASON_CHARS`] characters.
pub fn bounded_reason(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

/// Everything a chunk's progress items recorded for its results, merged:
/// every item of the chunk (redeliveries, racing workers, an update split
/// over several items) adds to it, in any order, with the same result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkResults {
    /// Digests of the device tokens that accepted the push.
    pub delivered: HashSet<String>,
    /// Settled users, by position in the chunk, strongest outcome kept.
    pub settled: HashMap<u32, UserOutcome>,
    /// The ids of the users the records mention, by position.
    pub user_ids: BTreeMap<u32, String>,
    /// Why a user failed without any push (its pushes of the day used up).
    pub user_reasons: HashMap<u32, String>,
    /// Devices not delivered, by (user, token digest), strongest kept.
    pub devices: BTreeMap<(u32, String), DeviceRecord>,
}

impl ChunkResults {
    pub fn settle(&mut self, index: u32, outcome: UserOutcome) {
        let entry = self.settled.entry(index).or_insert(outcome);
        *entry = (*entry).min(outcome);
    }

    /// Adds a device record, keeping the stronger of two for one device
    /// (`removed` over `failed`).
    pub fn add_device(&mut self, digest: String, record: DeviceRecord) {
        match self.devices.entry((record.user, digest)) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(record);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                if record.outcome < slot.get().outcome {
                    slot.insert(record);
                }
            }
        }
    }

    /// The device records of user `index`, by token digest.
    pub fn devices_of(&self, index: u32) -> impl Iterator<Item = (&str, &DeviceRecord)> {
        self.devices
            .range((index, String::new())..)
            .take_while(move |((user, _), _)| *user == index)
            .map(|((_, digest), record)| (digest.as_str(), record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: u32, token: &str, outcome: ResultOutcome) -> DeviceRecord {
        DeviceRecord {
            user,
            token: token.to_owned(),
            platform: Platform::Ios,
            outcome,
            reason: format!("{outcome:?}"),
        }
    }

    #[test]
    fn a_device_recorded_twice_keeps_removed_over_failed_in_either_order() {
        for order in [
            [ResultOutcome::Failed, ResultOutcome::Removed],
            [ResultOutcome::Removed, ResultOutcome::Failed],
        ] {
            let mut merged = ChunkResults::default();
            for outcome in order {
                merged.add_device("d1".to_owned(), record(3, "t1", outcome));
            }
            merged.add_device("d2".to_owned(), record(4, "t2", ResultOutcome::Failed));
            let of_3: Vec<_> = merged.devices_of(3).collect();
            assert_eq!(of_3.len(), 1);
            assert_eq!(of_3[0].1.outcome, ResultOutcome::Removed);
            assert_eq!(merged.devices_of(4).count(), 1);
            assert_eq!(merged.devices_of(5).count(), 0);
        }
    }

    #[test]
    fn outcomes_parse_only_the_contract_s_four_names() {
        for outcome in ResultOutcome::ALL {
            assert_eq!(ResultOutcome::parse(outcome.as_str()), Some(outcome));
            let json = serde_json::to_value(outcome).unwrap_or_default();
            assert_eq!(json, outcome.as_str());
        }
        assert_eq!(ResultOutcome::parse("Delivered"), None);
        assert_eq!(ResultOutcome::parse("success"), None);
    }

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_REASON_CHARS + 5);
        assert_eq!(bounded_reason(&long).chars().count(), MAX_REASON_CHARS);
        assert_eq!(bounded_reason("Unregistered"), "Unregistered");
    }
}
