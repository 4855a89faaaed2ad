//! One wave of a chunk: which devices to push to, the push, and what to
//! record. Planning and settling are pure, so their rules are unit-tested
//! without AWS or providers.

use std::time::Instant;

use super::{DeliveryStats, Worker};
use crate::model::bulk_results::{bounded_reason, token_digest};
use crate::model::Device;
use crate::model::{ChunkProgress, DeviceRecord, ProgressUpdate, ResultOutcome, UserOutcome};
use crate::push::{DeliveryOutcome, EncodedNotification, TargetResult, TenantPush};
use crate::service::webhooks::events::Origin;

/// What every wave of one message shares.
#[derive(Clone, Copy)]
pub(super) struct WaveContext<'a> {
    pub push: &'a TenantPush,
    pub encoded: &'a EncodedNotification,
    /// What earlier attempts recorded (devices that accepted are skipped).
    pub progress: &'a ChunkProgress,
    /// On the queue's last receive, transient failures are final.
    pub last_receive: bool,
    /// When the wave's pushes must be over.
    pub deadline: Option<Instant>,
    /// The batch, as webhook events name it.
    pub batch_id: &'a str,
}

/// One user of a wave while it is processed.
struct WaveUser {
    index: u32,
    devices: usize,
    delivered: bool,
    transient: bool,
}

/// A wave before its push: its users, and the devices still to push to
/// with (slot of their user, digest) of each.
struct WavePlan {
    users: Vec<WaveUser>,
    pending: Vec<Device>,
    owners: Vec<(usize, String)>,
}

/// Skips the devices that accepted this push on an earlier attempt (their
/// users count as delivered). `devices[i]` belongs to user `wave[i]`.
fn plan_wave(
    wave: &[u32],
    devices: Vec<Vec<Device>>,
    progress: &ChunkProgress,
    stats: &mut DeliveryStats,
) -> WavePlan {
    let mut users: Vec<WaveUser> = wave
        .iter()
        .zip(&devices)
        .map(|(&index, devices)| WaveUser {
            index,
            devices: devices.len(),
            delivered: false,
            transient: false,
        })
        .collect();
    let mut pending = Vec::new();
    let mut owners = Vec::new();
    for (slot, user_devices) in devices.into_iter().enumerate() {
        for device in user_devices {
            let digest = token_digest(&device.token);
            if progress.delivered.contains(&digest) {
                stats.skipped_already_delivered += 1;
                if let Some(user) = users.get_mut(slot) {
                    user.delivered = true;
                }
            } else {
                pending.push(device);
                owners.push((slot, digest));
            }
        }
    }
    WavePlan {
        users,
        pending,
        owners,
    }
}

/// What to record of a pushed wave: the digests of the devices that
/// accepted, each user's outcome, and the devices whose outcome is final
/// without delivery (for the batch's results). A user with a transient
/// failure stays unsettled (the message is retried), except on the last
/// receive. `pending[i]` got `results[i]` and belongs to `owners[i]`.
fn settle_wave(
    mut users: Vec<WaveUser>,
    owners: Vec<(usize, String)>,
    pending: Vec<Device>,
    results: Vec<TargetResult>,
    last_receive: bool,
    stats: &mut DeliveryStats,
) -> ProgressUpdate {
    let mut update = ProgressUpdate::default();
    for (((slot, digest), device), result) in owners.into_iter().zip(pending).zip(results) {
        let Some(user) = users.get_mut(slot) else {
            continue;
        };
        let undelivered = match result.outcome {
            DeliveryOutcome::Delivered => {
                stats.delivered += 1;
                user.delivered = true;
                update.delivered.push(digest);
                None
            }
            DeliveryOutcome::DeadToken(reason) => {
                stats.dead_tokens += 1;
                Some((ResultOutcome::Removed, reason))
            }
            DeliveryOutcome::Transient(reason) => {
                stats.transient += 1;
                user.transient = true;
                stats.retry_after = stats.retry_after.max(result.retry_after);
                // Final only on the last receive; otherwise tried again.
                last_receive.then_some((ResultOutcome::Failed, reason))
            }
            DeliveryOutcome::Failed(reason) => {
                stats.failed += 1;
                Some((ResultOutcome::Failed, reason))
            }
        };
        if let Some((outcome, reason)) = undelivered {
            update.devices.push(DeviceRecord {
                user: user.index,
                token: device.token,
                platform: device.platform,
                outcome,
                reason: bounded_reason(&reason),
            });
        }
    }
    for user in &users {
        let outcome = if user.devices == 0 {
            Some(UserOutcome::NoDevices)
        } else if user.transient && !last_receive {
            None
        } else if user.delivered {
            Some(UserOutcome::Delivered)
        } else {
            Some(UserOutcome::Failed)
        };
        if let Some(outcome) = outcome {
            update.settled.push((user.index, outcome));
        }
    }
    update
}

