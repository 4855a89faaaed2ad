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
//! Live Activity and push-to-start tokens (`token_type`) are devices too,
//! counted apart (SK `USER_ACTIVITIES#{sha256 of user}`, capped at
//! `MAX_ACTIVITY_TOKENS_PER_USER`). They carry `expires_at`, DynamoDB's TTL
//! attribute: 24 hours after registration, sooner once their activity
//! ended. TTL deletion is lazy and bypasses the counter, so reads skip
//! expired items, and a user at the activity cap gets the counter recounted
//! from their live tokens.
//!
//! DynamoDB caps a sort key at 1024 bytes while the contract accepts FCM
//! tokens of up to 4096 characters: a token too long for the key is keyed by
//! its SHA-256 instead (`DEVICE#sha256:{hex}`). The item always holds the
//! token itself, and no valid token can look like that key: callers check a
//! token's format before building its key.
//!
//! Here: the items, listing, removing and expiring. `registration` decides
//! what a registration does (pure), `register` reads and writes it, and
//! `counters` keeps the counters.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use super::keys::{device_sk, user_pk, DEVICE_PREFIX};
use super::ops::{delete_item, update_item, Item, ReadConsistency};
use super::{key, n, s, tenant_pk, Store};
use crate::clock::now_epoch_seconds;
use crate::error::{Error, Result};
use crate::model::device::{MAX_ACTIVITY_TOKENS_PER_USER, MAX_DEVICES_PER_USER};
use crate::model::Device;
use counters::Pool;
use registration::device_conflict;

mod counters;
mod register;
mod registration;
mod tenant_count;

#[cfg(feature = "testing")]
pub use counters::device_counter_item;

/// Index items one listing reads at most: both caps plus a margin, so that
/// a user whose devices predate the cap still costs bounded memory and work.
pub const MAX_DEVICES_LISTED: usize = MAX_DEVICES_PER_USER + MAX_ACTIVITY_TOKENS_PER_USER + 10;

/// Transactions one registration or deletion tries before answering 409
/// `device_conflict` (each retry follows a concurrent change it lost to).
const WRITE_ATTEMPTS: u32 = 6;

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
    /// DynamoDB's TTL attribute (Unix seconds): activity tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

fn encode(item: DeviceItem) -> Result<Item> {
    super::ops::encode(item, "encoding device item")
}

fn decode_item(item: Item) -> Result<DeviceItem> {
    super::ops::decode(item, "decoding device item")
}

