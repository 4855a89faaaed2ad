//! The marker that a tenant has user verification on: PK `TENANT#{tenant}`,
//! SK `USER_VERIFICATION`, with the time the current secret was made. The
//! secret itself lives only in the tenant's Secrets Manager secret; the
//! marker lets a registration know whether to check a `user_signature`
//! without reading that secret when verification is off.
//!
//! An item of its own rather than an attribute of the tenant item: a tenant
//! update rewrites the tenant item whole, and could otherwise turn
//! verification off by writing back what it read just before.

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::keys::USER_VERIFICATION_SK;
use super::ops::{condition_check, decode, encode, put_item, through_conflicts};
use super::tenants::tenant_key;
use super::{key, tenant_pk, Store};
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
        let marker = key(tenant_pk(tenant_id), USER_VERIFICATION_SK);
        let item = self
            .get_consistent(marker, "reading user verification")
            .await?;
        item.map(|item| {
            decode::<MarkerItem>(item, "decoding user verification").map(|marker| marker.created_at)
        })
        .transpose()
    }

    /// Records that user verification is on, atomically with the tenant's
    /// existence (`NotFound` for a tenant deleted meanwhile).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn put_user_verification(&self, tenant_id: &str, created_at: &str) -> Result<()> {
        let item = encode(
            MarkerItem {
                pk: tenant_pk(tenant_id),
                sk: USER_VERIFICATION_SK.to_owned(),
                entity: "user_verification".to_owned(),
                created_at: created_at.to_owned(),
            },
            "encoding user verification",
        )?;
        let items = vec![
            condition_check(&self.table, tenant_key(tenant_id), "attribute_exists(PK)")?,
            put_item(self.tx_put(item))?,
        ];
        match self
            .transact_for_tenant(items, None, "recording user verification")
            .await?
        {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(cancelled.into_error("recording user verification")),
        }
    }

    /// Turns the marker off; `false` when verification was off already.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn delete_user_verification(&self, tenant_id: &str) -> Result<bool> {
        let request = self
            .delete(key(tenant_pk(tenant_id), USER_VERIFICATION_SK))
            .return_values(ReturnValue::AllOld);
        let output = through_conflicts(|| request.clone().send())
            .await
            .map_err(|err| Error::from_sdk("deleting user verification", err))?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
