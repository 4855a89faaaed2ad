//! The tenant-wide purge: everything of a deleted tenant, in bounded steps.

use super::keys::{
    key_lookup_pk, user_pk, DEVICE_PREFIX, KEY_LOOKUP_SK, KEY_RECORD_PREFIX, TENANT_SK,
};
use super::ops::Item;
use super::{key, s, tenant_pk, text_attribute, Store, PK, SK};
use crate::error::Result;

/// Items of a tenant's partition read per Query page while purging.
const PURGE_PAGE: i32 = 100;

/// What a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeProgress {
    /// Items deleted by this call (index and key lookup items included).
    pub deleted: usize,
    /// True when nothing is left; false when the limit was reached first.
    pub complete: bool,
}

impl Store {
    /// Deletes up to about `limit` items of a (deleted) tenant: everything
    /// under PK `TENANT#{tenant_id}` (device counters, topic subscriptions,
    /// users' topics and the user verification marker included), plus the items derived from them (user
    /// index items of devices, lookup items of API keys). Derived items go
    /// first, so an interrupted purge leaves nothing it cannot find again.
    /// Call again until `complete`.
    #[tracing::instrument(skip(self))]
    pub async fn purge_tenant_partition(
        &self,
        tenant_id: &str,
        limit: usize,
    ) -> Result<PurgeProgress> {
        let mut deleted = 0;
        let mut start: Option<Item> = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
                .projection_expression("PK, SK, user_id, key_hash")
                .consistent_read(true)
                .limit(PURGE_PAGE);
            let output = self
                .query_page(query, start.take(), "listing tenant items")
                .await?;
            let items = output.items.unwrap_or_default();
            let mut derived = Vec::new();
            let mut own = Vec::with_capacity(items.len());
            for item in &items {
                let (Some(pk), Some(sk)) = (text_attribute(item, PK), text_attribute(item, SK))
                else {
                    continue;
                };
                // The tenant item (the deletion's tombstone) goes last, after the purge.
                if sk == TENANT_SK {
                    continue;
                }
                if sk.starts_with(DEVICE_PREFIX) {
                    if let Some(user_id) = text_attribute(item, "user_id") {
                        derived.push(key(user_pk(tenant_id, user_id), sk));
                    }
                } else if sk.starts_with(KEY_RECORD_PREFIX) {
                    if let Some(hash) = text_attribute(item, "key_hash") {
                        derived.push(key(key_lookup_pk(hash), KEY_LOOKUP_SK));
                    }
                }
                own.push(key(pk.to_owned(), sk));
            }
            deleted += derived.len() + own.len();
            self.batch_delete(derived).await?;
            self.batch_delete(own).await?;
            match output.last_evaluated_key.filter(|last| !last.is_empty()) {
                None => {
                    tracing::info!(deleted, "tenant partition purged");
                    return Ok(PurgeProgress {
                        deleted,
                        complete: true,
                    });
                }
                Some(_) if deleted >= limit => {
                    tracing::info!(deleted, "tenant partition purge paused at its limit");
                    return Ok(PurgeProgress {
                        deleted,
                        complete: false,
                    });
                }
                Some(last) => start = Some(last),
            }
        }
    }
}
