//! Timestamps as the contract writes them (RFC 3339, UTC, whole seconds),
//! the end of a Lambda invocation as a monotonic instant, and [`Clock`]:
//! the wall clock that provider-token ages are judged on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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

/// The wall clock for ages that must count the time Lambda kept the
/// process frozen: provider tokens (an APNs token over an hour old is
/// refused, whatever the process saw) and idle connections. `Instant`
/// (CLOCK_MONOTONIC) may stand still during a freeze. Tests use
/// [`Clock::manual`] and move it themselves.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds since the epoch, when a test controls the clock.
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that shows `unix_secs` until [`Clock::advance`] moves it.
    pub fn manual(unix_secs: u64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicU64::new(unix_secs.saturating_mul(1000)))),
        }
    }

    /// Moves a manual clock forward (a system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        if let Some(millis) = &self.manual {
            let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            let _ = millis.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
        }
    }

    pub fn now_unix_millis(&self) -> u64 {
        match &self.manual {
            Some(millis) => millis.load(Ordering::Acquire),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or_default(),
        }
    }

    pub fn now_unix_secs(&self) -> u64 {
        self.now_unix_millis() / 1000
    }

    /// Epoch seconds as DynamoDB's numbers and the limiters count them.
    pub fn now_epoch_secs(&self) -> i64 {
        i64::try_from(self.now_unix_secs()).unwrap_or(i64::MAX)
    }
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
    fn a_manual_clock_moves_only_when_told_and_the_system_clock_by_itself() {
        let clock = Clock::manual(1_700_000_000);
        assert_eq!(clock.now_unix_secs(), 1_700_000_000);
        clock.advance(Duration::from_secs(3601));
        assert_eq!(clock.now_unix_secs(), 1_700_003_601);
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now_unix_secs().abs_diff(now_unix_secs()) <= 1);
    }

    #[test]
    fn a_reserve_larger_than_the_time_left_means_now() {
        let soon = Instant::now() + Duration::from_secs(1);
        let cut = less(Some(soon), Duration::from_secs(3600));
        assert!(cut.is_some_and(|cut| cut <= Instant::now()));
        assert_eq!(less(None, Duration::from_secs(1)), None);
    }
}
