//! API key items. Each key is two items written and deleted together: the
//! tenant's record (listed by key id) and a lookup item keyed by the key's
//! SHA-256, which authentication reads together with the tenant in one
//! strongly consistent request.

use serde::{Deserialize, Serialize};

use super::key_rates::{key_rates_key, rate_of, rate_sum_of};
use super::key_windows::USAGE_TTL_SECS;
use super::keys::{
    key_lookup_pk, key_record_sk, KEY_LOOKUP_PREFIX, KEY_LOOKUP_SK, KEY_RATES_SK,
    KEY_RECORD_PREFIX, RETIRED_KEY_PREFIX,
};
use super::ops::{decode, delete_item, encode, live_tenant_check, put_item, ConditionFailure};
use super::tenants::{live_tenant_from_item, tenant_key};
use super::{key, n, s, tenant_pk, text_attribute, Store, PK, SK};
use crate::error::{Error, Result};
use crate::model::{ApiKey, ApiKeyGrant, Scope, Tenant};

/// How stale `last_used_at` may get before a request refreshes it: one write
/// per key per hour instead of one per request.
const LAST_USED_GRANULARITY_SECS: i64 = 3600;
/// Insertions tried while the tenant's key rates item appears or changes.
const KEY_RATES_ATTEMPTS: usize = 3;

#[derive(Serialize, Deserialize)]
struct KeyRecordItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    tenant_id: String,
    key_hash: String,
    #[serde(flatten)]
    key: ApiKey,
}

#[derive(Serialize, Deserialize)]
struct KeyLookupItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    tenant_id: String,
    key_id: String,
    scopes: Vec<Scope>,
    last_used_at: Option<String>,
    #[serde(default)]
    rate_limit: Option<u32>,
}

impl From<KeyLookupItem> for ApiKeyGrant {
    fn from(item: KeyLookupItem) -> Self {
        let hash = item
            .pk
            .strip_prefix(KEY_LOOKUP_PREFIX)
            .unwrap_or_default()
            .to_owned();
        Self {
            key_id: item.key_id,
            tenant_id: item.tenant_id,
            scopes: item.scopes,
            last_used_at: item.last_used_at,
            rate_limit: item.rate_limit,
            hash,
        }
    }
}

impl Store {
    /// Stores a new key for an existing tenant, atomically with its lookup
    /// item and its share of the tenant's key rates (`legacy_rate` for keys
    /// made before keys had a `rate_limit`: see `key_rates.rs`).
    #[tracing::instrument(skip(self, api_key, hash), fields(key_id = %api_key.key_id))]
    pub async fn insert_api_key(
        &self,
        tenant_id: &str,
        api_key: &ApiKey,
        hash: &str,
        legacy_rate: u32,
    ) -> Result<()> {
        let record = encode(
            KeyRecordItem {
                pk: tenant_pk(tenant_id),
                sk: key_record_sk(&api_key.key_id),
                entity: "api_key".to_owned(),
                tenant_id: tenant_id.to_owned(),
                key_hash: hash.to_owned(),
                key: api_key.clone(),
            },
            "encoding API key item",
        )?;
        let lookup = encode(
            KeyLookupItem {
                pk: key_lookup_pk(hash),
                sk: KEY_LOOKUP_SK.to_owned(),
                entity: "api_key_lookup".to_owned(),
                tenant_id: tenant_id.to_owned(),
                key_id: api_key.key_id.clone(),
                scopes: api_key.scopes.clone(),
                last_used_at: None,
                rate_limit: api_key.rate_limit,
            },
            "encoding API key item",
        )?;
        let rate = i64::try_from(rate_of(api_key, legacy_rate)).unwrap_or(i64::MAX);
        for attempt in 0..KEY_RATES_ATTEMPTS {
            let mut items = vec![
                live_tenant_check(&self.table, tenant_id)?,
                self.tx_put_new(record.clone())?,
                self.tx_put_new(lookup.clone())?,
            ];
            items.extend(self.key_rates_change(tenant_id, rate, legacy_rate).await?);
            // The SDK retries a transaction whose answer was lost (a 500, a
            // timeout); with the same token DynamoDB applies it once and
            // answers the retry with success. A new attempt, with another
            // rates item, takes a token of its own.
            let request_token = format!("{}-{attempt}", api_key.key_id);
            match self
                .transact_for_tenant(items, Some(&request_token), "inserting API key")
                .await?
            {
                // The rates item appeared or went since read: read it again.
                Err(cancelled)
                    if cancelled.condition_failed(3) && !cancelled.condition_failed(2) =>
                {
                    continue
                }
                outcome => return self.inserted_key(outcome, api_key, hash).await,
            }
        }
        Err(Error::Conflict {
            code: "tenant_changing",
            detail: "the tenant's keys changed meanwhile; retry".to_owned(),
        })
    }

