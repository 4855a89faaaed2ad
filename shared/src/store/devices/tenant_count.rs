//! A tenant's count of registered devices, for its `devices` limit: PK
//! `TENANT#{tenant}`, SK `TENANT_DEVICES`, `device_count`.
//!
//! Not part of the registration's transaction: every registration of the
//! tenant would write this one item, and concurrent transactions on one
//! item cancel each other (`TransactionConflict`), so a tenant's burst of
//! registrations would mostly fail. The count is added to after a
//! registration commits and taken from after a removal instead, which makes
//! the limit approximate: registrations in flight together may pass it by
//! their number, and a count lost with an instance that dies in between is
//! not made up for. The user's own cap (100) stays exact.
//!
//! The item is created with the tenant live (one transaction), and the
//! counts change only an existing one, so none outlives the tenant's purge.
//! Devices registered before the count existed are not in it.

use super::counters::Pool;
use crate::error::Result;
use crate::store::keys::TENANT_DEVICES_SK;
use crate::store::ops::{live_tenant_check, ConditionalExt, Item};
use crate::store::{key, n, tenant_pk, Store};

pub(super) fn tenant_devices_key(tenant_id: &str) -> Item {
    key(tenant_pk(tenant_id), TENANT_DEVICES_SK)
}

/// What a registration adds to the tenant's count: a token entering the
/// device pool (new, or a Live Activity token re-registered as a device)
/// adds one, one leaving it takes one.
pub(super) fn tenant_device_delta(current: Option<Pool>, new: Pool) -> i64 {
    match (current, new) {
        (None, Pool::Devices) | (Some(Pool::Activities), Pool::Devices) => 1,
        (Some(Pool::Devices), Pool::Activities) => -1,
        _ => 0,
    }
}

impl Store {
    /// Starts the tenant's count at zero unless it exists, with the
    /// tenant's existence.
    pub(super) async fn start_tenant_device_count(&self, tenant_id: &str) -> Result<()> {
        let mut item = tenant_devices_key(tenant_id);
        item.insert("entity".to_owned(), crate::store::s("tenant_devices"));
        item.insert("device_count".to_owned(), n(0));
        let items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            self.tx_put_new(item)?,
        ];
        match self
            .transact_for_tenant(items, None, "starting tenant device count")
            .await?
        {
            Ok(()) => Ok(()),
            // Started by a concurrent registration.
            Err(cancelled) if cancelled.condition_failed(1) || cancelled.any_conflict() => Ok(()),
            Err(cancelled) => Err(cancelled.into_error("starting tenant device count")),
        }
    }

    /// Adds `delta` to the tenant's count (never below zero). Logged, not
    /// returned: the registration or removal it follows is done.
    pub(super) async fn add_tenant_devices(&self, tenant_id: &str, delta: i64) {
        if delta == 0 {
            return;
        }
        let update = self
            .update(tenant_devices_key(tenant_id))
            .update_expression("SET device_count = device_count + :delta")
            .expression_attribute_values(":delta", n(delta));
        let update = if delta < 0 {
            update
                .condition_expression("device_count >= :least")
                .expression_attribute_values(":least", n(-delta))
        } else {
            update.condition_expression("attribute_exists(device_count)")
        };
        if let Err(err) = update
            .send()
            .await
            .condition_held("counting tenant devices")
        {
            tracing::warn!(delta, error = %err.cause_chain(), "tenant device count not changed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_entering_or_leaving_the_device_pool_change_the_count() {
        assert_eq!(tenant_device_delta(None, Pool::Devices), 1);
        assert_eq!(
            tenant_device_delta(Some(Pool::Activities), Pool::Devices),
            1
        );
        assert_eq!(
            tenant_device_delta(Some(Pool::Devices), Pool::Activities),
            -1
        );
        assert_eq!(tenant_device_delta(Some(Pool::Devices), Pool::Devices), 0);
        assert_eq!(tenant_device_delta(None, Pool::Activities), 0);
    }
}
