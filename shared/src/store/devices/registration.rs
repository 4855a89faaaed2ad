//! What one attempt of a registration does, decided from what it read: the
//! device item of the token and the user's counter of its pool. Pure, so
//! every rule (moves, caps, recounts, counters joined and left) is tested
//! here row by row; `register` does the reads, the writes and the retries.
//! The API's conflict answers for registrations live here too.

use super::counters::Pool;
use super::{expired, DeviceItem};
use crate::error::Error;
use crate::model::device::{TokenMoves, MAX_ACTIVITY_TOKENS_PER_USER, MAX_DEVICES_PER_USER};
use crate::model::DeviceRegistration;

/// What a registration does to the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Change {
    /// The token joins the user's counter of its pool.
    pub(super) increment: bool,
    /// It leaves the counter of its old owner or old pool.
    pub(super) decrement_old: bool,
}

/// What earlier attempts of the same registration learnt.
#[derive(Debug, Default)]
pub(super) struct Learnt {
    /// The user's activity counter was recounted once already.
    pub(super) recounted: bool,
    /// An old owner whose counter cannot be decremented (absent: their
    /// count starts later from their index items; or zero): skipped.
    pub(super) uncounted_owner: Option<String>,
}

/// The next step of a registration.
#[derive(Debug)]
pub(super) enum Step {
    /// Answer with this error; nothing is written.
    Refuse(Error),
    /// The user has no counter of the pool yet: count their index items,
    /// then read again.
    StartCount,
    /// The activity counter, read as `counted`, is at the cap: recount the
    /// live tokens, then read again.
    Recount { counted: u64 },
    /// Write the registration with this change to the counters.
    Write(Change),
}

/// The step after reading `current` (the token's device item) and `count`
/// (the user's counter of the registration's pool), at `now` (Unix seconds).
pub(super) fn next_step(
    current: Option<&DeviceItem>,
    count: Option<u64>,
    registration: &DeviceRegistration,
    moves: TokenMoves,
    now: i64,
    learnt: &Learnt,
) -> Step {
    let user_id = registration.user_id.as_str();
    let pool = Pool::of(registration.token_type);
    let moved = current.is_some_and(|old| old.device.user_id != user_id);
    if moved && moves == TokenMoves::Refused {
        tracing::info!("device move refused: the token belongs to another user");
        return Step::Refuse(token_owned_by_other_user());
    }
    // The token leaves its old counter: another user's, or the user's other
    // pool (a token re-registered with another type).
    let leaves = current.filter(|old| moved || Pool::of(old.device.token_type) != pool);
    // ...and joins this user's: new, moved, retyped, or an expired activity
    // token coming back (a recount may have dropped it).
    let joins =
        current.is_none() || leaves.is_some() || current.is_some_and(|old| expired(old, now));
    if joins {
        if let Some(step) = counter_step(count, pool, learnt) {
            return step;
        }
    }
    let decrement_old = leaves.is_some_and(|old| {
        learnt.uncounted_owner.as_deref() != Some(old.device.user_id.as_str()) && !expired(old, now)
    });
    Step::Write(Change {
        increment: joins,
        decrement_old,
    })
}

/// For a token joining the user's `pool`: the step before the write when
/// the counter cannot take it yet, `None` when it can.
fn counter_step(count: Option<u64>, pool: Pool, learnt: &Learnt) -> Option<Step> {
    let count = match count {
        None => return Some(Step::StartCount),
        Some(count) if count >= pool.cap() as u64 => count,
        Some(_) => return None,
    };
    // Activity tokens also leave by expiring, which no counter sees: count
    // the live ones once.
    if pool == Pool::Activities && !learnt.recounted {
        return Some(Step::Recount { counted: count });
    }
    tracing::info!(count, "device refused: the user is at the cap");
    Some(Step::Refuse(too_many_devices(pool)))
}

fn too_many_devices(pool: Pool) -> Error {
    match pool {
        Pool::Devices => Error::Conflict {
            code: "too_many_devices",
            detail: format!(
                "this `user_id` already has {MAX_DEVICES_PER_USER} devices, the most a user may have; \
                 unregister one first (re-registering one of them always works)"
            ),
        },
        Pool::Activities => Error::Conflict {
            code: "too_many_activity_tokens",
            detail: format!(
                "this `user_id` already has {MAX_ACTIVITY_TOKENS_PER_USER} live Live Activity \
                 tokens (`token_type` `liveactivity` or `push_to_start`), the most a user may have; \
                 unregister one or let them expire"
            ),
        },
    }
}

fn token_owned_by_other_user() -> Error {
    Error::Conflict {
        code: "token_owned_by_other_user",
        detail: "this `token` is registered to another user of the tenant; a `register` key \
                 may move it only with a valid `user_signature` (user verification)"
            .to_owned(),
    }
}

