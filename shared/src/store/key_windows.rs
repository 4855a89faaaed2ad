//! A key's usage window: one item per key per hour holds that hour's
//! counters and the key's current one-second rate window, so that one
//! conditional UpdateItem both counts a request and enforces the key's rate.
//!
//! Two shapes of the update: *join* the window the item holds (condition:
//! same second, room left) or *open* a new one (condition: the item's window
//! is older or absent). A failed condition returns the old item
//! (`ALL_OLD`), which says whether the window is full or the other shape is
//! needed; the caller's note of the key's last window picks the likely one
//! first, so a request costs one write.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::ops::Item;
use super::{key, n, Store};
use crate::error::{Error, Result};

/// Usage items are kept 91 days: the usage endpoint shows 90.
pub(crate) const USAGE_TTL_SECS: i64 = 91 * 24 * 3600;
/// Shapes tried before a request is refused as over the rate: another
/// container may move the window between two attempts.
const ATTEMPTS: usize = 3;

/// Counts added to a key's hour: a request itself, and what the container
/// counted without writing yet (requests it throttled on its own, answers'
/// outcomes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub requests: u32,
    pub throttled: u32,
    /// 4xx answers (429s included).
    pub rejected: u32,
    pub pushes: u32,
    pub pushes_failed: u32,
}

impl UsageDelta {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: UsageDelta) {
        self.requests = self.requests.saturating_add(other.requests);
        self.throttled = self.throttled.saturating_add(other.throttled);
        self.rejected = self.rejected.saturating_add(other.rejected);
        self.pushes = self.pushes.saturating_add(other.pushes);
        self.pushes_failed = self.pushes_failed.saturating_add(other.pushes_failed);
    }
}

/// `ADD` of every counter, for the update expressions.
const ADD_COUNTS: &str =
    "ADD requests :req, throttled :thr, rejected :rej, pushes :push, pushes_failed :pfail";

/// The result of counting one request against its key's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowOutcome {
    /// Counted: `used` requests in the second `window` so far, and
    /// `hour_requests` in the key's hour with this write's (the write
    /// returns them: no extra call).
    Admitted {
        window: i64,
        used: u32,
        hour_requests: u64,
    },
    /// The second `window` already holds `limit` requests: nothing written.
    Full { window: i64 },
}

pub(crate) fn usage_pk(key_id: &str) -> String {
    format!("USAGE#KEY#{key_id}")
}

/// `HOUR#2026-12-07T14`: the hour bucket's sort key.
pub(crate) fn usage_hour_sk(at: DateTime<Utc>) -> String {
    format!("HOUR#{}", at.format("%Y-%m-%dT%H"))
}

impl Store {
    /// Counts one request (and `delta`'s carried counts) against the key's
    /// `limit` per second, at `now` (epoch seconds), trying first to join
    /// the window `joined` when the caller believes it current.
    #[tracing::instrument(skip(self, delta), fields(key_id = %key_id))]
    pub async fn count_key_request(
        &self,
        key_id: &str,
        now: i64,
        limit: u32,
        mut joined: Option<i64>,
        delta: UsageDelta,
    ) -> Result<WindowOutcome> {
        let at = DateTime::from_timestamp(now, 0).unwrap_or_default();
        let item_key = key(usage_pk(key_id), usage_hour_sk(at));
        for _ in 0..ATTEMPTS {
            let old = match self
                .window_update(item_key.clone(), now, limit, joined, delta)
                .await?
            {
                Ok((used, hour_requests)) => {
                    return Ok(WindowOutcome::Admitted {
                        window: joined.unwrap_or(now),
                        used,
                        hour_requests,
                    })
                }
                Err(old) => old,
            };
            let (window, used) = match old {
                Some(old) => old,
                None => self.read_window(item_key.clone()).await?,
            };
            match window {
                // The window is current (or a clock ahead opened it): join
                // it, or stop if it is full.
                Some(window) if window >= now => {
                    if used >= limit {
                        return Ok(WindowOutcome::Full { window });
                    }
                    joined = Some(window);
                }
                _ => joined = None,
            }
        }
        Ok(WindowOutcome::Full { window: now })
    }

