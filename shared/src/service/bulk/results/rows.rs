//! One user's rows of a batch's results, from its chunk's merged records
//! and, for the devices that accepted the push, the user's devices in the
//! registry (delivered devices are recorded by digest only: see
//! `model::bulk_results`).
//!
//! Each device appears once, with its strongest outcome: delivered over
//! removed over failed (a redelivered chunk pushes a failed device again,
//! and two workers racing on one message record it twice).

use std::collections::BTreeMap;

use crate::model::bulk_results::{token_digest, NOT_ACCEPTED, UNREGISTERED_SINCE};
use crate::model::{BulkResult, ChunkResults, Device, ResultOutcome, UserOutcome};

/// Where a row sits among its user's rows: device rows in the order of
/// their token digests, then at most one row about the user itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum RowKey {
    Device(String),
    User,
}

impl RowKey {
    /// Whether the row comes after the device row with digest `after`.
    pub fn after(&self, after: Option<&str>) -> bool {
        match (self, after) {
            (RowKey::Device(digest), Some(after)) => digest.as_str() > after,
            _ => true,
        }
    }
}

fn row(
    user_id: &str,
    device: Option<(&str, crate::model::Platform)>,
    outcome: ResultOutcome,
    reason: Option<&str>,
) -> BulkResult {
    BulkResult {
        user_id: user_id.to_owned(),
        token: device.map(|(token, _)| token.to_owned()),
        platform: device.map(|(_, platform)| platform),
        outcome,
        reason: reason.map(str::to_owned),
    }
}

