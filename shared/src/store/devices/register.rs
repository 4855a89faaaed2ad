//! Registering a device: read the token's device item and the user's
//! counter, let `registration::next_step` decide, write it in one
//! transaction, and retry after a lost race.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::counters::{counter_key, CounterItem, Pool};
use super::registration::{device_conflict, next_step, Change, Learnt, Step};
use super::tenant_count::{tenant_device_delta, tenant_devices_key};
use super::{back_off, decode_item, encode, DeviceItem, WRITE_ATTEMPTS};
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::device::TokenMoves;
use crate::model::device::ACTIVITY_TOKEN_LIFETIME_SECS;
use crate::model::{Device, DeviceRegistration};
use crate::store::keys::{device_sk, user_pk, DEVICE_PREFIX, TENANT_DEVICES_SK};
use crate::store::ops::{delete_item, live_tenant_check, put_item, Cancelled};
use crate::store::{key, number_attribute, s, tenant_pk, text_attribute, Store, SK};

/// What a registration reads before deciding, in one round trip.
#[derive(Default)]
struct RegistrationRead {
    /// The token's device item.
    device: Option<DeviceItem>,
    /// The user's counter of the token's pool.
    user_devices: Option<u64>,
    /// The tenant's count of devices (see `tenant_count`).
    tenant_devices: Option<u64>,
}

