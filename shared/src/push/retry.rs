//! How long to wait before retrying a transient failure, and the waits the
//! providers ask for.
//!
//! A wait the provider asks for (its `Retry-After`, or one of the floors
//! below) that does not fit the invocation's retry budget is not slept
//! through: the push is reported `Transient` with that wait
//! (`TargetResult::retry_after`), and the delivery worker puts the message
//! back on the queue for that long instead of holding the invocation.

use std::time::Duration;

use rand::Rng;

/// FCM `QUOTA_EXCEEDED` (429): "exponential backoff with a minimum initial
/// delay of 1 minute" (Firebase, REST v1 `ErrorCode`).
pub const FCM_QUOTA_WAIT: Duration = Duration::from_secs(60);
/// APNs 5xx: "After 15 minutes, you can retry" (Apple, "Handling
/// notification responses from APNs").
pub const APNS_SERVER_ERROR_WAIT: Duration = Duration::from_secs(15 * 60);
/// A push service throttling without a `Retry-After` (Web Push 429, WNS
/// 406): as long as FCM asks for, the strictest documented figure.
pub const THROTTLED_WAIT: Duration = Duration::from_secs(60);
/// The first retry after a provider's 5xx without `Retry-After`: FCM's
/// "1 second, 2 seconds, 4 seconds" with jitter ("Best practices when
/// sending FCM messages at scale"), doubling per attempt.
pub const SERVER_ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// "Equal jitter" after `attempt` failures (from 1): half of
/// `base × 2^(attempt-1)` (at most `cap`) fixed, half random, so retries
/// from a burst spread out but never come back immediately.
pub fn jittered(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let ceiling = base.saturating_mul(1 << exponent).min(cap);
    let half = ceiling / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

/// The wait after a provider's 5xx: its `Retry-After`, else
/// [`SERVER_ERROR_BACKOFF`] doubling per attempt, jittered.
pub fn server_error_wait(retry_after: Option<Duration>, attempt: u32) -> Duration {
    retry_after.unwrap_or_else(|| jittered(SERVER_ERROR_BACKOFF, attempt, Duration::from_secs(8)))
}

/// The wait after an APNs answer of `status`, given its `Retry-After`:
/// Apple's 15 minutes after a 5xx.
pub fn apns_wait(status: http::StatusCode, retry_after: Option<Duration>) -> Option<Duration> {
    if status.is_server_error() {
        return Some(retry_after.map_or(APNS_SERVER_ERROR_WAIT, |wait| {
            wait.max(APNS_SERVER_ERROR_WAIT)
        }));
    }
    retry_after
}

/// Bounded retries: exponential backoff with jitter, `Retry-After` honoured,
/// never past `max_elapsed` since the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A retry that would start later than this after the first attempt is
    /// not made; the push is reported `Transient` instead.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (after `attempt` failures, so
    /// `attempt >= 1`), or `None` when no retry is allowed: out of attempts,
    /// or the wait would end past `max_elapsed` given `elapsed` so far.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            // The provider's word, as asked.
            Some(wait) => wait,
            None => jittered(self.initial_backoff, attempt, self.max_backoff),
        };
        (elapsed.saturating_add(delay) <= self.max_elapsed).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_after_the_last_attempt() {
        let policy = RetryPolicy::default();
        for attempt in 1..4 {
            let ceiling = Duration::from_millis(100 << (attempt - 1));
            let delay = policy.next_delay(attempt, Duration::ZERO, None).unwrap();
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{attempt}: {delay:?}"
            );
        }
        assert_eq!(policy.next_delay(4, Duration::ZERO, None), None);
    }

    #[test]
    fn retry_after_is_honoured_unless_it_ends_past_the_budget() {
        let policy = RetryPolicy::default();
        let wait = Duration::from_secs(3);
        assert_eq!(
            policy.next_delay(1, Duration::from_secs(1), Some(wait)),
            Some(wait)
        );
        assert_eq!(
            policy.next_delay(1, Duration::from_secs(13), Some(wait)),
            None
        );
    }

    #[test]
    fn provider_waits_follow_their_guidance() {
        for attempt in 1..4 {
            let wait = server_error_wait(None, attempt);
            let ceiling = SERVER_ERROR_BACKOFF * (1 << (attempt - 1));
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{attempt}: {wait:?}"
            );
        }
        assert_eq!(
            server_error_wait(Some(Duration::from_secs(7)), 1),
            Duration::from_secs(7)
        );
        let status = http::StatusCode::from_u16;
        assert_eq!(
            apns_wait(status(503).unwrap(), Some(Duration::from_secs(5))),
            Some(APNS_SERVER_ERROR_WAIT)
        );
        assert_eq!(
            apns_wait(status(429).unwrap(), Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        // Too long for an invocation: reported, for the queue to carry.
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, Some(FCM_QUOTA_WAIT)),
            None
        );
    }

    #[test]
    fn backoff_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 40,
            max_elapsed: Duration::MAX,
            ..RetryPolicy::default()
        };
        let delay = policy.next_delay(30, Duration::ZERO, None).unwrap();
        assert!(delay <= policy.max_backoff);
    }
}
