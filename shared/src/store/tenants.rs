//! Tenant items.
//!
//! Besides the tenant object, the item carries:
//! - `revision`, raised by every change: changes are conditional on it
//!   (optimistic concurrency, see `service::tenants::update_tenant`);
//! - `claim_id` / `claim_until` while a change holds the tenant (it writes
//!   the provider secret under that claim);
//! - `deleted_at`, the tombstone: written first by a deletion, it makes the
//!   tenant absent for serving (credentials, reads, listings, every write
//!   conditional on the tenant) and is removed last, once nothing else of
//!   the tenant is left.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use super::keys::{org_partition, tenant_index_sk, TENANT_INDEX_PREFIX};
pub(crate) use super::keys::{tenant_key, TENANT_SK};
use super::ops::{decode, encode, through_conflicts, ConditionalExt, ABSENT, LIVE_TENANT};
use super::{n, s, tenant_pk, Store, GSI1};
use crate::error::{Error, Result};
use crate::model::{Tenant, TenantLimits};

/// No change holds the tenant, or its claim has lapsed (`:now`).
const NO_ACTIVE_CLAIM: &str = "(attribute_not_exists(claim_until) OR claim_until < :now)";

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
    #[serde(default)]
    revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim_until: Option<i64>,
    #[serde(flatten)]
    tenant: Tenant,
}

impl TenantItem {
    /// A live, unclaimed item of `tenant` at `tenant.revision`.
    fn new(tenant: &Tenant) -> Self {
        Self {
            pk: tenant_pk(&tenant.tenant_id),
            sk: TENANT_SK.to_owned(),
            gsi1pk: org_partition(&tenant.org_id),
            gsi1sk: tenant_index_sk(&tenant.created_at, &tenant.tenant_id),
            entity: "tenant".to_owned(),
            revision: tenant.revision,
            deleted_at: None,
            claim_id: None,
            claim_until: None,
            tenant: tenant.clone(),
        }
    }
}

/// A tenant item as stored, tombstone and claim included. Only deletion and
/// the purge look at tombstoned tenants; everything else sees live ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub tenant: Tenant,
    /// When a deletion started; the tenant serves nothing from then on.
    pub deleted_at: Option<String>,
    /// Until when (epoch seconds) a change holds the tenant.
    pub claim_until: Option<i64>,
}

impl TenantRecord {
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// Seconds a change still holds the tenant at `now`; `None` when none does.
    pub fn claim_left(&self, now: i64) -> Option<u64> {
        self.claim_until
            .filter(|until| *until >= now)
            .map(|until| u64::try_from(until.saturating_sub(now)).unwrap_or(0))
    }
}

fn record_from_item(item: HashMap<String, AttributeValue>) -> Result<TenantRecord> {
    let item: TenantItem = decode(item, "decoding tenant item")?;
    let mut tenant = item.tenant;
    tenant.revision = item.revision;
    Ok(TenantRecord {
        tenant,
        deleted_at: item.deleted_at,
        claim_until: item.claim_until,
    })
}

/// The tenant of a tenant item, or `None` when it is tombstoned: a tenant
/// being deleted is absent for everything that serves it.
pub(crate) fn live_tenant_from_item(
    item: HashMap<String, AttributeValue>,
) -> Result<Option<Tenant>> {
    let record = record_from_item(item)?;
    Ok(record.is_live().then_some(record.tenant))
}

/// `revision = :rev`, where an item written before revisions existed is at 0.
fn revision_is(revision: u64) -> &'static str {
    if revision == 0 {
        "(attribute_not_exists(revision) OR revision = :rev)"
    } else {
        "revision = :rev"
    }
}