/// 409 `too_many_devices` for a tenant at its `devices` limit.
fn tenant_at_limit(limit: u32) -> Error {
    tracing::info!(limit, "device refused: the tenant is at its devices limit");
    Error::Conflict {
        code: "too_many_devices",
        detail: format!(
            "this tenant has {limit} devices registered, its `devices` limit; unregister devices \
             or ask the deployment's operator for a higher limit (re-registering a device always works)"
        ),
    }
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

/// Where a registration's counter updates sit in its transaction, to tell
/// which of them a cancellation names.
struct CounterSlots {
    increment_at: Option<usize>,
    decrement_at: Option<usize>,
}

impl CounterSlots {
    /// What a cancelled registration means for the next attempt.
    fn written(&self, cancelled: Cancelled) -> Result<Written> {
        // Item 1 is the device: changed since read.
        if cancelled.condition_failed(1) || cancelled.any_conflict() {
            Ok(Written::Changed)
        } else if self
            .increment_at
            .is_some_and(|at| cancelled.condition_failed(at))
        {
            Ok(Written::CounterRefused)
        } else if self
            .decrement_at
            .is_some_and(|at| cancelled.condition_failed(at))
        {
            Ok(Written::OldOwnerUncounted)
        } else {
            Err(cancelled.into_error("registering device"))
        }
    }
}

/// The device a registration writes: `created_at` kept from the one it
/// replaces.
fn registered_device(
    registration: &DeviceRegistration,
    current: Option<&Device>,
    now: String,
) -> Device {
    Device {
        token: registration.token.clone(),
        user_id: registration.user_id.clone(),
        platform: registration.platform,
        token_type: registration.token_type,
        app_version: registration.app_version.clone(),
        created_at: current.map_or_else(|| now.clone(), |old| old.created_at.clone()),
        updated_at: now,
        web_push_keys: registration.web_push_keys.clone(),
    }
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
    ) -> Result<RegistrationRead> {
        let keys = vec![
            key(tenant_pk(tenant_id), device_sk(token)),
            counter_key(tenant_id, user_id, pool),
            tenant_devices_key(tenant_id),
        ];
        let mut read = RegistrationRead::default();
        for item in self.batch_get_consistent(keys, "reading device").await? {
            match text_attribute(&item, SK) {
                Some(sk) if sk.starts_with(DEVICE_PREFIX) => read.device = Some(decode_item(item)?),
                Some(TENANT_DEVICES_SK) => {
                    read.tenant_devices = number_attribute(&item, "device_count")
                        .and_then(|count| u64::try_from(count).ok());
                }
                _ => {
                    let counter: CounterItem =
                        crate::store::ops::decode(item, "decoding device count")?;
                    read.user_devices = Some(counter.device_count);
                }
            }
        }
        Ok(read)
    }

    /// Registers a device or updates it (keeping `created_at`); a token of
    /// another user moves to this one when `moves` allows it (409
    /// `token_owned_by_other_user` otherwise). A token new to the user is
    /// refused with 409 `too_many_devices` once the user has
    /// [`MAX_DEVICES_PER_USER`](crate::model::device::MAX_DEVICES_PER_USER).
    /// A token new to the tenant's devices is refused with 409
    /// `too_many_devices` too once the tenant has `tenant_devices` (its
    /// `devices` limit; `None` for none), counted as `tenant_count` says.
    /// Atomic with the tenant's existence: nothing is written for a tenant
    /// deleted meanwhile (`NotFound`).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, platform = %registration.platform))]
    pub async fn register_device(
        &self,
        tenant_id: &str,
        registration: &DeviceRegistration,
        moves: TokenMoves,
        tenant_devices: Option<u32>,
    ) -> Result<Device> {
        let user_id = registration.user_id.as_str();
        let pool = Pool::of(registration.token_type);
        let mut learnt = Learnt::default();
        for attempt in 0..WRITE_ATTEMPTS {
            let read = self
                .read_registration(tenant_id, &registration.token, user_id, pool)
                .await?;
            let (current, count) = (read.device, read.user_devices);
            let tenant_delta = tenant_device_delta(
                current.as_ref().map(|old| Pool::of(old.device.token_type)),
                pool,
            );
            if let (Some(limit), true) = (tenant_devices, tenant_delta > 0) {
                let Some(counted) = read.tenant_devices else {
                    self.start_tenant_device_count(tenant_id).await?;
                    continue;
                };
                if counted >= u64::from(limit) {
                    return Err(tenant_at_limit(limit));
                }
            }
            let now = now_epoch_seconds();
            let change = match next_step(current.as_ref(), count, registration, moves, now, &learnt)
            {
                Step::Refuse(error) => return Err(error),
                Step::StartCount => {
                    self.start_device_count(tenant_id, user_id, pool).await?;
                    continue;
                }
                Step::Recount { counted } => {
                    learnt.recounted = true;
                    self.recount_activity_tokens(tenant_id, user_id, counted)
                        .await?;
                    continue;
                }
                Step::Write(change) => change,
            };
            let current = current.map(|old| old.device);
            match self
                .write_registration(tenant_id, registration, current.as_ref(), change)
                .await?
            {
                Written::Done(device) => {
                    self.add_tenant_devices(tenant_id, tenant_delta).await;
                    return Ok(device);
                }
                Written::Changed => back_off(attempt).await,
                // Filled up or gone since the read: read it again.
                Written::CounterRefused => {}
                // Only a token that left its old owner decrements them.
                Written::OldOwnerUncounted => {
                    learnt.uncounted_owner = current.map(|old| old.user_id)
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
        let device = registered_device(registration, current, now_rfc3339());
        let expires_at = registration
            .token_type
            .is_activity()
            .then(|| now_epoch_seconds().saturating_add(ACTIVITY_TOKEN_LIFETIME_SECS));
        let (items, slots) =
            self.registration_items(tenant_id, &device, expires_at, current, change)?;
        match self
            .transact_for_tenant(items, None, "registering device")
            .await?
        {
            Ok(()) => {
                tracing::info!(
                    moved = current.is_some_and(|old| old.user_id != device.user_id),
                    new = current.is_none(),
                    "device registered"
                );
                Ok(Written::Done(device))
            }
            Err(cancelled) => slots.written(cancelled),
        }
    }

    /// The registration's transaction: the tenant is live, the device and
    /// its index item (the device unchanged since `current` was read), the
    /// old owner's index item gone, and the counters changed.
    fn registration_items(
        &self,
        tenant_id: &str,
        device: &Device,
        expires_at: Option<i64>,
        current: Option<&Device>,
        change: Change,
    ) -> Result<(Vec<TransactWriteItem>, CounterSlots)> {
        let sk = device_sk(&device.token);
        let item = |pk: String, entity: &str| {
            encode(DeviceItem {
                pk,
                sk: sk.clone(),
                entity: entity.to_owned(),
                device: device.clone(),
                expires_at,
            })
        };
        let mut put_device = self.tx_put(item(tenant_pk(tenant_id), "device")?);
        // Unchanged since read: same owner, same last write.
        put_device = match current {
            None => put_device.condition_expression("attribute_not_exists(PK)"),
            Some(old) => put_device
                .condition_expression("user_id = :old_user AND updated_at = :old_updated")
                .expression_attribute_values(":old_user", s(old.user_id.clone()))
                .expression_attribute_values(":old_updated", s(old.updated_at.clone())),
        };
        let put_index = self.tx_put(item(user_pk(tenant_id, &device.user_id), "device_index")?);
        let mut items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            put_item(put_device)?,
            put_item(put_index)?,
        ];
        if let Some(old) = current.filter(|old| old.user_id != device.user_id) {
            let old_index = key(user_pk(tenant_id, &old.user_id), sk.clone());
            items.push(delete_item(self.tx_delete(old_index))?);
        }
        // The token becomes this user's: one more in its pool for them...
        let increment_at = if change.increment {
            let pool = Pool::of(device.token_type);
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
        let slots = CounterSlots {
            increment_at,
            decrement_at,
        };
        Ok((items, slots))
    }
}
