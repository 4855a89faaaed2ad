//! Tenant items.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use serde::{Deserialize, Serialize};

use super::{key, s, tenant_pk, Store, GSI1};
use crate::error::{Error, Result};
use crate::model::Tenant;

const TENANT_SK: &str = "TENANT";

#[derive(Serialize, Deserialize)]
struct TenantItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    entity: String,
    #[serde(flatten)]
    tenant: Tenant,
}

impl TenantItem {
    fn new(tenant: &Tenant) -> Self {
        Self {
            pk: tenant_pk(&tenant.tenant_id),
            sk: TENANT_SK.to_owned(),
            gsi1pk: org_partition(&tenant.org_id),
            gsi1sk: format!("TENANT#{}#{}", tenant.created_at, tenant.tenant_id),
            entity: "tenant".to_owned(),
            tenant: tenant.clone(),
        }
    }
}

fn org_partition(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub(crate) fn tenant_key(
    tenant_id: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    key(tenant_pk(tenant_id), TENANT_SK)
}

pub(crate) fn tenant_from_item(
    item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Result<Tenant> {
    serde_dynamo::from_item::<_, TenantItem>(item)
        .map(|item| item.tenant)
        .map_err(|err| Error::internal("decoding tenant item", err))
}

impl Store {
    /// Stores a new tenant; fails rather than overwrite an existing id.
    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.tenant_id))]
    pub async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let item = serde_dynamo::to_item(TenantItem::new(tenant))
            .map_err(|err| Error::internal("encoding tenant item", err))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Error::Conflict {
                    code: "tenant_exists",
                    detail: "a tenant with this id already exists; retry".to_owned(),
                },
                _ => Error::from_sdk("inserting tenant", err),
            })?;
        Ok(())
    }

    /// Replaces an existing tenant; `NotFound` if it was deleted meanwhile.
    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.tenant_id))]
    pub async fn replace_tenant(&self, tenant: &Tenant) -> Result<()> {
        let item = serde_dynamo::to_item(TenantItem::new(tenant))
            .map_err(|err| Error::internal("encoding tenant item", err))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Error::NotFound("tenant not found".to_owned())
                }
                _ => Error::from_sdk("updating tenant", err),
            })?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    pub async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(tenant_key(tenant_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading tenant", err))?;
        output.item.map(tenant_from_item).transpose()
    }

    /// Tenants of one org, oldest first, through the org index.
    #[tracing::instrument(skip(self))]
    pub async fn list_tenants_in_org(&self, org_id: &str) -> Result<Vec<Tenant>> {
        let items: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :org AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":org", s(org_partition(org_id)))
            .expression_attribute_values(":prefix", s("TENANT#"))
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        items
            .into_iter()
            .map(|item| {
                item.map_err(|err| Error::from_sdk("listing tenants", err))
                    .and_then(tenant_from_item)
            })
            .collect()
    }

    /// Deletes the tenant item; `false` when there was none. Once this
    /// returns, every credential of the tenant fails (see `authenticate_api_key`).
    #[tracing::instrument(skip(self))]
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(tenant_key(tenant_id)))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(Error::from_sdk("deleting tenant", err)),
        }
    }
}
