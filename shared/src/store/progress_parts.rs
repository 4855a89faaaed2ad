//! A wave's [`ProgressUpdate`] as progress items, each bounded in bytes:
//! DynamoDB items hold 400 KB, and one wave can hold a megabyte of device
//! tokens (FCM tokens run to 4 KB), every one of them failed.
//!
//! What the results need besides the worker's own sets travels in one
//! string attribute, `results`, of compact JSON arrays (a list of maps
//! would repeat every field name, and DynamoDB bills names too):
//! `{"u": [[index, user_id]...], "d": [[index, token, platform, outcome,
//! reason]...], "r": [[index, reason]...]}`.
//!
//! Parts are written in order, the users' settled markers last: should a
//! write fail half way, the users stay unsettled and the next attempt
//! records them again, rather than settling a user whose id or devices
//! were never written.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{DeviceRecord, Platform, ProgressUpdate, ResultOutcome, UserOutcome};

/// Bytes of records one progress item carries at most: well under
/// DynamoDB's 400 KB, leaving room for its keys and attribute names.
pub(super) const PART_BYTES: usize = 300 * 1024;

/// The item's `results` attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ResultsAttribute {
    /// (user index, user id) of every user the item mentions.
    #[serde(rename = "u", default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<(u32, String)>,
    /// Devices with a final outcome other than delivered.
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<(u32, String, Platform, ResultOutcome, String)>,
    /// Why a user failed without any push.
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<(u32, String)>,
}

impl ResultsAttribute {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.devices.is_empty() && self.reasons.is_empty()
    }

    /// The attribute's device records as the model has them.
    pub fn device_records(self) -> impl Iterator<Item = DeviceRecord> {
        self.devices
            .into_iter()
            .map(|(user, token, platform, outcome, reason)| DeviceRecord {
                user,
                token,
                platform,
                outcome,
                reason,
            })
    }
}

/// What one progress item records.
#[derive(Debug, Default)]
pub(super) struct Part {
    pub delivered: Vec<String>,
    pub settled: Vec<(u32, UserOutcome)>,
    pub results: ResultsAttribute,
    named: HashSet<u32>,
    bytes: usize,
}

impl Part {
    fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.settled.is_empty() && self.results.is_empty()
    }
}

/// Fills parts in order, starting a new one when the next entry would
/// pass the budget.
struct Packer<'u> {
    done: Vec<Part>,
    part: Part,
    budget: usize,
    ids: HashMap<u32, &'u str>,
}

/// JSON bytes of an entry of the `results` attribute, with its comma.
fn json_bytes(entry: &impl Serialize) -> usize {
    serde_json::to_vec(entry).map_or(0, |bytes| bytes.len()) + 1
}

/// A number in a number set: DynamoDB counts about one byte per two
/// digits plus one; a u32 never takes more than this.
const INDEX_BYTES: usize = 8;

