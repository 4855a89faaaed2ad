//! How long to wait before retrying a transient failure.

use std::time::Duration;

use rand::Rng;

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
            None => {
                // "Equal jitter": half fixed, half random, so retries from a
                // burst spread out but never come back immediately.
                let exponent = attempt.saturating_sub(1).min(16);
                let ceiling = self
                    .initial_backoff
                    .saturating_mul(1 << exponent)
                    .min(self.max_backoff);
                let half = ceiling / 2;
                half + rand::rng().random_range(Duration::ZERO..=half)
            }
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
