//! Device items. Each device is two items, written and deleted together in
//! one transaction:
//!
//! - the device: PK `TENANT#{tenant}`, SK `DEVICE#{token}`, the authority on
//!   which user a token belongs to;
//! - the user index: PK `TENANT#{tenant}#USER#{user}`, the same SK and a copy
//!   of the device, so a user's devices are one strongly consistent Query
//!   (no index lag between registering and sending).
//!
//! The same transactions keep a per-user counter, PK `TENANT#{tenant}`, SK
//! `USER_DEVICES#{sha256 of user}`, `device_count`: incremented (on the
//! condition `device_count < MAX_DEVICES_PER_USER`) when a token becomes the
//! user's, decremented when it stops being theirs (unregistered, reported
//! dead, moved to another user). The cap holds exactly under concurrent
//! registrations, which a count-then-write could not promise. A user whose
//! devices predate the counter gets one counted from their index items the
//! first time a registration needs it. Counters live in the tenant's
//! partition, so the tenant purge finds them without any device.
//!
//! DynamoDB caps a sort key at 1024 bytes while the contract accepts FCM
//! tokens of up to 4096 characters: a token too long for the key is keyed by
//! its SHA-256 instead (`DEVICE#sha256:{hex}`). The item always holds the
//! token itself, and no valid token can look like that key: callers check a
//! token's format before building its key.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, KeysAndAttributes, Put, ReturnValue, Select,
    TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

use super::keys::{counter_sk, device_sk, user_pk, COUNTER_PREFIX, DEVICE_PREFIX};
use super::tenants::live_tenant_check;
use super::{build, condition_failed, key, s, tenant_pk, text_attribute, Store, SK};
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::model::device::{TokenMoves, MAX_DEVICES_PER_USER};
use crate::model::{Device, DeviceRegistration};

/// Index items one listing reads at most: the cap plus a margin, so that a
/// user whose devices predate the cap still costs bounded memory and work.
pub const MAX_DEVICES_LISTED: usize = MAX_DEVICES_PER_USER + 10;
/// Transactions one registration or deletion tries before answering 409
/// `device_conflict` (each retry follows a concurrent change it lost to).
const WRITE_ATTEMPTS: u32 = 6;

fn counter_key(tenant_id: &str, user_id: &str) -> HashMap<String, AttributeValue> {
    key(tenant_pk(tenant_id), counter_sk(user_id))
}

fn number(value: usize) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The counter item of a user with `count` devices, for test harnesses that
/// write devices straight into the table.
#[cfg(feature = "testing")]
pub fn device_counter_item(
    tenant_id: &str,
    user_id: &str,
    count: u64,
) -> Result<HashMap<String, AttributeValue>> {
    counter_item(tenant_id, user_id, count)
}

fn counter_item(
    tenant_id: &str,
    user_id: &str,
    count: u64,
) -> Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(CounterItem {
        pk: tenant_pk(tenant_id),
        sk: counter_sk(user_id),
        entity: "user_devices".to_owned(),
        user_id: user_id.to_owned(),
        device_count: count,
    })
    .map_err(|err| Error::internal("encoding device count", err))
}

/// A user's device counter.
#[derive(Serialize, Deserialize)]
struct CounterItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    user_id: String,
    device_count: u64,
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

fn encode(item: DeviceItem) -> Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(item).map_err(|err| Error::internal("encoding device item", err))
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<Device> {
    serde_dynamo::from_item::<_, DeviceItem>(item)
        .map(|item| item.device)
        .map_err(|err| Error::internal("decoding device item", err))
}

/// How a registration's transaction ended.
enum Written {
    Done(Device),
    /// The device item changed since it was read, or another transaction
    /// held one of the items: read again and retry.
    Changed,
    /// The new owner's counter refused the increment: at the cap, or absent.
    CounterRefused,
    /// The old owner's counter refused the decrement: absent or at zero.
    OldOwnerUncounted,
}

fn too_many_devices() -> Error {
    Error::Conflict {
        code: "too_many_devices",
        detail: format!(
            "this `user_id` already has {MAX_DEVICES_PER_USER} devices, the most a user may have; \
             unregister one first (re-registering one of them always works)"
        ),
    }
}

fn token_owned_by_other_user() -> Error {
    Error::Conflict {
        code: "token_owned_by_other_user",
        detail: "this `token` is registered to another user of the tenant; a `register` key \
                 may move it only with a valid `user_signature` (user verification)"
            .to_owned(),
    }
}

fn device_conflict() -> Error {
    Error::Conflict {
        code: "device_conflict",
        detail: "this device token is being registered by concurrent requests; retry".to_owned(),
    }
}

