//! Device items. Each device is two items, written and deleted together in
//! one transaction:
//!
//! - the device: PK `TENANT#{tenant}`, SK `DEVICE#{token}`, the authority on
//!   which user a token belongs to;
//! - the user index: PK `TENANT#{tenant}#USER#{user}`, the same SK and a copy
//!   of the device, so a user's devices are one strongly consistent Query
//!   (no index lag between registering and sending).
//!
//! DynamoDB caps a sort key at 1024 bytes while the contract accepts FCM
//! tokens of up to 4096 characters: a token too long for the key is keyed by
//! its SHA-256 instead (`DEVICE#sha256:{hex}`). The item always holds the
//! token itself, and no valid token can look like that key.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tenants::{live_tenant_check, TENANT_SK};
use super::{build, condition_failed, key, reason_code, s, tenant_pk, Store, PK, SK};
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::model::{Device, DeviceRegistration};

const DEVICE_PREFIX: &str = "DEVICE#";
/// Longest token kept verbatim in a sort key (1024 bytes with the prefix).
const MAX_TOKEN_IN_KEY: usize = 1000;
/// Items of a tenant's partition read per Query page while purging.
const PURGE_PAGE: i32 = 100;

/// The sort key of a device and of its user index item.
pub(crate) fn device_sk(token: &str) -> String {
    if token.len() <= MAX_TOKEN_IN_KEY {
        format!("{DEVICE_PREFIX}{token}")
    } else {
        format!(
            "{DEVICE_PREFIX}sha256:{}",
            hex::encode(Sha256::digest(token))
        )
    }
}

/// The partition of one user's index items.
pub(crate) fn user_pk(tenant_id: &str, user_id: &str) -> String {
    format!("TENANT#{tenant_id}#USER#{user_id}")
}

/// Both items of a device have this shape; `entity` tells them apart.
#[derive(Serialize, Deserialize)]
struct DeviceItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    #[serde(flatten)]
    device: Device,
}

/// What a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeProgress {
    /// Items deleted by this call (index and key lookup items included).
    pub deleted: usize,
    /// True when nothing is left; false when the limit was reached first.
    pub complete: bool,
}

fn encode(item: DeviceItem) -> Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(item).map_err(|err| Error::internal("encoding device item", err))
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<Device> {
    serde_dynamo::from_item::<_, DeviceItem>(item)
        .map(|item| item.device)
        .map_err(|err| Error::internal("decoding device item", err))
}

fn text_attribute<'i>(item: &'i HashMap<String, AttributeValue>, name: &str) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// How a registration's transaction ended.
enum Written {
    Done(Device),
    /// The device item changed since it was read: read again and retry.
    Changed,
}