    /// What an API key's insertion transaction ended in.
    async fn inserted_key(
        &self,
        outcome: std::result::Result<(), super::ops::Cancelled>,
        api_key: &ApiKey,
        hash: &str,
    ) -> Result<()> {
        match outcome {
            Ok(()) => Ok(()),
            // Both items exist: an earlier attempt of this very call wrote
            // them (a store that does not honour the request token, such
            // as the emulator), since a fresh key's id and hash are unique.
            Err(cancelled)
                if cancelled.condition_failed(2)
                    && self
                        .find_api_key(hash)
                        .await?
                        .is_some_and(|grant| grant.key_id == api_key.key_id) =>
            {
                tracing::info!("API key already written by an earlier attempt");
                Ok(())
            }
            Err(cancelled) => Err(cancelled.into_error("inserting API key")),
        }
    }

    /// The tenant's keys, in key-id order.
    #[tracing::instrument(skip(self))]
    pub async fn list_api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>> {
        let items = self
            .query_all(
                self.query_prefix(tenant_pk(tenant_id), KEY_RECORD_PREFIX),
                "listing API keys",
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                decode::<KeyRecordItem>(item, "decoding API key item").map(|record| record.key)
            })
            .collect()
    }

    /// The tenant's keys deleted within the usage's 91 days: its usage
    /// totals still count what they did.
    #[tracing::instrument(skip(self))]
    pub async fn retired_api_key_ids(&self, tenant_id: &str) -> Result<Vec<String>> {
        let items = self
            .query_all(
                self.query_prefix(tenant_pk(tenant_id), RETIRED_KEY_PREFIX),
                "listing deleted API keys",
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| text_attribute(item, "key_id"))
            .map(str::to_owned)
            .collect())
    }

    /// Deletes a key and its lookup item, and remembers the key for its
    /// tenant's usage totals, taking its rate off the tenant's key rates;
    /// `false` when the tenant has no such key.
    #[tracing::instrument(skip(self))]
    pub async fn delete_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        legacy_rate: u32,
    ) -> Result<bool> {
        let record_key = key(tenant_pk(tenant_id), key_record_sk(key_id));
        let Some(item) = self
            .get_consistent(record_key.clone(), "reading API key")
            .await?
        else {
            return Ok(false);
        };
        let record: KeyRecordItem = decode(item, "decoding API key item")?;
        let rate = i64::try_from(rate_of(&record.key, legacy_rate)).unwrap_or(i64::MAX);
        let mut items = vec![
            delete_item(
                self.tx_delete(record_key)
                    .condition_expression("attribute_exists(PK)"),
            )?,
            delete_item(self.tx_delete(key(key_lookup_pk(&record.key_hash), KEY_LOOKUP_SK)))?,
            put_item(self.tx_put(retired_key_item(tenant_id, key_id)))?,
        ];
        items.extend(self.key_rates_change(tenant_id, -rate, legacy_rate).await?);
        // The SDK retries a transaction whose answer was lost; with a token
        // of this call DynamoDB applies it once and answers with success.
        let request_token = uuid::Uuid::new_v4().to_string();
        match self
            .transact(items, Some(&request_token), "deleting API key")
            .await?
        {
            Ok(()) => Ok(true),
            // The key was there when read and is gone now: deleted by an
            // earlier attempt of this call whose answer was lost (a store
            // that ignores the token, such as the emulator), or by a
            // concurrent request. Either way this DELETE's work is done.
            Err(cancelled) if cancelled.condition_failed(0) => Ok(true),
            Err(cancelled) => Err(cancelled.into_error("deleting API key")),
        }
    }

    /// Reads the key's lookup item and the tenant of the request path in one
    /// strongly consistent request. A key whose tenant is gone grants nothing.
    #[tracing::instrument(skip(self, hash))]
    pub async fn authenticate_api_key(
        &self,
        hash: &str,
        tenant_id: &str,
    ) -> Result<(Option<ApiKeyGrant>, Option<Tenant>)> {
        let keys = vec![
            key(key_lookup_pk(hash), KEY_LOOKUP_SK),
            tenant_key(tenant_id),
            key_rates_key(tenant_id),
        ];
        let mut grant = None;
        let mut tenant = None;
        let mut key_rates = None;
        for item in self
            .batch_get_consistent(keys, "authenticating API key")
            .await?
        {
            if text_attribute(&item, PK).is_some_and(|pk| pk.starts_with(KEY_LOOKUP_PREFIX)) {
                let lookup: KeyLookupItem = decode(item, "decoding API key lookup")?;
                grant = Some(ApiKeyGrant::from(lookup));
            } else if text_attribute(&item, SK) == Some(KEY_RATES_SK) {
                key_rates = rate_sum_of(&item);
            } else {
                // A tenant being deleted is no tenant: its keys grant nothing.
                tenant = live_tenant_from_item(item)?;
            }
        }
        Ok((
            grant,
            tenant.map(|tenant| Tenant {
                key_rates,
                ..tenant
            }),
        ))
    }

    /// The grant of a key by its hash, strongly consistent.
    #[tracing::instrument(skip(self, hash))]
    pub async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKeyGrant>> {
        let item = self
            .get_consistent(key(key_lookup_pk(hash), KEY_LOOKUP_SK), "reading API key")
            .await?;
        item.map(|item| {
            decode::<KeyLookupItem>(item, "decoding API key lookup").map(ApiKeyGrant::from)
        })
        .transpose()
    }

    /// Refreshes `last_used_at` when it is over an hour old. Failures are
    /// logged, never fatal: this is bookkeeping, not authorisation.
    #[tracing::instrument(skip(self, grant), fields(key_id = %grant.key_id))]
    pub async fn record_api_key_use(
        &self,
        grant: &ApiKeyGrant,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let fresh = grant
            .last_used_at
            .as_deref()
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
            .is_some_and(|last| (now.timestamp() - last.timestamp()) < LAST_USED_GRANULARITY_SECS);
        if fresh {
            return;
        }
        let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let targets = [
            key(key_lookup_pk(&grant.hash), KEY_LOOKUP_SK),
            key(tenant_pk(&grant.tenant_id), key_record_sk(&grant.key_id)),
        ];
        let updates = targets.into_iter().map(|target| {
            self.update(target)
                .update_expression("SET last_used_at = :now")
                // Never resurrect a key deleted a moment ago.
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":now", s(stamp.clone()))
                .send()
        });
        for result in futures::future::join_all(updates).await {
            match result {
                // A failed condition is a key deleted meanwhile: nothing to record.
                Err(err)
                    if !err
                        .as_service_error()
                        .is_some_and(ConditionFailure::is_condition_failure) =>
                {
                    tracing::warn!(
                        error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err),
                        "could not record API key use"
                    );
                }
                _ => {}
            }
        }
    }

    /// Deletes every key of a tenant (both items of each); returns how many.
    #[tracing::instrument(skip(self))]
    pub async fn delete_all_api_keys(&self, tenant_id: &str) -> Result<usize> {
        let keys = self
            .query_all(
                self.query_prefix(tenant_pk(tenant_id), KEY_RECORD_PREFIX),
                "listing API keys",
            )
            .await?;
        let mut deletes = Vec::new();
        for item in keys {
            let record: KeyRecordItem = decode(item, "decoding API key item")?;
            deletes.push(key(key_lookup_pk(&record.key_hash), KEY_LOOKUP_SK));
            deletes.push(key(record.pk, record.sk));
        }
        let count = deletes.len() / 2;
        self.batch_delete(deletes).await?;
        Ok(count)
    }
}

/// The item that remembers a deleted key for [`USAGE_TTL_SECS`], as long
/// as its usage items live (DynamoDB's TTL removes both).
fn retired_key_item(tenant_id: &str, key_id: &str) -> super::ops::Item {
    let mut item = key(
        tenant_pk(tenant_id),
        format!("{RETIRED_KEY_PREFIX}{key_id}"),
    );
    let expires_at = crate::clock::now_epoch_seconds().saturating_add(USAGE_TTL_SECS);
    item.insert("entity".to_owned(), s("retired_api_key"));
    item.insert("key_id".to_owned(), s(key_id));
    item.insert("expires_at".to_owned(), n(expires_at));
    item
}