    /// One update: `Ok(count in window, requests in the hour)`, or
    /// `Err(old window and count)` when its condition failed (`None` when
    /// DynamoDB did not say).
    async fn window_update(
        &self,
        item_key: Item,
        now: i64,
        limit: u32,
        joined: Option<i64>,
        delta: UsageDelta,
    ) -> Result<std::result::Result<(u32, u64), Option<(Option<i64>, u32)>>> {
        let update = self
            .update(item_key)
            .set_expression_attribute_values(Some(counts(delta.requests.saturating_add(1), delta)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(now.saturating_add(USAGE_TTL_SECS)))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match joined {
            Some(window) => update
                .update_expression(format!(
                    "SET win_count = win_count + :one, expires_at = :ttl {ADD_COUNTS}"
                ))
                .condition_expression("win = :win AND win_count < :limit")
                .expression_attribute_values(":win", n(window))
                .expression_attribute_values(":limit", n(limit)),
            None => update
                .update_expression(format!(
                    "SET win = :now, win_count = :one, expires_at = :ttl {ADD_COUNTS}"
                ))
                .condition_expression("attribute_not_exists(win) OR win < :now")
                .expression_attribute_values(":now", n(now)),
        };
        match update.send().await {
            Ok(output) => {
                let used = number(output.attributes(), "win_count")
                    .and_then(|count| u32::try_from(count).ok())
                    .unwrap_or(1);
                // `UPDATED_NEW` includes the counters the write added to.
                let hour_requests = number(output.attributes(), "requests")
                    .and_then(|count| u64::try_from(count).ok())
                    .unwrap_or(0);
                Ok(Ok((used, hour_requests)))
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Ok(Err(failed
                    .item()
                    .filter(|item| !item.is_empty())
                    .map(window_of))),
                _ => Err(Error::from_sdk("counting API key request", err)),
            },
        }
    }

    /// Adds counts to the key's hour at `now` without touching its rate
    /// window: outcomes known once a request is answered.
    #[tracing::instrument(skip(self, delta), fields(key_id = %key_id))]
    pub async fn add_key_usage(&self, key_id: &str, now: i64, delta: UsageDelta) -> Result<()> {
        let at = DateTime::from_timestamp(now, 0).unwrap_or_default();
        self.update(key(usage_pk(key_id), usage_hour_sk(at)))
            .update_expression(format!("SET expires_at = :ttl {ADD_COUNTS}"))
            .set_expression_attribute_values(Some(counts(delta.requests, delta)))
            .expression_attribute_values(":ttl", n(now.saturating_add(USAGE_TTL_SECS)))
            .send()
            .await
            .map_err(|err| Error::from_sdk("recording API key usage", err))?;
        Ok(())
    }

    /// The window an item holds, for a store that does not return the old
    /// item on a failed condition.
    async fn read_window(&self, item_key: Item) -> Result<(Option<i64>, u32)> {
        let item = self
            .get_consistent(item_key, "reading API key window")
            .await?;
        Ok(item.as_ref().map(window_of).unwrap_or((None, 0)))
    }
}

/// The counter values of [`ADD_COUNTS`], `requests` given apart (an
/// update that counts a request adds one to the carried ones).
fn counts(requests: u32, delta: UsageDelta) -> Item {
    [
        (":req", requests),
        (":thr", delta.throttled),
        (":rej", delta.rejected),
        (":push", delta.pushes),
        (":pfail", delta.pushes_failed),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), n(value)))
    .collect()
}

fn window_of(item: &Item) -> (Option<i64>, u32) {
    let used = number(Some(item), "win_count")
        .and_then(|count| u32::try_from(count).ok())
        .unwrap_or(0);
    (number(Some(item), "win"), used)
}

fn number(item: Option<&Item>, name: &str) -> Option<i64> {
    super::number_attribute(item?, name)
}

/// One hour's counts of a key, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourUsage {
    /// The hour's start, epoch seconds.
    pub start: i64,
    pub counts: UsageDelta,
}

impl Store {
    /// The key's hour items from the hour of `from` on (epoch seconds), in
    /// time order; hours without a request have no item.
    #[tracing::instrument(skip(self), fields(key_id = %key_id))]
    pub async fn key_usage_since(&self, key_id: &str, from: i64) -> Result<Vec<HourUsage>> {
        let at = DateTime::from_timestamp(from, 0).unwrap_or_default();
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK >= :from")
            .expression_attribute_values(":pk", super::s(usage_pk(key_id)))
            .expression_attribute_values(":from", super::s(usage_hour_sk(at)));
        let items = self.query_all(query, "reading API key usage").await?;
        Ok(items.iter().filter_map(hour_usage).collect())
    }
}

fn hour_usage(item: &Item) -> Option<HourUsage> {
    let sk = item.get(super::SK)?.as_s().ok()?;
    let hour = sk.strip_prefix("HOUR#")?;
    let start =
        chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S")
            .ok()?
            .and_utc()
            .timestamp();
    let count = |name: &str| {
        number(Some(item), name)
            .and_then(|value| u32::try_from(value).ok())
            .unwrap_or(0)
    };
    Some(HourUsage {
        start,
        counts: UsageDelta {
            requests: count("requests"),
            throttled: count("throttled"),
            rejected: count("rejected"),
            pushes: count("pushes"),
            pushes_failed: count("pushes_failed"),
        },
    })
}
