//! Timestamps as the contract writes them (RFC 3339, UTC, whole seconds),
//! and the end of a Lambda invocation as a monotonic instant.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{SecondsFormat, Utc};

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn now_epoch_seconds() -> i64 {
    Utc::now().timestamp()
}

/// Seconds since the Unix epoch, unsigned, as JWT `iat` claims and APNs
/// expirations count them; 0 on a clock set before 1970.
pub fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

/// The invocation's end as an `Instant`, from Lambda's deadline (wall-clock
/// milliseconds). A deadline not in the future is not a real one: local
/// emulators send 0 or a duration (`cargo lambda watch` sends 600000, which
/// reads as 1970); then there is no limit.
pub fn invocation_deadline(deadline: SystemTime, now: SystemTime) -> Option<Instant> {
    let left = deadline
        .duration_since(now)
        .ok()
        .filter(|left| !left.is_zero())?;
    Instant::now().checked_add(left)
}

/// `deadline` less `reserve`: the time kept back to record and answer.
pub fn less(deadline: Option<Instant>, reserve: Duration) -> Option<Instant> {
    deadline.map(|deadline| deadline.checked_sub(reserve).unwrap_or_else(Instant::now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_is_no_deadline() {
        let now = SystemTime::now();
        // What `cargo lambda watch` sends, and what an unset header gives.
        for bogus in [UNIX_EPOCH + Duration::from_millis(600_000), UNIX_EPOCH, now] {
            assert_eq!(invocation_deadline(bogus, now), None);
        }
        let in_30_s = invocation_deadline(now + Duration::from_secs(30), now)
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        assert!(in_30_s.is_some_and(|left| left > Duration::from_secs(29)));
    }

    #[test]
    fn unix_seconds_agree_with_the_epoch_seconds_of_timestamps() {
        let before = now_epoch_seconds();
        let unix = i64::try_from(now_unix_secs()).unwrap_or_default();
        assert!(before > 1_700_000_000 && (before..=before + 1).contains(&unix));
    }

    #[test]
    fn a_reserve_larger_than_the_time_left_means_now() {
        let soon = Instant::now() + Duration::from_secs(1);
        let cut = less(Some(soon), Duration::from_secs(3600));
        assert!(cut.is_some_and(|cut| cut <= Instant::now()));
        assert_eq!(less(None, Duration::from_secs(1)), None);
    }
}
