//! The marker that a tenant has user verification on: PK `TENANT#{tenant}`,
//! SK `USER_VERIFICATION`, with the time the current secret was made. The
//! secret itself lives only in the tenant's Secrets Manager secret; the
//! marker lets a registration know whether to check a `user_signature`
//! without reading that secret when verification is off.
//!
//! An item of its own rather than an attribute of the tenant item: a tenant
//! update rewrites the tenant item whole, and could otherwise turn
//! verification off by writing back what it read just before.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::keys::USER_VERIFICATION_SK;
use super::tenants::tenant_key;
use super::{build, condition_failed, key, tenant_pk, Store};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct MarkerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    created_at: String,
}

impl Store {
    /// When the tenant's current verification secret was made; `None` when
    /// user verification is off.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn user_verification(&self, tenant_id: &str) -> Result<Option<String>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), USER_VERIFICATION_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading user verification", err))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item::<_, MarkerItem>(item)
                    .map(|marker| marker.created_at)
                    .map_err(|err| Error::internal("decoding user verification", err))
            })
            .transpose()
    }

    /// Records that user verification is on, atomically with the tenant's
    /// existence (`NotFound` for a tenant deleted meanwhile).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn put_user_verification(&self, tenant_id: &str, created_at: &str) -> Result<()> {
        let item = serde_dynamo::to_item(MarkerItem {
            pk: tenant_pk(tenant_id),
            sk: USER_VERIFICATION_SK.to_owned(),
            entity: "user_verification".to_owned(),
            created_at: created_at.to_owned(),
        })
        .map_err(|err| Error::internal("encoding user verification", err))?;
        let tenant_exists = build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(tenant_key(tenant_id)))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        let put_marker = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build(),
        )?;
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put_marker).build())
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel))
                    if condition_failed(cancel.cancellation_reasons(), 0) =>
                {
                    Error::NotFound("tenant not found".to_owned())
                }
                _ => Error::from_sdk("recording user verification", err),
            })?;
        Ok(())
    }

    /// Turns the marker off; `false` when verification was off already.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn delete_user_verification(&self, tenant_id: &str) -> Result<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), USER_VERIFICATION_SK)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|err| Error::from_sdk("deleting user verification", err))?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
