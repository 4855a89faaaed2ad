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

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::keys::{activity_counter_sk, counter_sk, device_sk, user_pk, DEVICE_PREFIX};
use super::ops::{delete_item, live_tenant_check, put_item, update_item, ConditionalExt, Item};
use super::{key, n, s, tenant_pk, text_attribute, Store, SK};
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::device::{
    TokenMoves, ACTIVITY_TOKEN_LIFETIME_SECS, MAX_ACTIVITY_TOKENS_PER_USER, MAX_DEVICES_PER_USER,
};
use crate::model::{Device, DeviceRegistration, TokenType};

/// Index items one listing reads at most: both caps plus a margin, so that
/// a user whose devices predate the cap still costs bounded memory and work.
pub const MAX_DEVICES_LISTED: usize = MAX_DEVICES_PER_USER + MAX_ACTIVITY_TOKENS_PER_USER + 10;

/// Which counter and cap a token counts towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    Devices,
    Activities,
}

impl Pool {
    fn of(token_type: TokenType) -> Self {
        if token_type.is_activity() {
            Pool::Activities
        } else {
            Pool::Devices
        }
    }

    fn cap(self) -> usize {
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
/// Transactions one registration or deletion tries before answering 409
/// `device_conflict` (each retry follows a concurrent change it lost to).
const WRITE_ATTEMPTS: u32 = 6;

fn counter_key(tenant_id: &str, user_id: &str, pool: Pool) -> Item {
    key(tenant_pk(tenant_id), pool.counter_sk(user_id))
}

/// The counter item of a user with `count` devices, for test harnesses that
/// write devices straight into the table.
#[cfg(feature = "testing")]
pub fn device_counter_item(tenant_id: &str, user_id: &str, count: u64) -> Result<Item> {
    counter_item(tenant_id, user_id, Pool::Devices, count)
}

fn counter_item(tenant_id: &str, user_id: &str, pool: Pool, count: u64) -> Result<Item> {
    super::ops::encode(
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

/// What a registration does to the counters.
#[derive(Debug, Clone, Copy)]
struct Change {
    /// The token joins the user's counter of its pool.
    increment: bool,
    /// It leaves the counter of its old owner or old pool.
    decrement_old: bool,
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

fn too_many_devices(pool: Pool) -> Error {
    match pool {
        Pool::Devices => Error::Conflict {
            code: "too_many_devices",
            detail: format!(
                "this `user_id` already has {MAX_DEVICES_PER_USER} devices, the most a user may have; \
                 unregister one first (re-registering one of them always works)"
            ),
        },
        Pool::Activities => Error::Conflict {
            code: "too_many_activity_tokens",
            detail: format!(
                "this `user_id` already has {MAX_ACTIVITY_TOKENS_PER_USER} live Live Activity \
                 tokens (`token_type` `liveactivity` or `push_to_start`), the most a user may have; \
                 unregister one or let them expire"
            ),
        },
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
        pool: Pool,
    ) -> Result<(Option<DeviceItem>, Option<u64>)> {
        let keys = vec![
            key(tenant_pk(tenant_id), device_sk(token)),
            counter_key(tenant_id, user_id, pool),
        ];
        let mut device = None;
        let mut count = None;
        for item in self.batch_get_consistent(keys, "reading device").await? {
            if text_attribute(&item, SK).is_some_and(|sk| sk.starts_with(DEVICE_PREFIX)) {
                device = Some(decode_item(item)?);
            } else {
                let counter: CounterItem = super::ops::decode(item, "decoding device count")?;
                count = Some(counter.device_count);
            }
        }
        Ok((device, count))
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
        let pool = Pool::of(registration.token_type);
        // An old owner whose counter cannot be decremented (absent: their
        // count starts later from their index items; or zero): skip it.
        let mut uncounted_owner: Option<String> = None;
        let mut recounted = false;
        for attempt in 0..WRITE_ATTEMPTS {
            let (current, count) = self
                .read_registration(tenant_id, &registration.token, user_id, pool)
                .await?;
            let moved_from = current
                .as_ref()
                .map(|old| old.device.user_id.as_str())
                .filter(|old_user| *old_user != user_id);
            if moved_from.is_some() && moves == TokenMoves::Refused {
                tracing::info!("device move refused: the token belongs to another user");
                return Err(token_owned_by_other_user());
            }
            let now = now_epoch_seconds();
            // The token leaves its old counter: another user's, or the
            // user's other pool (a token re-registered with another type).
            let leaves = current
                .as_ref()
                .filter(|old| moved_from.is_some() || Pool::of(old.device.token_type) != pool);
            // ...and joins this user's: new, moved, retyped, or an expired
            // activity token coming back (a recount may have dropped it).
            let joins = current.is_none()
                || leaves.is_some()
                || current.as_ref().is_some_and(|old| expired(old, now));
            if joins {
                match count {
                    None => {
                        self.start_device_count(tenant_id, user_id, pool).await?;
                        continue;
                    }
                    Some(count) if count >= pool.cap() as u64 => {
                        // Activity tokens also leave by expiring, which no
                        // counter sees: count the live ones once.
                        if pool == Pool::Activities && !recounted {
                            recounted = true;
                            self.recount_activity_tokens(tenant_id, user_id, count)
                                .await?;
                            continue;
                        }
                        tracing::info!(count, "device refused: the user is at the cap");
                        return Err(too_many_devices(pool));
                    }
                    Some(_) => {}
                }
            }
            let decrement_old = leaves.is_some_and(|old| {
                uncounted_owner.as_deref() != Some(old.device.user_id.as_str())
                    && !expired(old, now)
            });
            match self
                .write_registration(
                    tenant_id,
                    registration,
                    current.as_ref().map(|old| &old.device),
                    Change {
                        increment: joins,
                        decrement_old,
                    },
                )
                .await?
            {
                Written::Done(device) => return Ok(device),
                Written::Changed => back_off(attempt).await,
                // Filled up or gone since the read: read it again.
                Written::CounterRefused => {}
                Written::OldOwnerUncounted => {
                    uncounted_owner = leaves.map(|old| old.device.user_id.clone())
                }
            }
        }
        Err(device_conflict())
    }

    async fn write_registration(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
        current: Option<&Device>,
        change: Change,
    ) -> Result<Written> {
        let now = now_rfc3339();
        let expires_at = registration
            .token_type
            .is_activity()
            .then(|| now_epoch_seconds().saturating_add(ACTIVITY_TOKEN_LIFETIME_SECS));
        let device = Device {
            token: registration.token.clone(),
            user_id: registration.user_id.clone(),
            platform: registration.platform,
            token_type: registration.token_type,
            app_version: registration.app_version.clone(),
            created_at: current.map_or_else(|| now.clone(), |old| old.created_at.clone()),
            updated_at: now,
            web_push_keys: registration.web_push_keys.clone(),
        };
        let moved_from = current.filter(|old| old.user_id != device.user_id);
        let sk = device_sk(&device.token);
        let mut put_device = self.tx_put(encode(DeviceItem {
            pk: tenant_pk(tenant_id),
            sk: sk.clone(),
            entity: "device".to_owned(),
            device: device.clone(),
            expires_at,
        })?);
        // Unchanged since read: same owner, same last write.
        put_device = match current {
            None => put_device.condition_expression("attribute_not_exists(PK)"),
            Some(old) => put_device
                .condition_expression("user_id = :old_user AND updated_at = :old_updated")
                .expression_attribute_values(":old_user", s(old.user_id.clone()))
                .expression_attribute_values(":old_updated", s(old.updated_at.clone())),
        };
        let put_index = self.tx_put(encode(DeviceItem {
            pk: user_pk(tenant_id, &device.user_id),
            sk: sk.clone(),
            entity: "device_index".to_owned(),
            device: device.clone(),
            expires_at,
        })?);
        let mut items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            put_item(put_device)?,
            put_item(put_index)?,
        ];
        if let Some(old) = moved_from {
            let old_index = key(user_pk(tenant_id, &old.user_id), sk.clone());
            items.push(delete_item(self.tx_delete(old_index))?);
        }
        // The token becomes this user's: one more in its pool for them...
        let pool = Pool::of(device.token_type);
        let increment_at = if change.increment {
            items.push(self.count_device(tenant_id, &device.user_id, pool, 1)?);
            Some(items.len() - 1)
        } else {
            None
        };
        // ...and one fewer for the user or pool it leaves.
        let decrement_at = match current {
            Some(old) if change.decrement_old => {
                let old_pool = Pool::of(old.token_type);
                items.push(self.count_device(tenant_id, &old.user_id, old_pool, -1)?);
                Some(items.len() - 1)
            }
            _ => None,
        };
        match self
            .transact_for_tenant(items, None, "registering device")
            .await?
        {
            Ok(()) => {
                tracing::info!(
                    moved = moved_from.is_some(),
                    new = current.is_none(),
                    "device registered"
                );
                Ok(Written::Done(device))
            }
            Err(cancelled) if cancelled.condition_failed(1) || cancelled.any_conflict() => {
                Ok(Written::Changed)
            }
            Err(cancelled) if increment_at.is_some_and(|at| cancelled.condition_failed(at)) => {
                Ok(Written::CounterRefused)
            }
            Err(cancelled) if decrement_at.is_some_and(|at| cancelled.condition_failed(at)) => {
                Ok(Written::OldOwnerUncounted)
            }
            Err(cancelled) => Err(cancelled.into_error("registering device")),
        }
    }

    /// The transaction item that adds `delta` (1 or -1) to the user's
    /// counter: an increment only below the cap, a decrement only above
    /// zero, neither on an absent counter.
    fn count_device(
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
    async fn start_device_count(&self, tenant_id: &str, user_id: &str, pool: Pool) -> Result<()> {
        let count = self.count_pool(tenant_id, user_id, pool).await?;
        let item = counter_item(tenant_id, user_id, pool, count as u64)?;
        self.put_device_count(tenant_id, item, count).await
    }

    /// Sets the user's activity counter, read as `counted`, to their live
    /// activity tokens: expiries and TTL deletions never decrement it. On
    /// the condition that it is unchanged, so a concurrent registration's
    /// increment is never lost.
    async fn recount_activity_tokens(
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

    /// The user's devices, in token order, strongly consistent. Reads at
    /// most [`MAX_DEVICES_LISTED`] of them, however many older data holds.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn list_devices(&self, tenant_id: &str, user_id: &str) -> Result<Vec<Device>> {
        let now = now_epoch_seconds();
        let query = self
            .query_prefix(user_pk(tenant_id, user_id), DEVICE_PREFIX)
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
                Ok(()) => return Ok(true),
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