/// User `index`'s rows, in order. `registry` is the user's devices when
/// they were read (only when delivered rows are wanted): those whose
/// digest accepted the push are its delivered rows. A device unregistered
/// since is not among them; a delivered user left without any row gets one
/// without a token instead, so that every user still appears.
pub(super) fn user_rows(
    results: &ChunkResults,
    index: u32,
    user_id: &str,
    registry: Option<&[Device]>,
) -> Vec<(RowKey, BulkResult)> {
    let mut devices: BTreeMap<String, BulkResult> = BTreeMap::new();
    for device in registry.unwrap_or_default() {
        let digest = token_digest(&device.token);
        if results.delivered.contains(&digest) {
            let found = Some((device.token.as_str(), device.platform));
            devices.insert(digest, row(user_id, found, ResultOutcome::Delivered, None));
        }
    }
    for (digest, record) in results.devices_of(index) {
        devices.entry(digest.to_owned()).or_insert_with(|| {
            let found = Some((record.token.as_str(), record.platform));
            row(user_id, found, record.outcome, Some(&record.reason))
        });
    }
    let about_user = match (
        results.user_reasons.get(&index),
        results.settled.get(&index),
    ) {
        (Some(reason), _) => Some((ResultOutcome::Failed, Some(reason.as_str()))),
        _ if !devices.is_empty() => None,
        (None, Some(UserOutcome::NoDevices)) => Some((ResultOutcome::NoDevices, None)),
        (None, Some(UserOutcome::Failed)) => Some((ResultOutcome::Failed, Some(NOT_ACCEPTED))),
        (None, Some(UserOutcome::Delivered)) => {
            Some((ResultOutcome::Delivered, Some(UNREGISTERED_SINCE)))
        }
        // Not settled yet: its rows come once its devices' outcomes do.
        (None, None) => None,
    };
    let mut rows: Vec<(RowKey, BulkResult)> = devices
        .into_iter()
        .map(|(digest, row)| (RowKey::Device(digest), row))
        .collect();
    if let Some((outcome, reason)) = about_user {
        rows.push((RowKey::User, row(user_id, None, outcome, reason)));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceRecord, Platform};

    fn device(token: &str, platform: Platform) -> Device {
        Device {
            token: token.to_owned(),
            user_id: "u".to_owned(),
            platform,
            token_type: Default::default(),
            app_version: None,
            created_at: String::new(),
            updated_at: String::new(),
            web_push_keys: None,
        }
    }

    fn record(user: u32, token: &str, outcome: ResultOutcome, reason: &str) -> DeviceRecord {
        DeviceRecord {
            user,
            token: token.to_owned(),
            platform: Platform::Android,
            outcome,
            reason: reason.to_owned(),
        }
    }

    fn summary(
        rows: &[(RowKey, BulkResult)],
    ) -> Vec<(Option<String>, ResultOutcome, Option<String>)> {
        rows.iter()
            .map(|(_, row)| (row.token.clone(), row.outcome, row.reason.clone()))
            .collect()
    }

    #[test]
    fn each_device_appears_once_with_its_strongest_outcome() {
        let mut results = ChunkResults::default();
        results.settle(0, UserOutcome::Failed);
        results.settle(0, UserOutcome::Delivered);
        // Failed on the first attempt, delivered on the redelivery.
        results.add_device(
            token_digest("a"),
            record(0, "a", ResultOutcome::Failed, "BadTopic"),
        );
        results.delivered.insert(token_digest("a"));
        // Failed, then found dead by a racing worker.
        results.add_device(
            token_digest("b"),
            record(0, "b", ResultOutcome::Failed, "x"),
        );
        results.add_device(
            token_digest("b"),
            record(0, "b", ResultOutcome::Removed, "UNREGISTERED"),
        );
        let registry = [device("a", Platform::Android), device("c", Platform::Ios)];
        let rows = user_rows(&results, 0, "alice", Some(&registry));
        let mut expected = vec![
            (Some("a".to_owned()), ResultOutcome::Delivered, None),
            (
                Some("b".to_owned()),
                ResultOutcome::Removed,
                Some("UNREGISTERED".to_owned()),
            ),
        ];
        expected.sort_by_key(|(token, ..)| token_digest(token.as_deref().unwrap_or_default()));
        assert_eq!(summary(&rows), expected, "c never accepted: not listed");
        assert!(
            rows.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "in key order"
        );
        assert!(rows.iter().all(|(_, row)| row.user_id == "alice"));
    }

    #[test]
    fn rows_about_the_user_itself_come_last_and_only_when_needed() {
        let mut results = ChunkResults::default();
        results.settle(1, UserOutcome::NoDevices);
        results.settle(2, UserOutcome::Failed);
        results.user_reasons.insert(2, "over quota".to_owned());
        results.add_device(
            token_digest("d"),
            record(2, "d", ResultOutcome::Removed, "gone"),
        );
        results.settle(3, UserOutcome::Delivered);
        results.delivered.insert(token_digest("unregistered since"));
        results.settle(4, UserOutcome::Failed);

        let no_devices = user_rows(&results, 1, "u1", Some(&[]));
        assert_eq!(
            summary(&no_devices),
            vec![(None, ResultOutcome::NoDevices, None)]
        );
        assert_eq!(no_devices[0].1.platform, None);

        let over_quota = user_rows(&results, 2, "u2", None);
        assert_eq!(
            summary(&over_quota),
            vec![
                (
                    Some("d".to_owned()),
                    ResultOutcome::Removed,
                    Some("gone".to_owned())
                ),
                (None, ResultOutcome::Failed, Some("over quota".to_owned())),
            ]
        );
        assert_eq!(over_quota[1].0, RowKey::User);

        let gone = user_rows(&results, 3, "u3", Some(&[]));
        assert_eq!(
            summary(&gone),
            vec![(
                None,
                ResultOutcome::Delivered,
                Some(UNREGISTERED_SINCE.to_owned())
            )]
        );
        let unexplained = user_rows(&results, 4, "u4", Some(&[]));
        assert_eq!(
            summary(&unexplained),
            vec![(None, ResultOutcome::Failed, Some(NOT_ACCEPTED.to_owned()))]
        );
        assert!(user_rows(&results, 9, "unsettled", Some(&[])).is_empty());
    }

    #[test]
    fn row_keys_resume_after_a_device_digest() {
        let key = RowKey::Device("0000000000000005".to_owned());
        assert!(key.after(None));
        assert!(key.after(Some("0000000000000004")));
        assert!(!key.after(Some("0000000000000005")));
        assert!(RowKey::User.after(Some("ffffffffffffffff")));
    }
}
