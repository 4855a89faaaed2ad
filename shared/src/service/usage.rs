//! Usage of API keys: the hour items the rate limiter writes, read back
//! into the hour or day buckets of the usage endpoints.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::error::{Error, Result};
use crate::ids::has_id_shape;
use crate::model::{KeyUsage, TenantUsage, UsageBucket};
use crate::store::HourUsage;
use futures::StreamExt;

/// A usage period: its bucket length and how many buckets it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The last 48 hours.
    Hour,
    /// The last 90 days.
    Day,
}

impl Period {
    /// `?period=`: `hour` (the default) or `day`.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("hour") => Ok(Self::Hour),
            Some("day") => Ok(Self::Day),
            Some(_) => Err(Error::invalid_request(
                "`period` must be \"hour\" or \"day\"",
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    fn bucket_secs(self) -> i64 {
        match self {
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    fn buckets(self) -> i64 {
        match self {
            Self::Hour => 48,
            Self::Day => 90,
        }
    }
}

/// One key's usage; 404 when the tenant has no such key.
pub async fn key_usage(
    app: &App,
    tenant_id: &str,
    key_id: &str,
    period: Period,
    now: i64,
) -> Result<KeyUsage> {
    let not_found = || Error::NotFound(format!("API key `{key_id}` not found"));
    if !has_id_shape(key_id, "key_") {
        return Err(not_found());
    }
    let keys = app.store.list_api_keys(tenant_id).await?;
    if !keys.iter().any(|key| key.key_id == key_id) {
        return Err(not_found());
    }
    let first = first_bucket(period, now);
    let hours = app.store.key_usage_since(key_id, first).await?;
    Ok(KeyUsage {
        key_id: key_id.to_owned(),
        period: period.as_str().to_owned(),
        buckets: buckets(period, first, &hours),
    })
}

/// Keys whose usage a tenant's totals read at once.
const KEY_READS_AT_ONCE: usize = 8;

/// The totals of the tenant's keys, those deleted since included.
pub async fn tenant_usage(
    app: &App,
    tenant_id: &str,
    period: Period,
    now: i64,
) -> Result<TenantUsage> {
    let first = first_bucket(period, now);
    let (live, retired) = futures::try_join!(
        app.store.list_api_keys(tenant_id),
        app.store.retired_api_key_ids(tenant_id)
    )?;
    let mut ids: Vec<String> = live.into_iter().map(|key| key.key_id).collect();
    ids.extend(retired);
    ids.sort_unstable();
    ids.dedup();
    let histories: Vec<Result<Vec<HourUsage>>> = futures::stream::iter(ids)
        .map(|key_id| async move { app.store.key_usage_since(&key_id, first).await })
        .buffered(KEY_READS_AT_ONCE)
        .collect()
        .await;
    let mut hours = Vec::new();
    for history in histories {
        hours.extend(history?);
    }
    Ok(TenantUsage {
        tenant_id: tenant_id.to_owned(),
        period: period.as_str().to_owned(),
        buckets: buckets(period, first, &hours),
    })
}

/// Hours of history the unusual-activity rule compares with: 7 days.
const BASELINE_HOURS: i64 = 7 * 24;
/// The current hour is unusual above this many times the baseline's
/// hourly mean, and above `UNUSUAL_FLOOR` requests.
const UNUSUAL_FACTOR: u64 = 10;
const UNUSUAL_FLOOR: u64 = 100;

/// A key's `requests_24h` and `unusual_activity`, from its hours since
/// [`activity_since`].
pub fn activity(hours: &[HourUsage], now: i64) -> (u64, bool) {
    let counts = ActivityCounts::of(hours, now);
    (counts.last_24h, counts.unusual())
}

/// What the unusual-activity rule compares: a key's requests in the
/// current hour, the last 24 hours, and the 7 days before the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCounts {
    pub this_hour: u64,
    pub last_24h: u64,
    pub baseline: u64,
}

impl ActivityCounts {
    /// From the key's hours since [`activity_since`].
    pub fn of(hours: &[HourUsage], now: i64) -> Self {
        let current = now - now.rem_euclid(3600);
        let requests = |from: i64, to: i64| -> u64 {
            hours
                .iter()
                .filter(|hour| (from..to).contains(&hour.start))
                .map(|hour| u64::from(hour.counts.requests))
                .sum()
        };
        Self {
            this_hour: requests(current, current + 3600),
            last_24h: requests(current - 23 * 3600, current + 3600),
            baseline: requests(current - BASELINE_HOURS * 3600, current),
        }
    }

    /// This hour exceeds ten times the baseline's hourly mean, and 100.
    pub fn unusual(&self) -> bool {
        // this_hour > 10 × baseline / 168, without division.
        self.this_hour > UNUSUAL_FLOOR
            && self.this_hour.saturating_mul(BASELINE_HOURS.unsigned_abs())
                > UNUSUAL_FACTOR.saturating_mul(self.baseline)
    }

    /// The baseline's hourly mean, to two decimals.
    pub fn hourly_mean_7d(&self) -> f64 {
        let per_hour = self.baseline as f64 / BASELINE_HOURS as f64;
        (per_hour * 100.0).round() / 100.0
    }
}

/// The first hour [`activity`] needs.
pub fn activity_since(now: i64) -> i64 {
    now - now.rem_euclid(3600) - BASELINE_HOURS * 3600
}

/// The start of the period's oldest bucket (buckets align to UTC hours or days).
fn first_bucket(period: Period, now: i64) -> i64 {
    let size = period.bucket_secs();
    let current = now - now.rem_euclid(size);
    current - (period.buckets() - 1) * size
}

/// Every bucket of the period from `first`, each the sum of its hours.
fn buckets(period: Period, first: i64, hours: &[HourUsage]) -> Vec<UsageBucket> {
    let size = period.bucket_secs();
    (0..period.buckets())
        .map(|index| {
            let start = first + index * size;
            let mut bucket = UsageBucket {
                start: DateTime::<Utc>::from_timestamp(start, 0)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ..UsageBucket::default()
            };
            for hour in hours
                .iter()
                .filter(|hour| (start..start + size).contains(&hour.start))
            {
                let counts = hour.counts;
                bucket.requests = bucket.requests.saturating_add(counts.requests);
                bucket.rejected = bucket.rejected.saturating_add(counts.rejected);
                bucket.throttled = bucket.throttled.saturating_add(counts.throttled);
                bucket.pushes = bucket.pushes.saturating_add(counts.pushes);
                bucket.pushes_failed = bucket.pushes_failed.saturating_add(counts.pushes_failed);
            }
            bucket
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UsageDelta;

    const NOW: i64 = 1_796_652_000 + 1_234; // 20 minutes into an hour

    fn hour(start: i64, requests: u32) -> HourUsage {
        HourUsage {
            start,
            counts: UsageDelta {
                requests,
                rejected: 1,
                ..UsageDelta::default()
            },
        }
    }

    #[test]
    fn hour_buckets_are_the_last_48_hours_ending_with_the_current_one() {
        let first = first_bucket(Period::Hour, NOW);
        let current = NOW - NOW % 3600;
        let shown = buckets(Period::Hour, first, &[hour(current, 3), hour(first, 2)]);
        assert_eq!(shown.len(), 48);
        assert_eq!(shown[47].requests, 3);
        assert_eq!(shown[0].requests, 2);
        assert_eq!(
            shown[1],
            UsageBucket {
                start: shown[1].start.clone(),
                ..UsageBucket::default()
            }
        );
        assert!(shown[47].start.ends_with(":00:00Z"), "{}", shown[47].start);
    }

    #[test]
    fn day_buckets_sum_their_hours_over_the_last_90_days() {
        let first = first_bucket(Period::Day, NOW);
        let today = NOW - NOW % 86_400;
        let shown = buckets(Period::Day, first, &[hour(today, 3), hour(today + 3600, 4)]);
        assert_eq!(shown.len(), 90);
        assert_eq!((shown[89].requests, shown[89].rejected), (7, 2));
        assert!(
            shown[89].start.ends_with("T00:00:00Z"),
            "{}",
            shown[89].start
        );
    }

    #[test]
    fn requests_24h_sums_the_last_24_hours_and_unusual_needs_ten_times_the_week_s_mean_and_100() {
        let current = NOW - NOW % 3600;
        // A steady 10 an hour for a week, then 101 this hour: 10 × mean is 100.
        let mut hours: Vec<HourUsage> = (1..=168)
            .map(|back| hour(current - back * 3600, 10))
            .collect();
        hours.push(hour(current, 101));
        assert_eq!(activity(&hours, NOW), (23 * 10 + 101, true));
        hours.pop();
        hours.push(hour(current, 100));
        assert!(!activity(&hours, NOW).1, "not above the mean's ten times");
        // A new key: no history, but 100 requests is not unusual by itself.
        assert_eq!(activity(&[hour(current, 100)], NOW), (100, false));
        assert_eq!(activity(&[hour(current, 101)], NOW), (101, true));
        assert!(activity_since(NOW) <= current - 168 * 3600);
    }

    #[test]
    fn a_period_is_hour_or_day_and_anything_else_names_the_parameter() {
        assert_eq!(Period::parse(None).ok(), Some(Period::Hour));
        assert_eq!(Period::parse(Some("day")).ok(), Some(Period::Day));
        let err = Period::parse(Some("week")).err();
        assert!(
            matches!(&err, Some(e) if e.to_string().contains("`period`")),
            "{err:?}"
        );
    }
}