impl Store {
    /// The device item of `token`, strongly consistent.
    async fn get_device(&self, tenant_id: &str, token: &str) -> Result<Option<Device>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), device_sk(token))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading device", err))?;
        output.item.map(decode).transpose()
    }

    /// Registers a device or updates it (keeping `created_at`); a token of
    /// another user moves to this one. Atomic with the tenant's existence:
    /// nothing is written for a tenant deleted meanwhile (`NotFound`).
    #[tracing::instrument(skip_all, fields(tenant_id, platform = %registration.platform))]
    pub async fn register_device(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
    ) -> Result<Device> {
        // One retry when a concurrent registration of the token won the race.
        for _ in 0..2 {
            let current = self.get_device(tenant_id, &registration.token).await?;
            match self
                .write_registration(tenant_id, registration, current.as_ref())
                .await?
            {
                Written::Done(device) => return Ok(device),
                Written::Changed => continue,
            }
        }
        Err(Error::Conflict {
            code: "device_conflict",
            detail: "this device token is being registered by concurrent requests; retry"
                .to_owned(),
        })
    }

    async fn write_registration(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
        current: Option<&Device>,
    ) -> Result<Written> {
        let now = now_rfc3339();
        let device = Device {
            token: registration.token.clone(),
            user_id: registration.user_id.clone(),
            platform: registration.platform,
            app_version: registration.app_version.clone(),
            created_at: current.map_or_else(|| now.clone(), |old| old.created_at.clone()),
            updated_at: now,
        };
        let sk = device_sk(&device.token);
        let tenant_exists = live_tenant_check(&self.table, tenant_id)?;
        let mut put_device =
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(encode(DeviceItem {
                    pk: tenant_pk(tenant_id),
                    sk: sk.clone(),
                    entity: "device".to_owned(),
                    device: device.clone(),
                })?));
        // Unchanged since read: same owner, same last write.
        put_device = match current {
            None => put_device.condition_expression("attribute_not_exists(PK)"),
            Some(old) => put_device
                .condition_expression("user_id = :old_user AND updated_at = :old_updated")
                .expression_attribute_values(":old_user", s(old.user_id.clone()))
                .expression_attribute_values(":old_updated", s(old.updated_at.clone())),
        };
        let put_index = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(encode(DeviceItem {
                    pk: user_pk(tenant_id, &device.user_id),
                    sk: sk.clone(),
                    entity: "device_index".to_owned(),
                    device: device.clone(),
                })?))
                .build(),
        )?;
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(build(put_device.build())?)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put_index).build());
        if let Some(old) = current.filter(|old| old.user_id != device.user_id) {
            let delete_old_index = build(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(user_pk(tenant_id, &old.user_id), sk.clone())))
                    .build(),
            )?;
            transaction = transaction.transact_items(
                TransactWriteItem::builder()
                    .delete(delete_old_index)
                    .build(),
            );
        }
        match transaction.send().await {
            Ok(_) => {
                tracing::info!(
                    moved = current.is_some_and(|old| old.user_id != device.user_id),
                    new = current.is_none(),
                    "device registered"
                );
                Ok(Written::Done(device))
            }
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let reasons = cancel.cancellation_reasons();
                    if condition_failed(reasons, 0) {
                        Err(Error::NotFound("tenant not found".to_owned()))
                    } else if matches!(
                        reason_code(reasons, 1),
                        Some("ConditionalCheckFailed" | "TransactionConflict")
                    ) {
                        Ok(Written::Changed)
                    } else {
                        Err(Error::from_sdk("registering device", err))
                    }
                }
                _ => Err(Error::from_sdk("registering device", err)),
            },
        }
    }

    /// The user's devices, in token order, from one strongly consistent Query.
    #[tracing::instrument(skip_all, fields(tenant_id))]
    pub async fn list_devices(&self, tenant_id: &str, user_id: &str) -> Result<Vec<Device>> {
        let items: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(user_pk(tenant_id, user_id)))
            .expression_attribute_values(":prefix", s(DEVICE_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        items
            .into_iter()
            .map(|item| {
                item.map_err(|err| Error::from_sdk("listing devices", err))
                    .and_then(decode)
            })
            .collect()
    }

    /// Deletes the device when it is registered to `user_id`; `false` when
    /// it is not (unknown token, or registered to another user).
    #[tracing::instrument(skip_all, fields(tenant_id))]
    pub async fn unregister_device(
        &self,
        tenant_id: &str,
        user_id: &str,
        token: &str,
    ) -> Result<bool> {
        let sk = device_sk(token);
        let delete_device = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(tenant_id), sk.clone())))
                .condition_expression("user_id = :user")
                .expression_attribute_values(":user", s(user_id))
                .build(),
        )?;
        let index_key = key(user_pk(tenant_id, user_id), sk);
        let delete_index = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(index_key.clone()))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_device).build())
            .transact_items(TransactWriteItem::builder().delete(delete_index).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!("device unregistered");
                Ok(true)
            }
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    // Not this user's device. An index item without its
                    // device (never written so, but cheap to heal) goes too.
                    let output = self
                        .client
                        .delete_item()
                        .table_name(&self.table)
                        .set_key(Some(index_key))
                        .return_values(ReturnValue::AllOld)
                        .send()
                        .await
                        .map_err(|err| Error::from_sdk("unregistering device", err))?;
                    Ok(output.attributes.is_some_and(|old| !old.is_empty()))
                }
                _ => Err(Error::from_sdk("unregistering device", err)),
            },
        }
    }

    /// Removes a device a provider reported dead, but only if it is still the
    /// registration that was pushed to (same user, same `updated_at`): a
    /// token registered again meanwhile survives.
    #[tracing::instrument(skip_all, fields(tenant_id, platform = %device.platform))]
    pub async fn remove_dead_device(&self, tenant_id: &str, device: &Device) -> Result<()> {
        let sk = device_sk(&device.token);
        let delete_device = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(tenant_id), sk.clone())))
                .condition_expression("user_id = :user AND updated_at = :updated")
                .expression_attribute_values(":user", s(device.user_id.clone()))
                .expression_attribute_values(":updated", s(device.updated_at.clone()))
                .build(),
        )?;
        let delete_index = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(user_pk(tenant_id, &device.user_id), sk)))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_device).build())
            .transact_items(TransactWriteItem::builder().delete(delete_index).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!("dead device token removed");
                Ok(())
            }
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    tracing::info!("dead device token re-registered or gone; kept");
                    Ok(())
                }
                _ => Err(Error::from_sdk("removing dead device", err)),
            },
        }
    }

    /// Deletes up to about `limit` items of a (deleted) tenant: everything
    /// under PK `TENANT#{tenant_id}`, plus the items derived from them (user
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
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
                .projection_expression("PK, SK, user_id, key_hash")
                .consistent_read(true)
                .limit(PURGE_PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| Error::from_sdk("listing tenant items", err))?;
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
                } else if sk.starts_with("KEY#") {
                    if let Some(hash) = text_attribute(item, "key_hash") {
                        derived.push(key(format!("APIKEY#{hash}"), "APIKEY"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_fit_are_their_own_sort_key_and_longer_ones_are_hashed() {
        let apns = "ab".repeat(32);
        assert_eq!(device_sk(&apns), format!("DEVICE#{apns}"));
        let fcm = "a".repeat(1000);
        assert_eq!(device_sk(&fcm).len(), 1007);
        let long = "a".repeat(4096);
        let hashed = device_sk(&long);
        assert!(hashed.starts_with("DEVICE#sha256:") && hashed.len() == 78);
        assert_ne!(hashed, device_sk(&"a".repeat(4095)));
    }

    #[test]
    fn user_partitions_cannot_meet_the_tenant_partition() {
        assert_eq!(
            user_pk("tnt_4fG7hK2mN9pQ3rS5tV8w", "u#1"),
            "TENANT#tnt_4fG7hK2mN9pQ3rS5tV8w#USER#u#1"
        );
        assert_ne!(user_pk("t", ""), tenant_pk("t"));
    }
}
