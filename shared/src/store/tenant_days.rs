//! A tenant's day item: PK `USAGE#TENANT#{tenant}`, SK `DAY#{yyyy-mm-dd}`
//! (UTC), TTL 91 days. It holds the day's `pushes` (the tenant's
//! `pushes_per_day`) and the tenant's current one-second request window
//! (`win`, `win_count`: its `requests_per_second`).
//!
//! Function instances do not write the window per request: each leases a
//! slice of the second (`lease`) with one conditional update and spends it
//! in memory (see `limits::tenants`). The same update returns the day's
//! pushes, so the instance learns what the tenant has pushed at no extra
//! cost.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::DateTime;

use super::ops::Item;
use super::{key, n, Store};
use crate::error::{Error, Result};

/// Day items are kept 91 days, like key usage.
const TTL_SECS: i64 = 91 * 24 * 3600;
/// Lease attempts before a request is refused: another instance may move
/// the window between two.
const ATTEMPTS: usize = 3;

fn tenant_day_key(tenant_id: &str, now: i64) -> Item {
    let day = DateTime::from_timestamp(now, 0).unwrap_or_default();
    key(
        format!("USAGE#TENANT#{tenant_id}"),
        format!("DAY#{}", day.format("%Y-%m-%d")),
    )
}

/// A lease of the tenant's current second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantLease {
    /// `granted` requests of the second `window` are the instance's to
    /// admit; `pushes` the day's total after this write.
    Granted {
        window: i64,
        granted: u32,
        pushes: u64,
    },
    /// The second `window` is fully leased: nothing was written.
    Full { window: i64, pushes: u64 },
}

impl Store {
    /// Leases up to `lease` requests of the tenant's second `now` out of
    /// `limit`; fewer when fewer are left. `join`: the caller believes the
    /// item's window is this second already (tried first; the other shape
    /// after a failed condition).
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant_id))]
    pub async fn lease_tenant_requests(
        &self,
        tenant_id: &str,
        now: i64,
        limit: u32,
        lease: u32,
        mut join: bool,
    ) -> Result<TenantLease> {
        let item_key = tenant_day_key(tenant_id, now);
        let mut lease = lease.clamp(1, limit.max(1));
        for _ in 0..ATTEMPTS {
            match self
                .lease_update(item_key.clone(), now, limit, lease, join)
                .await?
            {
                Ok(day_pushes) => {
                    return Ok(TenantLease::Granted {
                        window: now,
                        granted: lease,
                        pushes: day_pushes,
                    })
                }
                Err(old) => {
                    let (window, used, day_pushes) = match old {
                        Some(old) => old,
                        None => self.read_tenant_day(item_key.clone()).await?,
                    };
                    match window {
                        Some(window) if window >= now => {
                            let left = limit.saturating_sub(used);
                            if left == 0 {
                                return Ok(TenantLease::Full {
                                    window,
                                    pushes: day_pushes,
                                });
                            }
                            lease = lease.min(left);
                            join = window == now;
                            if !join {
                                // A clock ahead opened a later second.
                                return Ok(TenantLease::Full {
                                    window,
                                    pushes: day_pushes,
                                });
                            }
                        }
                        _ => join = false,
                    }
                }
            }
        }
        Ok(TenantLease::Full {
            window: now,
            pushes: 0,
        })
    }

    /// One lease: `Ok(the day's pushes)`, or `Err(old window, its count,
    /// the day's pushes)` when the condition failed (`None`: not said).
    async fn lease_update(
        &self,
        item_key: Item,
        now: i64,
        limit: u32,
        lease: u32,
        join: bool,
    ) -> Result<std::result::Result<u64, Option<(Option<i64>, u32, u64)>>> {
        // `ADD pushes :zero` returns the day's pushes with the new values.
        let update = self
            .update(item_key)
            .expression_attribute_values(":lease", n(lease))
            .expression_attribute_values(":pushes", n(0))
            .expression_attribute_values(":ttl", n(now.saturating_add(TTL_SECS)))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = if join {
            update
                .update_expression(
                    "SET win_count = win_count + :lease, expires_at = :ttl ADD pushes :pushes",
                )
                .condition_expression("win = :now AND win_count <= :room")
                .expression_attribute_values(":room", n(limit.saturating_sub(lease)))
        } else {
            update
                .update_expression(
                    "SET win = :now, win_count = :lease, expires_at = :ttl ADD pushes :pushes",
                )
                .condition_expression("attribute_not_exists(win) OR win < :now")
        };
        match update.send().await {
            Ok(output) => Ok(Ok(day_numbers(output.attributes()).2)),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Ok(Err(failed
                    .item()
                    .filter(|item| !item.is_empty())
                    .map(|item| day_numbers(Some(item))))),
                _ => Err(Error::from_sdk("leasing tenant requests", err)),
            },
        }
    }

    /// Adds `pushes` to the tenant's day at `now`; the day's total after.
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant_id))]
    pub async fn add_tenant_pushes(&self, tenant_id: &str, now: i64, pushes: u32) -> Result<u64> {
        let output = self
            .update(tenant_day_key(tenant_id, now))
            .update_expression("SET expires_at = :ttl ADD pushes :pushes")
            .expression_attribute_values(":pushes", n(pushes))
            .expression_attribute_values(":ttl", n(now.saturating_add(TTL_SECS)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| Error::from_sdk("counting tenant pushes", err))?;
        Ok(day_numbers(output.attributes()).2)
    }

    /// The tenant's pushes of the day of `now` so far.
    #[tracing::instrument(skip(self), fields(tenant_id = %tenant_id))]
    pub async fn tenant_pushes_today(&self, tenant_id: &str, now: i64) -> Result<u64> {
        Ok(self
            .read_tenant_day(tenant_day_key(tenant_id, now))
            .await?
            .2)
    }

    async fn read_tenant_day(&self, item_key: Item) -> Result<(Option<i64>, u32, u64)> {
        let item = self.get_consistent(item_key, "reading tenant day").await?;
        Ok(day_numbers(item.as_ref()))
    }
}

/// The window, its count and the day's pushes an item holds.
fn day_numbers(item: Option<&Item>) -> (Option<i64>, u32, u64) {
    let number = |name: &str| super::number_attribute(item?, name);
    let window = number("win");
    let used = number("win_count")
        .and_then(|count| u32::try_from(count).ok())
        .unwrap_or(0);
    let pushes = number("pushes")
        .and_then(|count| u64::try_from(count).ok())
        .unwrap_or(0);
    (window, used, pushes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::s;

    #[test]
    fn a_day_item_is_keyed_by_the_utc_day() {
        let item = tenant_day_key("tnt_a", 1_796_601_599);
        assert_eq!(item.get("PK"), Some(&s("USAGE#TENANT#tnt_a")));
        assert_eq!(item.get("SK"), Some(&s("DAY#2026-12-06")));
        let next = tenant_day_key("tnt_a", 1_796_601_600);
        assert_eq!(next.get("SK"), Some(&s("DAY#2026-12-07")));
    }
}