fn any_conflict(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|reason| reason.code() == Some("TransactionConflict"))
}

/// A short, growing, jittered pause before retrying a transaction that lost
/// a race on a hot item (a user's counter).
async fn back_off(attempt: u32) {
    let base = 10_u64.saturating_mul(u64::from(attempt).saturating_add(1));
    let jitter = rand::random::<u64>() % base.max(1);
    tokio::time::sleep(std::time::Duration::from_millis(
        base.saturating_add(jitter),
    ))
    .await;
}

impl Store {
    /// The device item of `token` and the counter of `user_id`, strongly
    /// consistent, in one round trip.
    async fn read_registration(
        &self,
        tenant_id: &str,
        token: &str,
        user_id: &str,
    ) -> Result<(Option<Device>, Option<u64>)> {
        let mut pending = build(
            KeysAndAttributes::builder()
                .keys(key(tenant_pk(tenant_id), device_sk(token)))
                .keys(counter_key(tenant_id, user_id))
                .consistent_read(true)
                .build(),
        )?;
        let mut device = None;
        let mut count = None;
        // BatchGetItem may leave keys unprocessed under load: retry those few.
        for attempt in 0..5_u32 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|err| Error::from_sdk("reading device", err))?;
            for item in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                if text_attribute(&item, SK).is_some_and(|sk| sk.starts_with(COUNTER_PREFIX)) {
                    let counter: CounterItem = serde_dynamo::from_item(item)
                        .map_err(|err| Error::internal("decoding device count", err))?;
                    count = Some(counter.device_count);
                } else {
                    device = Some(decode(item)?);
                }
            }
            match output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .filter(|left| !left.keys().is_empty())
            {
                Some(left) => {
                    pending = left;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                None => return Ok((device, count)),
            }
        }
        Err(Error::Unavailable {
            context: "reading device",
            source: "DynamoDB left keys unprocessed".into(),
        })
    }

    /// Registers a device or updates it (keeping `created_at`); a token of
    /// another user moves to this one when `moves` allows it (409
    /// `token_owned_by_other_user` otherwise). A token new to the user is
    /// refused with 409 `too_many_devices` once the user has
    /// [`MAX_DEVICES_PER_USER`]. Atomic with the tenant's existence: nothing
    /// is written for a tenant deleted meanwhile (`NotFound`).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, platform = %registration.platform))]
    pub async fn register_device(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
        moves: TokenMoves,
    ) -> Result<Device> {
        let user_id = registration.user_id.as_str();
        // An old owner whose counter cannot be decremented (absent: their
        // count starts later from their index items; or zero): skip it.
        let mut uncounted_owner: Option<String> = None;
        for attempt in 0..WRITE_ATTEMPTS {
            let (current, count) = self
                .read_registration(tenant_id, &registration.token, user_id)
                .await?;
            let moved_from = current
                .as_ref()
                .map(|old| old.user_id.as_str())
                .filter(|old_user| *old_user != user_id);
            if moved_from.is_some() && moves == TokenMoves::Refused {
                tracing::info!("device move refused: the token belongs to another user");
                return Err(token_owned_by_other_user());
            }
            if current.is_none() || moved_from.is_some() {
                // The token would become this user's: the counter decides.
                match count {
                    None => {
                        self.start_device_count(tenant_id, user_id).await?;
                        continue;
                    }
                    Some(count) if count >= MAX_DEVICES_PER_USER as u64 => {
                        tracing::info!(count, "device refused: the user is at the cap");
                        return Err(too_many_devices());
                    }
                    Some(_) => {}
                }
            }
            let decrement_old =
                moved_from.is_some_and(|old| uncounted_owner.as_deref() != Some(old));
            match self
                .write_registration(tenant_id, registration, current.as_ref(), decrement_old)
                .await?
            {
                Written::Done(device) => return Ok(device),
                Written::Changed => back_off(attempt).await,
                // Filled up or gone since the read: read it again.
                Written::CounterRefused => {}
                Written::OldOwnerUncounted => uncounted_owner = moved_from.map(str::to_owned),
            }
        }
        Err(device_conflict())
    }

    async fn write_registration(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
        current: Option<&Device>,
        decrement_old: bool,
    ) -> Result<Written> {
        let now = now_rfc3339();
        let device = Device {
            token: registration.token.clone(),
            user_id: registration.user_id.clone(),
            platform: registration.platform,
            app_version: registration.app_version.clone(),
            created_at: current.map_or_else(|| now.clone(), |old| old.created_at.clone()),
            updated_at: now,
            web_push_keys: registration.web_push_keys.clone(),
        };
        let moved_from = current.filter(|old| old.user_id != device.user_id);
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
        let mut items = vec![
            TransactWriteItem::builder()
                .condition_check(tenant_exists)
                .build(),
            TransactWriteItem::builder()
                .put(build(put_device.build())?)
                .build(),
            TransactWriteItem::builder().put(put_index).build(),
        ];
        if let Some(old) = moved_from {
            let delete_old_index = build(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(user_pk(tenant_id, &old.user_id), sk.clone())))
                    .build(),
            )?;
            items.push(
                TransactWriteItem::builder()
                    .delete(delete_old_index)
                    .build(),
            );
        }
        // The token becomes this user's: one more device for them...
        let increment_at = if current.is_none() || moved_from.is_some() {
            items.push(self.count_device(tenant_id, &device.user_id, 1)?);
            Some(items.len() - 1)
        } else {
            None
        };
        // ...and one fewer for the user it leaves.
        let decrement_at = match moved_from {
            Some(old) if decrement_old => {
                items.push(self.count_device(tenant_id, &old.user_id, -1)?);
                Some(items.len() - 1)
            }
            _ => None,
        };
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(
                    moved = moved_from.is_some(),
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
                    } else if condition_failed(reasons, 1) || any_conflict(reasons) {
                        Ok(Written::Changed)
                    } else if increment_at.is_some_and(|at| condition_failed(reasons, at)) {
                        Ok(Written::CounterRefused)
                    } else if decrement_at.is_some_and(|at| condition_failed(reasons, at)) {
                        Ok(Written::OldOwnerUncounted)
                    } else {
                        Err(Error::from_sdk("registering device", err))
                    }
                }
                _ => Err(Error::from_sdk("registering device", err)),
            },
        }
    }

    /// The transaction item that adds `delta` (1 or -1) to the user's
    /// counter: an increment only below the cap, a decrement only above
    /// zero, neither on an absent counter.
    fn count_device(&self, tenant_id: &str, user_id: &str, delta: i8) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(tenant_id, user_id)))
            .expression_attribute_values(":one", number(1));
        let update = if delta > 0 {
            update
                .update_expression("SET device_count = device_count + :one")
                .condition_expression("device_count < :cap")
                .expression_attribute_values(":cap", number(MAX_DEVICES_PER_USER))
        } else {
            update
                .update_expression("SET device_count = device_count - :one")
                .condition_expression("device_count > :zero")
                .expression_attribute_values(":zero", number(0))
        };
        Ok(TransactWriteItem::builder()
            .update(build(update.build())?)
            .build())
    }

    /// Creates the user's counter from their index items (at most
    /// [`MAX_DEVICES_LISTED`] counted: more is over the cap either way).
    /// Only registrations create counters, and each of them counts through
    /// the counter once it exists, so the count is exact; a concurrent
    /// creation wins harmlessly.
    async fn start_device_count(&self, tenant_id: &str, user_id: &str) -> Result<()> {
        let mut count = 0;
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let remaining = MAX_DEVICES_LISTED.saturating_sub(count);
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(user_pk(tenant_id, user_id)))
                .expression_attribute_values(":prefix", s(DEVICE_PREFIX))
                .select(Select::Count)
                .consistent_read(true)
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| Error::from_sdk("counting devices", err))?;
            count = count.saturating_add(usize::try_from(output.count.max(0)).unwrap_or(0));
            match output.last_evaluated_key.filter(|last| !last.is_empty()) {
                Some(last) if count < MAX_DEVICES_LISTED => start = Some(last),
                _ => break,
            }
        }
        let item = counter_item(tenant_id, user_id, count as u64)?;
        // With the tenant's existence: a counter never outlives its tenant's purge.
        let tenant_exists = live_tenant_check(&self.table, tenant_id)?;
        let put_counter = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put_counter).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(count, "device count started");
                Ok(())
            }
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let reasons = cancel.cancellation_reasons();
                    if condition_failed(reasons, 0) {
                        Err(Error::NotFound("tenant not found".to_owned()))
                    } else if condition_failed(reasons, 1) || any_conflict(reasons) {
                        // Started by a concurrent registration.
                        Ok(())
                    } else {
                        Err(Error::from_sdk("starting device count", err))
                    }
                }
                _ => Err(Error::from_sdk("starting device count", err)),
            },
        }
    }

    /// The user's devices, in token order, strongly consistent. Reads at
    /// most [`MAX_DEVICES_LISTED`] of them, however many older data holds.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn list_devices(&self, tenant_id: &str, user_id: &str) -> Result<Vec<Device>> {
        let mut devices = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let remaining = MAX_DEVICES_LISTED.saturating_sub(devices.len());
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(user_pk(tenant_id, user_id)))
                .expression_attribute_values(":prefix", s(DEVICE_PREFIX))
                .consistent_read(true)
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| Error::from_sdk("listing devices", err))?;
            for item in output.items.unwrap_or_default() {
                devices.push(decode(item)?);
            }
            match output.last_evaluated_key.filter(|last| !last.is_empty()) {
                None => break,
                Some(last) if devices.len() < MAX_DEVICES_LISTED => start = Some(last),
                Some(_) => {
                    tracing::warn!(
                        listed = devices.len(),
                        "the user may have more devices than a listing reads; the rest are left out"
                    );
                    break;
                }
            }
        }
        Ok(devices)
    }

    /// Deletes a device and its user index item, on `condition` over the
    /// device item, and takes one off the user's counter. `false` when the
    /// condition failed.
    async fn delete_registration(
        &self,
        tenant_id: &str,
        user_id: &str,
        token: &str,
        condition: (&str, Vec<(&str, AttributeValue)>),
        context: &'static str,
    ) -> Result<bool> {
        let sk = device_sk(token);
        let (expression, values) = condition;
        // The counter of a user whose devices predate it is absent: their
        // count starts from what is left, so there is nothing to take off.
        let mut counted = true;
        for attempt in 0..WRITE_ATTEMPTS {
            let mut delete_device = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(tenant_id), sk.clone())))
                .condition_expression(expression);
            for (name, value) in &values {
                delete_device = delete_device.expression_attribute_values(*name, value.clone());
            }
            let delete_index = build(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(user_pk(tenant_id, user_id), sk.clone())))
                    .build(),
            )?;
            let mut items = vec![
                TransactWriteItem::builder()
                    .delete(build(delete_device.build())?)
                    .build(),
                TransactWriteItem::builder().delete(delete_index).build(),
            ];
            if counted {
                items.push(self.count_device(tenant_id, user_id, -1)?);
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let reasons = cancel.cancellation_reasons();
                    if condition_failed(reasons, 0) {
                        return Ok(false);
                    } else if counted && condition_failed(reasons, 2) {
                        counted = false;
                    } else if any_conflict(reasons) {
                        back_off(attempt).await;
                    } else {
                        return Err(Error::from_sdk(context, err));
                    }
                }
                // A 5xx or throttling that outlasted the SDK's own retries:
                // once more after a pause. Safe even if an attempt landed
                // unseen: its condition then fails and nothing is undone.
                _ => match Error::from_sdk(context, err) {
                    Error::Unavailable { .. } if attempt + 1 < WRITE_ATTEMPTS => {
                        back_off(attempt).await;
                    }
                    error => return Err(error),
                },
            }
        }
        Err(device_conflict())
    }

    /// Deletes the device when it is registered to `user_id`; `false` when
    /// it is not (unknown token, or registered to another user). `token`
    /// must be a valid token (see `service::devices`): anything else could
    /// alias the hashed key of another token.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn unregister_device(
        &self,
        tenant_id: &str,
        user_id: &str,
        token: &str,
    ) -> Result<bool> {
        let deleted = self
            .delete_registration(
                tenant_id,
                user_id,
                token,
                ("user_id = :user", vec![(":user", s(user_id))]),
                "unregistering device",
            )
            .await?;
        if deleted {
            tracing::info!("device unregistered");
            return Ok(true);
        }
        // Not this user's device. An index item without its device (never
        // written so, but cheap to heal) goes too.
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(tenant_id, user_id), device_sk(token))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|err| Error::from_sdk("unregistering device", err))?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }

    /// Removes a device a provider reported dead, but only if it is still the
    /// registration that was pushed to (same user, same `updated_at`): a
    /// token registered again meanwhile survives.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, platform = %device.platform))]
    pub async fn remove_dead_device(&self, tenant_id: &str, device: &Device) -> Result<()> {
        let removed = self
            .delete_registration(
                tenant_id,
                &device.user_id,
                &device.token,
                (
                    "user_id = :user AND updated_at = :updated",
                    vec![
                        (":user", s(device.user_id.clone())),
                        (":updated", s(device.updated_at.clone())),
                    ],
                ),
                "removing dead device",
            )
            .await?;
        if removed {
            tracing::info!("dead device token removed");
        } else {
            tracing::info!("dead device token re-registered or gone; kept");
        }
        Ok(())
    }
}
