//! A user's device counters, one per pool (devices, activity tokens): the
//! transaction item that counts a token in or out, and counting a user's
//! index items when a counter is absent or (activity tokens) stale.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::MAX_DEVICES_LISTED;
use crate::clock::now_epoch_seconds;
use crate::error::Result;
use crate::model::device::{MAX_ACTIVITY_TOKENS_PER_USER, MAX_DEVICES_PER_USER};
use crate::model::TokenType;
use crate::store::keys::{activity_counter_sk, counter_sk, user_pk, DEVICE_PREFIX};
use crate::store::ops::{live_tenant_check, update_item, ConditionalExt, Item};
use crate::store::{key, n, s, tenant_pk, Store};

/// Which counter and cap a token counts towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pool {
    Devices,
    Activities,
}

impl Pool {
    pub(super) fn of(token_type: TokenType) -> Self {
        if token_type.is_activity() {
            Pool::Activities
        } else {
            Pool::Devices
        }
    }

    pub(super) fn cap(self) -> usize {
        match self {
            Pool::Devices => MAX_DEVICES_PER_USER,
            Pool::Activities => MAX_ACTIVITY_TOKENS_PER_USER,
        }
    }

    fn counter_sk(self, user_id: &str) -> String {
        match self {
            Pool::Devices => counter_sk(user_id),
            Pool::Activities => activity_counter_sk(user_id),
        }
    }

    /// The index items of this pool, for a Query's filter: devices stored
    /// before token types existed have none and are `device` tokens.
    fn filter(self) -> &'static str {
        match self {
            Pool::Devices => {
                "attribute_not_exists(token_type) OR \
                 (token_type <> :liveactivity AND token_type <> :push_to_start)"
            }
            Pool::Activities => {
                "(token_type = :liveactivity OR token_type = :push_to_start) AND expires_at > :now"
            }
        }
    }
}

pub(super) fn counter_key(tenant_id: &str, user_id: &str, pool: Pool) -> Item {
    key(tenant_pk(tenant_id), pool.counter_sk(user_id))
}

/// The counter item of a user with `count` devices, for test harnesses that
/// write devices straight into the table.
#[cfg(feature = "testing")]
pub fn device_counter_item(tenant_id: &str, user_id: &str, count: u64) -> Result<Item> {
    counter_item(tenant_id, user_id, Pool::Devices, count)
}

pub(super) fn counter_item(tenant_id: &str, user_id: &str, pool: Pool, count: u64) -> Result<Item> {
    crate::store::ops::encode(
        CounterItem {
            pk: tenant_pk(tenant_id),
            sk: pool.counter_sk(user_id),
            entity: "user_devices".to_owned(),
            user_id: user_id.to_owned(),
            device_count: count,
        },
        "encoding device count",
    )
}

/// A user's device counter.
#[derive(Serialize, Deserialize)]
pub(super) struct CounterItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    user_id: String,
    pub(super) device_count: u64,
}

impl Store {
    /// The transaction item that adds `delta` (1 or -1) to the user's
    /// counter: an increment only below the cap, a decrement only above
    /// zero, neither on an absent counter.
    pub(super) fn count_device(
        &self,
        tenant_id: &str,
        user_id: &str,
        pool: Pool,
        delta: i8,
    ) -> Result<TransactWriteItem> {
        let update = self
            .tx_update(counter_key(tenant_id, user_id, pool))
            .expression_attribute_values(":one", n(1));
        let update = if delta > 0 {
            update
                .update_expression("SET device_count = device_count + :one")
                .condition_expression("device_count < :cap")
                .expression_attribute_values(":cap", n(pool.cap()))
        } else {
            update
                .update_expression("SET device_count = device_count - :one")
                .condition_expression("device_count > :zero")
                .expression_attribute_values(":zero", n(0))
        };
        update_item(update)
    }

    /// Creates the user's counter from their index items (at most
    /// [`MAX_DEVICES_LISTED`] counted: more is over the cap either way).
    /// Only registrations create counters, and each of them counts through
    /// the counter once it exists, so the count is exact; a concurrent
    /// creation wins harmlessly.
    pub(super) async fn start_device_count(
        &self,
        tenant_id: &str,
        user_id: &str,
        pool: Pool,
    ) -> Result<()> {
        let count = self.count_pool(tenant_id, user_id, pool).await?;
        let item = counter_item(tenant_id, user_id, pool, count as u64)?;
        self.put_device_count(tenant_id, item, count).await
    }

    /// Sets the user's activity counter, read as `counted`, to their live
    /// activity tokens: expiries and TTL deletions never decrement it. On
    /// the condition that it is unchanged, so a concurrent registration's
    /// increment is never lost.
    pub(super) async fn recount_activity_tokens(
        &self,
        tenant_id: &str,
        user_id: &str,
        counted: u64,
    ) -> Result<()> {
        let live = self
            .count_pool(tenant_id, user_id, Pool::Activities)
            .await? as u64;
        if live >= counted {
            return Ok(());
        }
        let recounted = self
            .update(counter_key(tenant_id, user_id, Pool::Activities))
            .update_expression("SET device_count = :live")
            .condition_expression("device_count = :counted")
            .expression_attribute_values(":live", n(live))
            .expression_attribute_values(":counted", n(counted))
            .send()
            .await
            .condition_held("recounting activity tokens")?;
        // Changed meanwhile: the caller reads it again.
        if recounted {
            tracing::info!(counted, live, "activity tokens recounted");
        }
        Ok(())
    }

    /// The user's live index items of `pool`, at most about
    /// [`MAX_DEVICES_LISTED`].
    async fn count_pool(&self, tenant_id: &str, user_id: &str, pool: Pool) -> Result<usize> {
        let mut query = self
            .query_prefix(user_pk(tenant_id, user_id), DEVICE_PREFIX)
            .filter_expression(pool.filter())
            .expression_attribute_values(":liveactivity", s(TokenType::Liveactivity.as_str()))
            .expression_attribute_values(":push_to_start", s(TokenType::PushToStart.as_str()));
        if pool == Pool::Activities {
            query = query.expression_attribute_values(":now", n(now_epoch_seconds()));
        }
        Ok(self
            .items_upto(query, MAX_DEVICES_LISTED, true, "counting devices")
            .await?
            .count)
    }

    /// Writes a new counter item unless one exists.
    async fn put_device_count(&self, tenant_id: &str, item: Item, count: usize) -> Result<()> {
        // With the tenant's existence: a counter never outlives its tenant's purge.
        let items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            self.tx_put_new(item)?,
        ];
        match self
            .transact_for_tenant(items, None, "starting device count")
            .await?
        {
            Ok(()) => {
                tracing::info!(count, "device count started");
                Ok(())
            }
            // Started by a concurrent registration.
            Err(cancelled) if cancelled.condition_failed(1) || cancelled.any_conflict() => Ok(()),
            Err(cancelled) => Err(cancelled.into_error("starting device count")),
        }
    }
}
