//! Bulk sends: the request, the immediate answer and the progress report;
//! and a chunk's progress (one queue message of a batch) as the delivery
//! worker records it, wave by wave.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{AudienceSource, DeviceRecord, WithNotification};

/// The request's own fields; the notification fields sit next to them in
/// the same JSON object (see [`WithNotification`]). Exactly one audience
/// (`model::audience::audience_of`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkTarget {
    #[serde(default)]
    pub user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub all_users: Option<bool>,
    /// RFC 3339; up to 30 days ahead.
    #[serde(default)]
    pub send_at: Option<String>,
}

/// `POST /tenants/{tenant_id}/notify/bulk` (schema `BulkNotificationRequest`).
pub type BulkNotificationRequest = WithNotification<BulkTarget>;

/// The answer to a bulk send (schema `BulkNotificationResponse`): the users
/// are queued, nothing is delivered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkNotificationResponse {
    pub batch_id: String,
    /// Distinct user ids in the request; null for a topic or all users
    /// until the audience has been read (the status then reports it).
    pub total: Option<u32>,
    /// Users accepted for delivery.
    pub success: u32,
    /// Users rejected (invalid user ids); never enqueued.
    pub failed: u32,
    /// `queued`, or `scheduled` with `send_at`.
    pub status: BatchStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// Where a batch is. Derived from its counters, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    /// Waiting for its `send_at`; can be cancelled.
    Scheduled,
    /// Cancelled while scheduled: never delivered.
    Cancelled,
    /// Accepted; no worker has started on it.
    Queued,
    /// Some users are settled, or a worker has started.
    Delivering,
    /// Every accepted user is settled: delivered, failed or without devices.
    Done,
}

/// `GET /tenants/{tenant_id}/notify/bulk/{batch_id}` (schema `BulkStatus`).
///
/// Users are counted once settled: `delivered` (at least one device accepted
/// the push), `failed` (rejected at the request, or no device accepted it),
/// `no_devices`. When `status` is `done`,
/// `delivered + failed + no_devices == total`. `total` is null while a
/// topic's or all users' audience is still being read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkStatus {
    pub batch_id: String,
    pub status: BatchStatus,
    pub total: Option<u32>,
    pub delivered: u32,
    pub failed: u32,
    pub no_devices: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// A batch's lifecycle as stored. Only `open` batches are delivered and
/// reported; see [`crate::service::bulk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Written, its chunks being enqueued: workers wait.
    Pending,
    /// Every chunk is on the queue: workers deliver.
    Open,
    /// Enqueueing failed (the caller got a 503): workers drop its chunks,
    /// the status endpoint does not know it.
    Aborted,
    /// Its schedule is set: the audience reader opens it at `send_at`.
    Scheduled,
    /// Cancelled while scheduled: the reader drops it.
    Cancelled,
}

/// The batch record: what was asked, and counters the workers add to once
/// per chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: String,
    pub tenant_id: String,
    pub state: BatchState,
    /// Distinct user ids in the request.
    pub total: u32,
    /// Users enqueued for delivery.
    pub accepted: u32,
    /// Users rejected at the request (invalid ids).
    pub rejected: u32,
    /// Queue messages the accepted users were split into.
    pub chunks: u32,
    pub delivered: u32,
    pub failed: u32,
    pub no_devices: u32,
    pub created_at: String,
    /// The user's `sub` or the API key's id.
    pub created_by: String,
    /// Set by the first worker that starts on one of its chunks (absent,
    /// not null, until then: the worker sets it with `if_not_exists`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Epoch seconds; DynamoDB's TTL removes the record (and its chunks'
    /// progress items) after this.
    pub expires_at: i64,
    /// A batch whose users the worker's audience reader enqueues page by
    /// page (a topic, all users, a scheduled list); absent for a `user_ids`
    /// send enqueued by the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<AudienceSource>,
    /// True until the reader has counted the audience's last page: the
    /// batch is not done before, whatever its counters say.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audience_pending: bool,
    /// Epoch seconds of a scheduled send's `send_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<i64>,
    /// The notification as JSON, for the reader to build chunks from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    /// The API key that made the batch: the reader's chunks carry it, so
    /// their pushes count in its usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metered_key: Option<String>,
}

impl Batch {
    /// Users the workers have settled.
    pub fn settled(&self) -> u32 {
        self.delivered
            .saturating_add(self.failed)
            .saturating_add(self.no_devices)
    }

    pub fn status(&self) -> BatchStatus {
        match self.state {
            BatchState::Scheduled => return BatchStatus::Scheduled,
            BatchState::Cancelled => return BatchStatus::Cancelled,
            _ => {}
        }
        let settled = self.settled();
        if settled >= self.accepted && !self.audience_pending {
            BatchStatus::Done
        } else if settled > 0 || self.started_at.is_some() {
            BatchStatus::Delivering
        } else {
            BatchStatus::Queued
        }
    }

    /// The contract's progress report. Users rejected at the request count
    /// as failed, so a done batch adds up to `total`.
    pub fn report(&self) -> BulkStatus {
        BulkStatus {
            batch_id: self.batch_id.clone(),
            status: self.status(),
            total: self.total_known().then_some(self.total),
            delivered: self.delivered,
            failed: self.failed.saturating_add(self.rejected),
            no_devices: self.no_devices,
            send_at: self.send_at.map(crate::model::audience::rfc3339),
        }
    }

    /// Whether `total` counts the whole audience: always for a list, for a
    /// topic or all users once the reader has read its last page.
    pub fn total_known(&self) -> bool {
        match &self.audience {
            Some(source) if !source.total_known_upfront() => !self.audience_pending,
            _ => true,
        }
    }
}

