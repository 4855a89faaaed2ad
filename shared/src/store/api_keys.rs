//! API key items. Each key is two items written and deleted together: the
//! tenant's record (listed by key id) and a lookup item keyed by the key's
//! SHA-256, which authentication reads together with the tenant in one
//! strongly consistent request.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};
use serde::{Deserialize, Serialize};

use super::keys::{
    key_lookup_pk, key_record_sk, KEY_LOOKUP_PREFIX, KEY_LOOKUP_SK, KEY_RECORD_PREFIX,
};
use super::tenants::{live_tenant_check, live_tenant_from_item, tenant_key};
use super::{build, condition_failed, key, s, tenant_pk, Store, PK};
use crate::error::{Error, Result};
use crate::model::{ApiKey, Scope, Tenant};

/// How stale `last_used_at` may get before a request refreshes it: one write
/// per key per hour instead of one per request.
const LAST_USED_GRANULARITY_SECS: i64 = 3600;

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
}

/// What a valid API key grants: one tenant, some scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyGrant {
    pub key_id: String,
    pub tenant_id: String,
    pub scopes: Vec<Scope>,
    pub last_used_at: Option<String>,
    hash: String,
}

impl ApiKeyGrant {
    /// Whether the key may do what `scope` names (`devices` includes `register`).
    pub fn allows(&self, scope: Scope) -> bool {
        scope
            .granted_by()
            .iter()
            .any(|granted| self.scopes.contains(granted))
    }
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
            hash,
        }
    }
}

fn encode<T: Serialize>(value: T) -> Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(value).map_err(|err| Error::internal("encoding API key item", err))
}

