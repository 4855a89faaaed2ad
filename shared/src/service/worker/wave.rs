//! One wave of a chunk: which devices to push to, the push, and what to
//! record. Planning and settling are pure, so their rules are unit-tested
//! without AWS or providers.

use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{DeliveryStats, Worker};
use crate::model::Device;
use crate::model::{ChunkProgress, ProgressUpdate, UserOutcome};
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

/// The digest by which progress items remember a device: 16 hex digits of
/// the token's SHA-256 (tokens can be 4 KiB; a chunk's digests must fit in
/// DynamoDB items).
pub fn token_digest(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
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
/// accepted, and each user's outcome. A user with a transient failure
/// stays unsettled (the message is retried), except on the last receive.
fn settle_wave(
    mut users: Vec<WaveUser>,
    owners: Vec<(usize, String)>,
    results: Vec<TargetResult>,
    last_receive: bool,
    stats: &mut DeliveryStats,
) -> ProgressUpdate {
    let mut update = ProgressUpdate::default();
    for ((slot, digest), result) in owners.into_iter().zip(results) {
        let Some(user) = users.get_mut(slot) else {
            continue;
        };
        match result.outcome {
            DeliveryOutcome::Delivered => {
                stats.delivered += 1;
                user.delivered = true;
                update.delivered.push(digest);
            }
            DeliveryOutcome::DeadToken(_) => stats.dead_tokens += 1,
            DeliveryOutcome::Transient(_) => {
                stats.transient += 1;
                user.transient = true;
                stats.retry_after = stats.retry_after.max(result.retry_after);
            }
            DeliveryOutcome::Failed(_) => stats.failed += 1,
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
        settle_wave(users, owners, results, context.last_receive, stats)
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
            let WavePlan { users, owners, .. } = plan();
            let mut stats = DeliveryStats::default();
            let update = settle_wave(users, owners, results(), last_receive, &mut stats);
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
        }
    }
}
