//! Samples of a key's hour for the unusual-activity rule: the rate-limit
//! write returns the hour's request count, and the write whose counts pass
//! a sample point (101, then 128, 256, 512... requests) is the one request
//! of the hour that has the rule evaluated, after its answer (see
//! `http::respond_to`). Every other request costs nothing more: no read,
//! no call. The rule itself, its webhook event and the AWS calls they make
//! belong to whoever implements [`KeyActivityWatch`] (the webhook
//! publisher), which `App` holds when its function installed one.

use futures::future::BoxFuture;

/// The first sample: the rule needs more than 100 requests in the hour.
const FIRST_SAMPLE: u64 = 101;
/// Samples after the first: each power of two from this one on.
const FIRST_POWER: u64 = 128;

/// A key's hour passed a sample point with one request's write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivitySample {
    pub tenant_id: String,
    pub key_id: String,
    /// The hour's requests as the write returned them.
    pub hour_requests: u64,
    /// The request's time, epoch seconds (the limiter's clock).
    pub at: i64,
}

/// What evaluates a sample: told after the sampled request is answered.
/// It never fails the request: it logs what goes wrong.
pub trait KeyActivityWatch: Send + Sync {
    fn sampled<'a>(&'a self, sample: &'a ActivitySample) -> BoxFuture<'a, ()>;
}

/// Whether a write that took the hour's requests from `before` to `after`
/// passed a sample point. The counter is atomic, so each point is passed
/// by exactly one write, even when a write adds several (carried) counts.
pub fn passes_sample(before: u64, after: u64) -> bool {
    if before >= after {
        return false;
    }
    if before < FIRST_SAMPLE && after >= FIRST_SAMPLE {
        return true;
    }
    let next_power = before
        .saturating_add(1)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
        .max(FIRST_POWER);
    next_power <= after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_per_sample_point_passes_it_and_no_other_write_does() {
        let passed: Vec<u64> = (0..5_000u64).filter(|n| passes_sample(*n, n + 1)).collect();
        assert_eq!(passed, vec![100, 127, 255, 511, 1023, 2047, 4095]);
        // A write carrying several counts passes the points it spans, once.
        assert!(passes_sample(95, 105));
        assert!(passes_sample(120, 130));
        assert!(!passes_sample(101, 127));
        assert!(!passes_sample(129, 255));
        assert!(!passes_sample(10, 10), "nothing added");
        assert!(!passes_sample(0, 100), "100 is not unusual by itself");
    }
}