impl Store {
    /// Stores a new key for an existing tenant, atomically with its lookup item.
    #[tracing::instrument(skip(self, api_key, hash), fields(key_id = %api_key.key_id))]
    pub async fn insert_api_key(
        &self,
        tenant_id: &str,
        api_key: &ApiKey,
        hash: &str,
    ) -> Result<()> {
        let record = encode(KeyRecordItem {
            pk: tenant_pk(tenant_id),
            sk: key_record_sk(&api_key.key_id),
            entity: "api_key".to_owned(),
            tenant_id: tenant_id.to_owned(),
            key_hash: hash.to_owned(),
            key: api_key.clone(),
        })?;
        let lookup = encode(KeyLookupItem {
            pk: key_lookup_pk(hash),
            sk: KEY_LOOKUP_SK.to_owned(),
            entity: "api_key_lookup".to_owned(),
            tenant_id: tenant_id.to_owned(),
            key_id: api_key.key_id.clone(),
            scopes: api_key.scopes.clone(),
            last_used_at: None,
        })?;
        let tenant_exists = live_tenant_check(&self.table, tenant_id)?;
        let put_record = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let put_lookup = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(lookup))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            // The SDK retries a transaction whose answer was lost (a 500, a
            // timeout); with the same token DynamoDB applies it once and
            // answers the retry with success.
            .client_request_token(&api_key.key_id)
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put_record).build())
            .transact_items(TransactWriteItem::builder().put(put_lookup).build())
            .send()
            .await;
        let Err(err) = result else {
            return Ok(());
        };
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                if condition_failed(cancel.cancellation_reasons(), 0) =>
            {
                Err(Error::NotFound("tenant not found".to_owned()))
            }
            // Both items exist: an earlier attempt of this very call wrote
            // them (a store that does not honour the request token, such
            // as the emulator), since a fresh key's id and hash are unique.
            Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                if condition_failed(cancel.cancellation_reasons(), 2)
                    && self
                        .find_api_key(hash)
                        .await?
                        .is_some_and(|grant| grant.key_id == api_key.key_id) =>
            {
                tracing::info!("API key already written by an earlier attempt");
                Ok(())
            }
            _ => Err(Error::from_sdk("inserting API key", err)),
        }
    }

    /// The tenant's keys, in key-id order.
    #[tracing::instrument(skip(self))]
    pub async fn list_api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>> {
        let items: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
            .expression_attribute_values(":prefix", s(KEY_RECORD_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        items
            .into_iter()
            .map(|item| {
                let item = item.map_err(|err| Error::from_sdk("listing API keys", err))?;
                serde_dynamo::from_item::<_, KeyRecordItem>(item)
                    .map(|record| record.key)
                    .map_err(|err| Error::internal("decoding API key item", err))
            })
            .collect()
    }

    /// Deletes a key and its lookup item; `false` when the tenant has no such key.
    #[tracing::instrument(skip(self))]
    pub async fn delete_api_key(&self, tenant_id: &str, key_id: &str) -> Result<bool> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), key_record_sk(key_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading API key", err))?;
        let Some(item) = output.item else {
            return Ok(false);
        };
        let record: KeyRecordItem = serde_dynamo::from_item(item)
            .map_err(|err| Error::internal("decoding API key item", err))?;
        let delete_record = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(tenant_id), key_record_sk(key_id))))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        let delete_lookup = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(key_lookup_pk(&record.key_hash), KEY_LOOKUP_SK)))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_record).build())
            .transact_items(TransactWriteItem::builder().delete(delete_lookup).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                // Deleted by a concurrent request: the key is gone either way.
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    Ok(false)
                }
                _ => Err(Error::from_sdk("deleting API key", err)),
            },
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
        let lookup_key = key(key_lookup_pk(hash), KEY_LOOKUP_SK);
        let mut pending = build(
            KeysAndAttributes::builder()
                .keys(lookup_key)
                .keys(tenant_key(tenant_id))
                .consistent_read(true)
                .build(),
        )?;
        let mut grant = None;
        let mut tenant = None;
        // BatchGetItem may leave keys unprocessed under load: retry those few.
        for attempt in 0..5u32 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|err| Error::from_sdk("authenticating API key", err))?;
            for item in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                let is_lookup = matches!(item.get(PK), Some(AttributeValue::S(pk)) if pk.starts_with(KEY_LOOKUP_PREFIX));
                if is_lookup {
                    let lookup: KeyLookupItem = serde_dynamo::from_item(item)
                        .map_err(|err| Error::internal("decoding API key lookup", err))?;
                    grant = Some(ApiKeyGrant::from(lookup));
                } else {
                    // A tenant being deleted is no tenant: its keys grant nothing.
                    tenant = live_tenant_from_item(item)?;
                }
            }
            match output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .filter(|left| !left.keys().is_empty())
            {
                Some(left) => {
                    pending = left;
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                None => return Ok((grant, tenant)),
            }
        }
        Err(Error::Unavailable {
            context: "authenticating API key",
            source: "DynamoDB left keys unprocessed".into(),
        })
    }

    /// The grant of a key by its hash, strongly consistent.
    #[tracing::instrument(skip(self, hash))]
    pub async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKeyGrant>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_lookup_pk(hash), KEY_LOOKUP_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading API key", err))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item::<_, KeyLookupItem>(item)
                    .map(ApiKeyGrant::from)
                    .map_err(|err| Error::internal("decoding API key lookup", err))
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
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(target))
                .update_expression("SET last_used_at = :now")
                // Never resurrect a key deleted a moment ago.
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":now", s(stamp.clone()))
                .send()
        });
        for result in futures::future::join_all(updates).await {
            match result {
                Ok(_) => {}
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) => {}
                Err(err) => tracing::warn!(
                    error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err),
                    "could not record API key use"
                ),
            }
        }
    }

    /// Deletes every key of a tenant (both items of each); returns how many.
    #[tracing::instrument(skip(self))]
    pub async fn delete_all_api_keys(&self, tenant_id: &str) -> Result<usize> {
        let keys = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
            .expression_attribute_values(":prefix", s(KEY_RECORD_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut deletes = Vec::new();
        for item in keys {
            let item = item.map_err(|err| Error::from_sdk("listing API keys", err))?;
            let record: KeyRecordItem = serde_dynamo::from_item(item)
                .map_err(|err| Error::internal("decoding API key item", err))?;
            deletes.push(key(key_lookup_pk(&record.key_hash), KEY_LOOKUP_SK));
            deletes.push(key(record.pk, record.sk));
        }
        let count = deletes.len() / 2;
        self.batch_delete(deletes).await?;
        Ok(count)
    }

    /// Deletes items by key, 25 to a request, retrying what DynamoDB leaves
    /// unprocessed.
    pub(crate) async fn batch_delete(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<()> {
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|item_key| {
                    build(
                        DeleteRequest::builder()
                            .set_key(Some(item_key.clone()))
                            .build(),
                    )
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|err| Error::from_sdk("deleting items", err))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(Error::Unavailable {
                            context: "deleting items",
                            source: "DynamoDB left writes unprocessed".into(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
            }
        }
        Ok(())
    }
}