/// How a user of a chunk ended up. When two records disagree (two workers
/// raced on one message), the first in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserOutcome {
    /// At least one device accepted the push.
    Delivered,
    /// Devices, but none accepted it (dead, refused, or retries ran out).
    Failed,
    /// The user had no devices.
    NoDevices,
}

/// Users settled per outcome, counted once per chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    pub delivered: u32,
    pub failed: u32,
    pub no_devices: u32,
}

/// What earlier attempts at a chunk recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkProgress {
    /// The chunk's users are in the batch counters already.
    pub counted: bool,
    /// Digests of device tokens that accepted the push.
    pub delivered: HashSet<String>,
    /// Settled users, by position in the chunk's `user_ids`.
    pub settled: HashMap<u32, UserOutcome>,
}

impl ChunkProgress {
    /// Records `outcome` for user `index`, keeping the stronger of two.
    pub fn settle(&mut self, index: u32, outcome: UserOutcome) {
        let entry = self.settled.entry(index).or_insert(outcome);
        *entry = (*entry).min(outcome);
    }

    /// Adds what one wave recorded.
    pub fn apply(&mut self, update: ProgressUpdate) {
        self.delivered.extend(update.delivered);
        for (index, outcome) in update.settled {
            self.settle(index, outcome);
        }
    }

    /// Positions of the chunk's users (`0..total`) not settled yet, in order.
    pub fn unsettled(&self, total: usize) -> Vec<u32> {
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        (0..total)
            .filter(|index| !self.settled.contains_key(index))
            .collect()
    }

    pub fn counts(&self) -> ChunkCounts {
        let mut counts = ChunkCounts::default();
        for outcome in self.settled.values() {
            match outcome {
                UserOutcome::Delivered => counts.delivered += 1,
                UserOutcome::Failed => counts.failed += 1,
                UserOutcome::NoDevices => counts.no_devices += 1,
            }
        }
        counts
    }
}

/// What one wave of users added: written as one progress item (several
/// when it is too large for one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub delivered: Vec<String>,
    pub settled: Vec<(u32, UserOutcome)>,
    /// Devices whose outcome became final in this wave without delivery,
    /// whether or not their user is settled (a dead token is removed now,
    /// so a later attempt no longer sees it).
    pub devices: Vec<DeviceRecord>,
    /// Users that failed without any push, and why.
    pub user_reasons: Vec<(u32, String)>,
    /// The ids of the users the update mentions ([`Self::name_users`]):
    /// a chunk's user ids travel only in its queue message.
    pub user_ids: Vec<(u32, String)>,
}

impl ProgressUpdate {
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.settled.is_empty() && self.devices.is_empty()
    }

    /// Fills [`Self::user_ids`] with the id of every user the update
    /// mentions, from the chunk's `user_ids` (by position).
    pub fn name_users(&mut self, user_ids: &[String]) {
        let mut mentioned: Vec<u32> = self
            .settled
            .iter()
            .map(|(index, _)| *index)
            .chain(self.devices.iter().map(|device| device.user))
            .chain(self.user_reasons.iter().map(|(index, _)| *index))
            .collect();
        mentioned.sort_unstable();
        mentioned.dedup();
        self.user_ids = mentioned
            .into_iter()
            .filter_map(|index| Some((index, user_ids.get(index as usize)?.clone())))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_progress_keeps_the_strongest_outcome() {
        let mut progress = ChunkProgress::default();
        progress.apply(ProgressUpdate {
            delivered: vec!["d1".to_owned()],
            settled: vec![(0, UserOutcome::Failed), (1, UserOutcome::NoDevices)],
            ..ProgressUpdate::default()
        });
        progress.apply(ProgressUpdate {
            delivered: vec!["d1".to_owned(), "d2".to_owned()],
            settled: vec![(0, UserOutcome::Delivered)],
            ..ProgressUpdate::default()
        });
        assert_eq!(progress.unsettled(3), vec![2]);
        assert_eq!(progress.delivered.len(), 2);
        assert_eq!(progress.settled.get(&0), Some(&UserOutcome::Delivered));
        let counts = progress.counts();
        assert_eq!(
            (counts.delivered, counts.failed, counts.no_devices),
            (1, 0, 1)
        );
    }

    fn batch(accepted: u32, delivered: u32, failed: u32, no_devices: u32) -> Batch {
        Batch {
            batch_id: "b".to_owned(),
            tenant_id: "t".to_owned(),
            state: BatchState::Open,
            total: accepted + 2,
            accepted,
            rejected: 2,
            chunks: 1,
            delivered,
            failed,
            no_devices,
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            created_by: "alice".to_owned(),
            started_at: None,
            expires_at: 0,
            audience: None,
            audience_pending: false,
            send_at: None,
            notification: None,
            metered_key: None,
        }
    }

    #[test]
    fn status_follows_the_counters() {
        assert_eq!(batch(10, 0, 0, 0).status(), BatchStatus::Queued);
        assert_eq!(batch(10, 3, 1, 0).status(), BatchStatus::Delivering);
        let started = Batch {
            started_at: Some("2026-01-01T00:00:01Z".to_owned()),
            ..batch(10, 0, 0, 0)
        };
        assert_eq!(started.status(), BatchStatus::Delivering);
        assert_eq!(batch(10, 5, 3, 2).status(), BatchStatus::Done);
    }

    #[test]
    fn a_done_report_adds_up_to_the_total_with_rejected_users_as_failed() {
        let report = batch(10, 5, 3, 2).report();
        assert_eq!(report.status, BatchStatus::Done);
        assert_eq!(report.failed, 5);
        assert_eq!(
            Some(report.delivered + report.failed + report.no_devices),
            report.total
        );
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["status"], "done");
    }
}