/// An activity token past its end, which DynamoDB has not deleted yet.
fn expired(item: &DeviceItem, now: i64) -> bool {
    item.expires_at.is_some_and(|at| at <= now)
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
    /// The user's devices, in token order, as fresh as `read` asks. Reads
    /// at most [`MAX_DEVICES_LISTED`] of them, however many older data holds.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn list_devices(
        &self,
        tenant_id: &str,
        user_id: &str,
        read: ReadConsistency,
    ) -> Result<Vec<Device>> {
        let now = now_epoch_seconds();
        let query = self
            .query_prefix(user_pk(tenant_id, user_id), DEVICE_PREFIX)
            .consistent_read(read == ReadConsistency::Strong)
            // Expired activity tokens stay until DynamoDB's lazy TTL
            // deletion: never listed, never pushed to.
            .filter_expression("attribute_not_exists(expires_at) OR expires_at > :now")
            .expression_attribute_values(":now", n(now));
        let found = self
            .items_upto(query, MAX_DEVICES_LISTED, false, "listing devices")
            .await?;
        if found.more {
            tracing::warn!(
                listed = found.items.len(),
                "the user may have more devices than a listing reads; the rest are left out"
            );
        }
        let mut devices = Vec::with_capacity(found.items.len());
        for item in found.items {
            let item = decode_item(item)?;
            if !expired(&item, now) {
                devices.push(item.device);
            }
        }
        Ok(devices)
    }

    /// Deletes a device and its user index item, on `condition` over the
    /// device item, and takes one off the user's counter of `pool`. `false` when the
    /// condition failed.
    async fn delete_registration(
        &self,
        tenant_id: &str,
        user_id: &str,
        token: &str,
        pool: Option<Pool>,
        condition: (&str, Vec<(&str, AttributeValue)>),
        context: &'static str,
    ) -> Result<bool> {
        let sk = device_sk(token);
        let (expression, values) = condition;
        // The counter of a user whose devices predate it is absent: their
        // count starts from what is left, so there is nothing to take off.
        // `pool` is `None` for a token no counter holds.
        let mut counted = pool.is_some();
        let counted_in_tenant = pool.is_some();
        let pool = pool.unwrap_or(Pool::Devices);
        for attempt in 0..WRITE_ATTEMPTS {
            let mut delete_device = self
                .tx_delete(key(tenant_pk(tenant_id), sk.clone()))
                .condition_expression(expression);
            for (name, value) in &values {
                delete_device = delete_device.expression_attribute_values(*name, value.clone());
            }
            let index = key(user_pk(tenant_id, user_id), sk.clone());
            let mut items = vec![
                delete_item(delete_device)?,
                delete_item(self.tx_delete(index))?,
            ];
            if counted {
                items.push(self.count_device(tenant_id, user_id, pool, -1)?);
            }
            let outcome = match self.transact(items, None, context).await {
                Ok(outcome) => outcome,
                // A 5xx or throttling that outlasted the SDK's own retries:
                // once more after a pause. Safe even if an attempt landed
                // unseen: its condition then fails and nothing is undone.
                Err(Error::Unavailable { .. }) if attempt + 1 < WRITE_ATTEMPTS => {
                    back_off(attempt).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            match outcome {
                Ok(()) => {
                    if pool == Pool::Devices && counted_in_tenant {
                        self.add_tenant_devices(tenant_id, -1).await;
                    }
                    return Ok(true);
                }
                Err(cancelled) if cancelled.condition_failed(0) => return Ok(false),
                Err(cancelled) if counted && cancelled.condition_failed(2) => counted = false,
                Err(cancelled) if cancelled.any_conflict() => back_off(attempt).await,
                Err(cancelled) => return Err(cancelled.into_error(context)),
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
        // The device's type says which counter it leaves: read it, then
        // delete it on the condition that it is still what was read.
        for _ in 0..WRITE_ATTEMPTS {
            let current = self
                .get_consistent(
                    key(tenant_pk(tenant_id), device_sk(token)),
                    "unregistering device",
                )
                .await?
                .map(decode_item)
                .transpose()?;
            let Some(current) = current.filter(|item| item.device.user_id == user_id) else {
                break;
            };
            // An expired activity token may have been dropped by a recount.
            let counted = (!expired(&current, now_epoch_seconds()))
                .then_some(Pool::of(current.device.token_type));
            let current = current.device;
            let deleted = self
                .delete_registration(
                    tenant_id,
                    user_id,
                    token,
                    counted,
                    (
                        "user_id = :user AND updated_at = :updated",
                        vec![
                            (":user", s(user_id)),
                            (":updated", s(current.updated_at.clone())),
                        ],
                    ),
                    "unregistering device",
                )
                .await?;
            if deleted {
                tracing::info!("device unregistered");
                return Ok(true);
            }
        }
        // Not this user's device. An index item without its device (never
        // written so, but cheap to heal) goes too.
        let output = self
            .delete(key(user_pk(tenant_id, user_id), device_sk(token)))
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
                Some(Pool::of(device.token_type)),
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

    /// Shortens an activity token's life to `at` (Unix seconds) when that
    /// is sooner than its expiry, if it is still the registration that was
    /// pushed to: an activity that ended. Reads skip it from `at` on, and
    /// DynamoDB's TTL deletes it later. A time already past (a client's
    /// `dismissal_date` of 0) is stored as now: TTL ignores items whose
    /// expiry is more than five years in the past, which would keep them
    /// for ever.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn expire_activity_token(
        &self,
        tenant_id: &str,
        device: &Device,
        at: i64,
    ) -> Result<()> {
        let at = at.max(crate::clock::now_epoch_seconds());
        let sk = device_sk(&device.token);
        let update = |pk: String| {
            update_item(
                self.tx_update(key(pk, sk.clone()))
                    .update_expression("SET expires_at = :at")
                    .condition_expression(
                        "user_id = :user AND updated_at = :updated AND expires_at > :at",
                    )
                    .expression_attribute_values(":at", n(at))
                    .expression_attribute_values(":user", s(device.user_id.clone()))
                    .expression_attribute_values(":updated", s(device.updated_at.clone())),
            )
        };
        let items = vec![
            update(tenant_pk(tenant_id))?,
            update(user_pk(tenant_id, &device.user_id))?,
        ];
        // Cancelled: re-registered, gone, or already expiring sooner; kept as is.
        if self
            .transact(items, None, "expiring activity token")
            .await?
            .is_ok()
        {
            tracing::info!("ended activity token expires");
        }
        Ok(())
    }
}