impl Store {
    /// Stores a new tenant; fails rather than overwrite an existing id.
    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.tenant_id))]
    pub async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let item = encode(TenantItem::new(tenant), "encoding tenant item")?;
        let inserted = self
            .put(item)
            .condition_expression(ABSENT)
            .send()
            .await
            .condition_held("inserting tenant")?;
        // The very item this call writes (a fresh random id, its creation
        // time): an attempt whose answer was lost wrote it.
        let ours = || async {
            let record = self.tenant_record(&tenant.tenant_id).await?;
            Ok::<_, Error>(record.is_some_and(|record| record.tenant == *tenant))
        };
        if !inserted && !ours().await? {
            return Err(Error::Conflict {
                code: "tenant_exists",
                detail: "a tenant with this id already exists; retry".to_owned(),
            });
        }
        Ok(())
    }

    /// Claims a live tenant for a change: on condition that it is still at
    /// `revision` and no other change holds it, raises its revision and
    /// records the claim until `until`. `false`: the tenant changed, is held,
    /// is being deleted or is gone.
    #[tracing::instrument(skip(self, claim_id))]
    pub async fn claim_tenant(
        &self,
        tenant_id: &str,
        revision: u64,
        claim_id: &str,
        until: i64,
        now: i64,
    ) -> Result<bool> {
        // Or this very claim, applied by an attempt whose answer was lost
        // (the SDK sends the same request again): it recognises itself.
        let request = self
            .update(tenant_key(tenant_id))
            .update_expression("SET revision = :next, claim_id = :claim, claim_until = :until")
            .condition_expression(format!(
                "{LIVE_TENANT} AND (({} AND {NO_ACTIVE_CLAIM}) OR (claim_id = :claim AND revision = :next))",
                revision_is(revision)
            ))
            .expression_attribute_values(":rev", n(revision))
            .expression_attribute_values(":next", n(revision.saturating_add(1)))
            .expression_attribute_values(":claim", s(claim_id))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("claiming tenant")
    }

    /// Ends a claim without a change (the change failed); a no-op when the
    /// claim is not `claim_id`'s any more.
    #[tracing::instrument(skip(self, claim_id))]
    pub async fn release_tenant_claim(&self, tenant_id: &str, claim_id: &str) -> Result<()> {
        let request = self
            .update(tenant_key(tenant_id))
            .update_expression("REMOVE claim_id, claim_until")
            .condition_expression("claim_id = :claim")
            .expression_attribute_values(":claim", s(claim_id));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("releasing tenant claim")?;
        Ok(())
    }

    /// Writes `tenant`, ending the claim `claim_id`, on condition that the
    /// tenant is live and still at `tenant.revision` (the revision its claim
    /// set); the item's revision goes one up. `false`: it changed, is being
    /// deleted or is gone. The written item keeps `claim_id` (without
    /// `claim_until`, so it holds nothing): a second attempt of this write
    /// (the SDK's, after a lost answer) recognises it as its own.
    #[tracing::instrument(skip(self, tenant, claim_id), fields(tenant_id = %tenant.tenant_id))]
    pub async fn replace_tenant(&self, tenant: &Tenant, claim_id: &str) -> Result<bool> {
        let mut item = TenantItem::new(tenant);
        let next = tenant.revision.saturating_add(1);
        item.revision = next;
        item.claim_id = Some(claim_id.to_owned());
        let item = encode(item, "encoding tenant item")?;
        let request = self
            .put(item)
            .condition_expression(format!(
                "{LIVE_TENANT} AND ({} OR (claim_id = :claim AND revision = :next \
                 AND attribute_not_exists(claim_until)))",
                revision_is(tenant.revision)
            ))
            .expression_attribute_values(":rev", n(tenant.revision))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":claim", s(claim_id));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("updating tenant")
    }

    /// The live tenant; `None` when there is none or it is being deleted.
    #[tracing::instrument(skip(self))]
    pub async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>> {
        Ok(self
            .tenant_record(tenant_id)
            .await?
            .filter(TenantRecord::is_live)
            .map(|record| record.tenant))
    }

    /// The tenant item as stored, tombstoned or not, strongly consistent.
    #[tracing::instrument(skip(self))]
    pub async fn tenant_record(&self, tenant_id: &str) -> Result<Option<TenantRecord>> {
        self.get_consistent(tenant_key(tenant_id), "reading tenant")
            .await?
            .map(record_from_item)
            .transpose()
    }

    /// Live tenants of one org, oldest first, through the org index.
    #[tracing::instrument(skip(self))]
    pub async fn list_tenants_in_org(&self, org_id: &str) -> Result<Vec<Tenant>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :org AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":org", s(org_partition(org_id)))
            .expression_attribute_values(":prefix", s(TENANT_INDEX_PREFIX));
        let items = self.query_all(query, "listing tenants").await?;
        let mut tenants = Vec::with_capacity(items.len());
        for item in items {
            tenants.extend(live_tenant_from_item(item)?);
        }
        Ok(tenants)
    }

    /// Writes the tombstone (keeping the first `deleted_at` when a deletion
    /// is resumed); returns the record as it now is, `None` when the tenant
    /// is gone. From then on every credential of the tenant fails and every
    /// write conditional on it is refused.
    #[tracing::instrument(skip(self))]
    pub async fn tombstone_tenant(
        &self,
        tenant_id: &str,
        now: &str,
    ) -> Result<Option<TenantRecord>> {
        let request = self
            .update(tenant_key(tenant_id))
            .update_expression("SET deleted_at = if_not_exists(deleted_at, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", s(now))
            .return_values(ReturnValue::AllNew);
        let output = through_conflicts(|| request.clone().send())
            .await
            .unless_condition_failed("marking tenant deleted")?;
        output
            .and_then(|output| output.attributes)
            .map(record_from_item)
            .transpose()
    }

    /// Deletes the tenant item, the last step of a deletion, unless a change
    /// still holds it (at `now`); `false` when nothing was deleted (no item,
    /// or held).
    #[tracing::instrument(skip(self))]
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<bool> {
        let now = crate::clock::now_epoch_seconds();
        let request = self
            .delete(tenant_key(tenant_id))
            .condition_expression(format!("attribute_exists(PK) AND {NO_ACTIVE_CLAIM}"))
            .expression_attribute_values(":now", n(now));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("deleting tenant")
    }

    /// Sets the tenant's limit overrides (the operator's), raising its
    /// revision so that a change which read the tenant before cannot write
    /// the old limits back (see [`Store::replace_tenant`]). `None` when the
    /// tenant is absent or being deleted; 409 `Busy` while a change holds
    /// it. Setting the same limits twice (an SDK retry) sets them once more.
    #[tracing::instrument(skip(self))]
    pub async fn set_tenant_limits(
        &self,
        tenant_id: &str,
        limits: TenantLimits,
        now: i64,
    ) -> Result<Option<Tenant>> {
        let limits = serde_dynamo::to_attribute_value(limits)
            .map_err(|err| Error::internal("encoding tenant limits", err))?;
        let request = self
            .update(tenant_key(tenant_id))
            .update_expression(
                "SET limits = :limits, revision = if_not_exists(revision, :zero) + :one",
            )
            .condition_expression(format!("{LIVE_TENANT} AND {NO_ACTIVE_CLAIM}"))
            .expression_attribute_values(":limits", limits)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew);
        let output = through_conflicts(|| request.clone().send())
            .await
            .unless_condition_failed("setting tenant limits")?;
        if let Some(item) = output.and_then(|output| output.attributes) {
            return Ok(Some(record_from_item(item)?.tenant));
        }
        match self.tenant_record(tenant_id).await? {
            Some(record) if record.is_live() => Err(Error::Busy {
                code: "tenant_changing",
                detail: "a change of this tenant is under way; retry shortly".to_owned(),
                retry_after_secs: record.claim_left(now).unwrap_or(1).max(1),
            }),
            _ => Ok(None),
        }
    }
}
