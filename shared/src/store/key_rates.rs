//! The sum of a tenant's API keys' rate limits: PK `TENANT#{tenant}`, SK
//! `KEY_RATES`, `rate_sum`.
//!
//! A tenant whose keys together cannot make more requests per second than
//! its `requests_per_second` never reaches that limit: the keys' own limits
//! are exact. Its requests then need no lease of the tenant's second (see
//! `limits::tenants`), and cost one DynamoDB write, the key's.
//!
//! Key creations and deletions change the sum in their own transaction,
//! so it is never lower than the keys' true sum: a tenant whose sum is
//! unknown (no item yet: keys older than it) or over its limit is leased.
//! The item is created by a key's creation, from a strongly consistent
//! listing of the tenant's keys plus the new one, on condition that it does
//! not exist yet; a key deleted meanwhile stays counted (a sum too high
//! only costs leases).

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::keys::{KEY_RATES_SK, KEY_RECORD_PREFIX};
use super::ops::{decode, put_item, update_item, Item};
use super::{key, n, s, tenant_pk, Store};
use crate::error::Result;
use crate::model::ApiKey;

pub(super) fn key_rates_key(tenant_id: &str) -> Item {
    key(tenant_pk(tenant_id), KEY_RATES_SK)
}

/// The sum an item holds.
pub(super) fn rate_sum_of(item: &Item) -> Option<u64> {
    u64::try_from(super::number_attribute(item, "rate_sum")?).ok()
}

/// A key's share of the sum: its `rate_limit`, or `legacy_rate` (the
/// deployment's maximum) for a key made before keys had one.
pub(super) fn rate_of(key: &ApiKey, legacy_rate: u32) -> u64 {
    u64::from(key.rate_limit.unwrap_or(legacy_rate))
}

impl Store {
    /// The transaction item that changes the tenant's sum by `delta`:
    /// added to the item when it exists (on that condition), or the item
    /// created from the tenant's keys plus `delta` (on the condition that
    /// it does not exist yet). `None` for a removal when there is no item.
    pub(super) async fn key_rates_change(
        &self,
        tenant_id: &str,
        delta: i64,
        legacy_rate: u32,
    ) -> Result<Option<TransactWriteItem>> {
        let item_key = key_rates_key(tenant_id);
        let exists = self
            .get_consistent(item_key.clone(), "reading key rates")
            .await?
            .is_some();
        if exists {
            let update = self
                .tx_update(item_key)
                .update_expression("ADD rate_sum :delta")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":delta", n(delta));
            return update_item(update).map(Some);
        }
        if delta < 0 {
            return Ok(None);
        }
        let listed = self
            .query_all(
                self.query_prefix(tenant_pk(tenant_id), KEY_RECORD_PREFIX),
                "listing API keys",
            )
            .await?;
        let mut sum = u64::try_from(delta).unwrap_or(0);
        for item in listed {
            let record: KeyRecord = decode(item, "decoding API key item")?;
            sum = sum.saturating_add(rate_of(&record.key, legacy_rate));
        }
        let mut item = item_key;
        item.insert("entity".to_owned(), s("key_rates"));
        item.insert("rate_sum".to_owned(), n(sum));
        put_item(
            self.tx_put(item)
                .condition_expression("attribute_not_exists(PK)"),
        )
        .map(Some)
    }
}

/// The part of a key record the sum needs.
#[derive(serde::Deserialize)]
struct KeyRecord {
    #[serde(flatten)]
    key: ApiKey,
}