impl<'u> Packer<'u> {
    /// Makes room for `bytes` more, naming user `index` in the part (its
    /// id is needed wherever it is mentioned).
    fn reserve(&mut self, bytes: usize, index: Option<u32>) {
        let naming = |part: &Part, ids: &HashMap<u32, &str>| match index {
            Some(index) if !part.named.contains(&index) => {
                ids.get(&index).map_or(0, |id| json_bytes(&(index, id)))
            }
            _ => 0,
        };
        let mut total = bytes + naming(&self.part, &self.ids);
        if self.part.bytes + total > self.budget && !self.part.is_empty() {
            self.done.push(std::mem::take(&mut self.part));
            total = bytes + naming(&self.part, &self.ids);
        }
        self.part.bytes += total;
        if let Some(index) = index {
            if let Some(id) = self.ids.get(&index) {
                if self.part.named.insert(index) {
                    self.part.results.users.push((index, (*id).to_owned()));
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Part> {
        if !self.part.is_empty() {
            self.done.push(self.part);
        }
        self.done
    }
}

/// `update` as parts of at most about `budget` bytes each, in the order
/// they are to be written: digests and device records first, settled
/// users (with their ids and reasons) last.
pub(super) fn split(update: &ProgressUpdate, budget: usize) -> Vec<Part> {
    let mut packer = Packer {
        done: Vec::new(),
        part: Part::default(),
        budget,
        ids: update
            .user_ids
            .iter()
            .map(|(index, id)| (*index, id.as_str()))
            .collect(),
    };
    let mut digests = update.delivered.clone();
    digests.sort_unstable();
    digests.dedup();
    for digest in digests {
        // Stored raw: half its hex length (see `store::digests`).
        packer.reserve(digest.len() / 2 + 1, None);
        packer.part.delivered.push(digest);
    }
    for device in &update.devices {
        let entry = (
            device.user,
            device.token.clone(),
            device.platform,
            device.outcome,
            device.reason.clone(),
        );
        packer.reserve(json_bytes(&entry), Some(device.user));
        packer.part.results.devices.push(entry);
    }
    let reasons: HashMap<u32, &str> = update
        .user_reasons
        .iter()
        .map(|(index, reason)| (*index, reason.as_str()))
        .collect();
    let mut settled = update.settled.clone();
    settled.sort_unstable();
    settled.dedup();
    for (index, outcome) in settled {
        let reason = reasons
            .get(&index)
            .map(|reason| (index, (*reason).to_owned()));
        let bytes = INDEX_BYTES + reason.as_ref().map_or(0, json_bytes);
        packer.reserve(bytes, Some(index));
        packer.part.settled.push((index, outcome));
        packer.part.results.reasons.extend(reason);
    }
    packer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceRecord;

    fn fcm_token(n: usize) -> String {
        format!("{n:08}:{}", "x".repeat(4087))
    }

    /// A wave of 100 users with 3 failed 4 KB tokens each, 20 delivered
    /// devices and a quota failure: 1.2 MB of records.
    fn big_update() -> ProgressUpdate {
        let mut update = ProgressUpdate {
            delivered: (0..20).map(|n| format!("{n:016x}")).collect(),
            ..ProgressUpdate::default()
        };
        for user in 0..100u32 {
            for device in 0..3 {
                update.devices.push(DeviceRecord {
                    user,
                    token: fcm_token(user as usize * 3 + device),
                    platform: Platform::Android,
                    outcome: ResultOutcome::Removed,
                    reason: "UNREGISTERED".to_owned(),
                });
            }
            update.settled.push((user, UserOutcome::Failed));
        }
        update.settled.push((100, UserOutcome::Failed));
        update.user_reasons.push((100, "over quota".to_owned()));
        let ids: Vec<String> = (0..101).map(|n| format!("user-{n}")).collect();
        update.name_users(&ids);
        update
    }

    fn stored_bytes(part: &Part) -> usize {
        let results = serde_json::to_vec(&part.results).map_or(0, |json| json.len());
        results + part.delivered.iter().map(|d| d.len()).sum::<usize>() + part.settled.len() * 8
    }

    #[test]
    fn four_kilobyte_tokens_are_split_into_items_under_the_budget_with_nothing_lost() {
        let update = big_update();
        let parts = split(&update, PART_BYTES);
        assert!(parts.len() >= 4, "1.2 MB in {} parts", parts.len());
        for part in &parts {
            assert!(stored_bytes(part) <= PART_BYTES, "{}", stored_bytes(part));
            // Every user a part mentions is named in it.
            for (user, ..) in &part.results.devices {
                assert!(part.results.users.iter().any(|(index, _)| index == user));
            }
            for (user, _) in &part.settled {
                assert!(part.results.users.iter().any(|(index, _)| index == user));
            }
        }
        let devices: usize = parts.iter().map(|part| part.results.devices.len()).sum();
        let settled: usize = parts.iter().map(|part| part.settled.len()).sum();
        let delivered: usize = parts.iter().map(|part| part.delivered.len()).sum();
        assert_eq!((devices, settled, delivered), (300, 101, 20));
        let reasons: Vec<_> = parts.iter().flat_map(|p| &p.results.reasons).collect();
        assert_eq!(reasons, vec![&(100, "over quota".to_owned())]);
    }

    #[test]
    fn users_are_settled_only_in_parts_after_all_their_devices() {
        let parts = split(&big_update(), PART_BYTES);
        let first_settled = parts.iter().position(|part| !part.settled.is_empty());
        let last_device = parts
            .iter()
            .rposition(|part| !part.results.devices.is_empty());
        assert!(
            first_settled >= last_device,
            "{first_settled:?} {last_device:?}"
        );
    }

    #[test]
    fn a_usual_wave_is_one_item() {
        let mut update = ProgressUpdate {
            delivered: (0..200).map(|n| format!("{n:016x}")).collect(),
            settled: (0..100).map(|n| (n, UserOutcome::Delivered)).collect(),
            ..ProgressUpdate::default()
        };
        let ids: Vec<String> = (0..100).map(|n| format!("user-{n:06}")).collect();
        update.name_users(&ids);
        let parts = split(&update, PART_BYTES);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].results.users.len(), 100);
        assert!(parts[0].results.devices.is_empty());
    }

    #[test]
    fn the_results_attribute_is_compact_json_arrays() {
        let attribute = ResultsAttribute {
            users: vec![(0, "alice".to_owned())],
            devices: vec![(
                0,
                "tok".to_owned(),
                Platform::Ios,
                ResultOutcome::Removed,
                "Unregistered".to_owned(),
            )],
            reasons: Vec::new(),
        };
        let json = serde_json::to_string(&attribute).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"u":[[0,"alice"]],"d":[[0,"tok","ios","removed","Unregistered"]]}"#
        );
        let back: ResultsAttribute = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, attribute);
    }
}