impl Worker {
    /// Pushes to one wave's devices, removes dead ones, and returns what to
    /// record. `devices[i]` belongs to user `wave[i]`.
    pub(super) async fn push_wave(
        &self,
        context: &WaveContext<'_>,
        wave: &[u32],
        devices: Vec<Vec<Device>>,
        stats: &mut DeliveryStats,
    ) -> ProgressUpdate {
        let WavePlan {
            users,
            pending,
            owners,
        } = plan_wave(wave, devices, context.progress, stats);
        // Pushes, then removes the tokens reported dead.
        let pushing = Instant::now();
        let results = if pending.is_empty() {
            Vec::new()
        } else {
            self.delivery
                .push(
                    context.push,
                    context.encoded,
                    &pending,
                    context.deadline,
                    Origin::Batch(context.batch_id),
                )
                .await
        };
        stats.pushes += pending.len();
        stats.push_time += pushing.elapsed();
        settle_wave(users, owners, pending, results, context.last_receive, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Platform;

    #[test]
    fn digests_are_short_stable_and_distinct() {
        let a = token_digest(&"ab".repeat(32));
        assert_eq!(a.len(), 16);
        assert_eq!(a, token_digest(&"ab".repeat(32)));
        assert_ne!(a, token_digest(&"ab".repeat(31)));
    }

    fn device(token: &str) -> Device {
        Device {
            token: token.to_owned(),
            user_id: "u".to_owned(),
            platform: Platform::Ios,
            token_type: Default::default(),
            app_version: None,
            created_at: String::new(),
            updated_at: String::new(),
            web_push_keys: None,
        }
    }

    fn result(outcome: DeliveryOutcome) -> TargetResult {
        TargetResult {
            outcome,
            attempts: 1,
            retry_after: None,
        }
    }

    #[test]
    fn devices_that_accepted_on_an_earlier_attempt_are_not_pushed_again() {
        let mut progress = ChunkProgress::default();
        progress.delivered.insert(token_digest("a1"));
        let mut stats = DeliveryStats::default();
        let plan = plan_wave(
            &[7, 8],
            vec![vec![device("a1"), device("a2")], vec![device("b1")]],
            &progress,
            &mut stats,
        );
        let pending: Vec<&str> = plan.pending.iter().map(|d| d.token.as_str()).collect();
        assert_eq!(pending, vec!["a2", "b1"]);
        assert_eq!(
            plan.owners
                .iter()
                .map(|(slot, _)| *slot)
                .collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert!(plan.users[0].delivered && !plan.users[1].delivered);
        assert_eq!(stats.skipped_already_delivered, 1);
    }

    #[test]
    fn a_transient_failure_keeps_its_user_unsettled_until_the_last_receive() {
        let plan = || {
            plan_wave(
                &[0, 1, 2, 3],
                vec![
                    vec![device("ok")],
                    vec![device("slow")],
                    vec![],
                    vec![device("dead"), device("refused")],
                ],
                &ChunkProgress::default(),
                &mut DeliveryStats::default(),
            )
        };
        let results = || {
            vec![
                result(DeliveryOutcome::Delivered),
                result(DeliveryOutcome::Transient("429".into())),
                result(DeliveryOutcome::DeadToken("Unregistered".into())),
                result(DeliveryOutcome::Failed("BadTopic".into())),
            ]
        };
        for (last_receive, slow_user) in [(false, None), (true, Some(UserOutcome::Failed))] {
            let WavePlan {
                users,
                owners,
                pending,
            } = plan();
            let mut stats = DeliveryStats::default();
            let update = settle_wave(users, owners, pending, results(), last_receive, &mut stats);
            assert_eq!(update.delivered, vec![token_digest("ok")]);
            let outcome = |index| {
                update
                    .settled
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, outcome)| *outcome)
            };
            assert_eq!(outcome(0), Some(UserOutcome::Delivered));
            assert_eq!(outcome(1), slow_user, "last receive: {last_receive}");
            assert_eq!(outcome(2), Some(UserOutcome::NoDevices));
            assert_eq!(outcome(3), Some(UserOutcome::Failed));
            assert_eq!(
                (
                    stats.delivered,
                    stats.transient,
                    stats.dead_tokens,
                    stats.failed
                ),
                (1, 1, 1, 1)
            );
            // Final device outcomes are recorded in full for the results;
            // the transient one only once it is final.
            let mut recorded: Vec<(u32, &str, ResultOutcome, &str)> = update
                .devices
                .iter()
                .map(|d| (d.user, d.token.as_str(), d.outcome, d.reason.as_str()))
                .collect();
            recorded.sort();
            let mut expected = vec![
                (3, "dead", ResultOutcome::Removed, "Unregistered"),
                (3, "refused", ResultOutcome::Failed, "BadTopic"),
            ];
            if last_receive {
                expected.insert(0, (1, "slow", ResultOutcome::Failed, "429"));
            }
            assert_eq!(recorded, expected, "last receive: {last_receive}");
        }
    }
}