/// The answer when every attempt lost a race.
pub(super) fn device_conflict() -> Error {
    Error::Conflict {
        code: "device_conflict",
        detail: "this device token is being registered by concurrent requests; retry".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Device, Platform, TokenType};

    const NOW: i64 = 1_800_000_000;
    const DEVICE_CAP: u64 = MAX_DEVICES_PER_USER as u64;
    const ACTIVITY_CAP: u64 = MAX_ACTIVITY_TOKENS_PER_USER as u64;

    fn registration(user_id: &str, token_type: TokenType) -> DeviceRegistration {
        DeviceRegistration {
            user_id: user_id.to_owned(),
            token: "a".repeat(64),
            platform: Platform::Ios,
            token_type,
            app_version: None,
            web_push_keys: None,
        }
    }

    /// The token's device item as read: `user_id`'s, of `token_type`,
    /// expiring at `expires_at`.
    fn stored(user_id: &str, token_type: TokenType, expires_at: Option<i64>) -> DeviceItem {
        DeviceItem {
            pk: "TENANT#t".to_owned(),
            sk: format!("DEVICE#{}", "a".repeat(64)),
            entity: "device".to_owned(),
            device: Device {
                token: "a".repeat(64),
                user_id: user_id.to_owned(),
                platform: Platform::Ios,
                token_type,
                app_version: None,
                created_at: "2026-01-01T00:00:00Z".to_owned(),
                updated_at: "2026-01-01T00:00:00Z".to_owned(),
                web_push_keys: None,
            },
            expires_at,
        }
    }

    fn live_activity(user_id: &str) -> DeviceItem {
        stored(user_id, TokenType::Liveactivity, Some(NOW + 60))
    }

    fn expired_activity(user_id: &str) -> DeviceItem {
        stored(user_id, TokenType::Liveactivity, Some(NOW))
    }

    /// The step for `alice` registering a token of `token_type`.
    fn step(
        current: Option<DeviceItem>,
        count: Option<u64>,
        token_type: TokenType,
        moves: TokenMoves,
        learnt: &Learnt,
    ) -> Step {
        next_step(
            current.as_ref(),
            count,
            &registration("alice", token_type),
            moves,
            NOW,
            learnt,
        )
    }

    fn device_step(current: Option<DeviceItem>, count: Option<u64>, moves: TokenMoves) -> Step {
        step(current, count, TokenType::Device, moves, &Learnt::default())
    }

    fn writes(step: Step, increment: bool, decrement_old: bool) {
        match step {
            Step::Write(change) => assert_eq!(
                change,
                Change {
                    increment,
                    decrement_old
                }
            ),
            other => panic!("expected a write, got {other:?}"),
        }
    }

    fn refuses(step: Step, expected: &str) {
        match step {
            Step::Refuse(Error::Conflict { code, .. }) => assert_eq!(code, expected),
            other => panic!("expected a {expected} refusal, got {other:?}"),
        }
    }

    fn bob_device() -> Option<DeviceItem> {
        Some(stored("bob", TokenType::Device, None))
    }

    fn alice_device() -> Option<DeviceItem> {
        Some(stored("alice", TokenType::Device, None))
    }

    #[test]
    fn a_new_token_joins_the_users_counter() {
        writes(device_step(None, Some(0), TokenMoves::Allowed), true, false);
        writes(
            device_step(None, Some(DEVICE_CAP - 1), TokenMoves::Refused),
            true,
            false,
        );
    }

    #[test]
    fn a_new_token_of_a_user_without_a_counter_starts_the_count_first() {
        let step = device_step(None, None, TokenMoves::Allowed);
        assert!(matches!(step, Step::StartCount), "{step:?}");
    }

    #[test]
    fn a_new_token_of_a_user_at_the_cap_is_refused() {
        refuses(
            device_step(None, Some(DEVICE_CAP), TokenMoves::Allowed),
            "too_many_devices",
        );
        // An over-full counter (devices older than the cap) refuses too.
        refuses(
            device_step(None, Some(DEVICE_CAP + 5), TokenMoves::Allowed),
            "too_many_devices",
        );
    }

    #[test]
    fn the_same_user_refreshing_a_token_touches_no_counter_even_at_the_cap_or_without_one() {
        for count in [None, Some(0), Some(DEVICE_CAP), Some(DEVICE_CAP + 5)] {
            for moves in [TokenMoves::Allowed, TokenMoves::Refused] {
                writes(device_step(alice_device(), count, moves), false, false);
            }
        }
    }

    #[test]
    fn another_type_in_the_same_pool_is_a_refresh() {
        // A VoIP token re-registered as a device token stays a device.
        let current = Some(stored("alice", TokenType::Voip, None));
        writes(
            device_step(current, Some(DEVICE_CAP), TokenMoves::Allowed),
            false,
            false,
        );
    }

    #[test]
    fn a_register_key_cannot_move_another_users_token_whatever_the_counters_say() {
        for count in [None, Some(0), Some(DEVICE_CAP)] {
            refuses(
                device_step(bob_device(), count, TokenMoves::Refused),
                "token_owned_by_other_user",
            );
        }
        let step = step(
            Some(live_activity("bob")),
            Some(ACTIVITY_CAP),
            TokenType::Liveactivity,
            TokenMoves::Refused,
            &Learnt::default(),
        );
        refuses(step, "token_owned_by_other_user");
    }

    #[test]
    fn a_moved_token_joins_the_new_user_and_leaves_the_old_one() {
        writes(
            device_step(bob_device(), Some(3), TokenMoves::Allowed),
            true,
            true,
        );
    }

    #[test]
    fn a_moved_token_needs_room_and_a_counter_at_the_new_user() {
        refuses(
            device_step(bob_device(), Some(DEVICE_CAP), TokenMoves::Allowed),
            "too_many_devices",
        );
        let step = device_step(bob_device(), None, TokenMoves::Allowed);
        assert!(matches!(step, Step::StartCount), "{step:?}");
    }

    #[test]
    fn an_old_owner_whose_counter_refused_the_decrement_is_skipped() {
        let learnt = Learnt {
            recounted: false,
            uncounted_owner: Some("bob".to_owned()),
        };
        let step = step(
            bob_device(),
            Some(3),
            TokenType::Device,
            TokenMoves::Allowed,
            &learnt,
        );
        writes(step, true, false);
        // Only that owner: a token of carol's is still taken off her count.
        let step = super::next_step(
            Some(&stored("carol", TokenType::Device, None)),
            Some(3),
            &registration("alice", TokenType::Device),
            TokenMoves::Allowed,
            NOW,
            &learnt,
        );
        writes(step, true, true);
    }

    #[test]
    fn a_moved_expired_activity_token_is_not_taken_off_its_old_owner() {
        // A recount of the old owner may already have dropped it.
        let step = step(
            Some(expired_activity("bob")),
            Some(3),
            TokenType::Liveactivity,
            TokenMoves::Allowed,
            &Learnt::default(),
        );
        writes(step, true, false);
    }

    #[test]
    fn a_retyped_token_leaves_one_pool_and_joins_the_other() {
        let step = step(
            alice_device(),
            Some(3),
            TokenType::Liveactivity,
            TokenMoves::Refused,
            &Learnt::default(),
        );
        writes(step, true, true);
        let step = super::next_step(
            Some(&live_activity("alice")),
            Some(3),
            &registration("alice", TokenType::Device),
            TokenMoves::Refused,
            NOW,
            &Learnt::default(),
        );
        writes(step, true, true);
    }

    #[test]
    fn a_retyped_token_into_a_full_pool_is_refused() {
        refuses(
            super::next_step(
                Some(&live_activity("alice")),
                Some(DEVICE_CAP),
                &registration("alice", TokenType::Device),
                TokenMoves::Allowed,
                NOW,
                &Learnt::default(),
            ),
            "too_many_devices",
        );
    }

    #[test]
    fn a_live_activity_token_refreshed_by_its_user_touches_no_counter() {
        for count in [None, Some(ACTIVITY_CAP)] {
            let step = step(
                Some(live_activity("alice")),
                count,
                TokenType::PushToStart,
                TokenMoves::Refused,
                &Learnt::default(),
            );
            writes(step, false, false);
        }
    }

    #[test]
    fn an_expired_activity_token_coming_back_joins_again_without_leaving() {
        let step = step(
            Some(expired_activity("alice")),
            Some(3),
            TokenType::Liveactivity,
            TokenMoves::Refused,
            &Learnt::default(),
        );
        writes(step, true, false);
    }

    #[test]
    fn a_full_activity_counter_is_recounted_once_before_refusing() {
        let step_with = |learnt: &Learnt| {
            step(
                None,
                Some(ACTIVITY_CAP),
                TokenType::Liveactivity,
                TokenMoves::Allowed,
                learnt,
            )
        };
        let first = step_with(&Learnt::default());
        assert!(
            matches!(first, Step::Recount { counted } if counted == ACTIVITY_CAP),
            "{first:?}"
        );
        let recounted = Learnt {
            recounted: true,
            uncounted_owner: None,
        };
        refuses(step_with(&recounted), "too_many_activity_tokens");
        // Below the cap after the recount: written.
        let step = step(
            Some(expired_activity("alice")),
            Some(ACTIVITY_CAP - 1),
            TokenType::Liveactivity,
            TokenMoves::Allowed,
            &recounted,
        );
        writes(step, true, false);
    }

    #[test]
    fn a_missing_activity_counter_is_started_before_any_recount() {
        let step = step(
            None,
            None,
            TokenType::PushToStart,
            TokenMoves::Allowed,
            &Learnt::default(),
        );
        assert!(matches!(step, Step::StartCount), "{step:?}");
    }

    #[test]
    fn a_full_device_counter_is_never_recounted() {
        // Device tokens leave only through counted deletions.
        refuses(
            device_step(None, Some(DEVICE_CAP), TokenMoves::Allowed),
            "too_many_devices",
        );
    }

    #[test]
    fn conflict_answers_name_their_codes() {
        let Error::Conflict { code, detail } = too_many_devices(Pool::Activities) else {
            panic!("not a conflict");
        };
        assert_eq!(code, "too_many_activity_tokens");
        assert!(detail.contains(&MAX_ACTIVITY_TOKENS_PER_USER.to_string()));
        let Error::Conflict { code, .. } = device_conflict() else {
            panic!("not a conflict");
        };
        assert_eq!(code, "device_conflict");
    }
}
