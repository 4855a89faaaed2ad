//! Tenants: creation, listing, credential changes and deletion.

use crate::app::App;
use crate::auth::UserClaims;
use crate::clock::now_rfc3339;
use crate::credentials::{
    parse_service_account, validate_apns_key, validate_bundle_id, TenantCredentials,
};
use crate::error::{Error, Result};
use crate::ids::new_tenant_id;
use crate::model::{CreateTenantRequest, QueueMessage, Tenant, TenantList, UpdateTenantRequest};

/// Org ids name a space in keys and indexes: keep them plain.
fn validate_org_id(org_id: &str) -> Result<()> {
    let valid = !org_id.is_empty()
        && org_id.len() <= 128
        && org_id
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '#');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            "`org_id` must be 1 to 128 characters without spaces or `#`",
        ))
    }
}

/// The APNs fields of a request. They travel together: a key is useless
/// without its team and key ids, and all of them without a topic.
struct ApnsFields<'a> {
    bundle_id: Option<&'a str>,
    team_id: Option<&'a str>,
    key_id: Option<&'a str>,
    private_key: Option<&'a str>,
}

impl ApnsFields<'_> {
    fn any_key_field(&self) -> bool {
        self.team_id.is_some() || self.key_id.is_some() || self.private_key.is_some()
    }

    /// Validates a complete set of key fields plus a bundle id (from the
    /// request or, on update, the tenant's current one).
    fn complete(
        &self,
        current_bundle: Option<&str>,
    ) -> Result<(String, crate::credentials::ApnsKey)> {
        let missing: Vec<&str> = [
            ("bundle_id", self.bundle_id.or(current_bundle).is_none()),
            ("team_id", self.team_id.is_none()),
            ("key_id", self.key_id.is_none()),
            ("private_key", self.private_key.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(Error::invalid_request(format!(
                "APNs fields come together: missing {}",
                missing
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let bundle_id = self.bundle_id.or(current_bundle).unwrap_or_default();
        validate_bundle_id(bundle_id)?;
        let key = validate_apns_key(
            self.team_id.unwrap_or_default(),
            self.key_id.unwrap_or_default(),
            self.private_key.unwrap_or_default(),
        )?;
        Ok((bundle_id.to_owned(), key))
    }
}

pub async fn create_tenant(
    app: &App,
    user: &UserClaims,
    request: CreateTenantRequest,
) -> Result<Tenant> {
    let org_id = request.org_id.clone().unwrap_or_else(|| user.sub.clone());
    validate_org_id(&org_id)?;
    if !user.belongs_to(&org_id) {
        return Err(Error::Forbidden(format!(
            "you are not a member of org `{org_id}`"
        )));
    }
    let apns_fields = ApnsFields {
        bundle_id: request.bundle_id.as_deref(),
        team_id: request.team_id.as_deref(),
        key_id: request.key_id.as_deref(),
        private_key: request.private_key.as_deref(),
    };
    let mut credentials = TenantCredentials::default();
    let mut bundle_id = None;
    if apns_fields.bundle_id.is_some() || apns_fields.any_key_field() {
        let (bundle, key) = apns_fields.complete(None)?;
        bundle_id = Some(bundle);
        credentials.apns = Some(key);
    }
    if let Some(account) = &request.fcm_service_account {
        credentials.fcm = Some(parse_service_account(account, &app.config.providers)?);
    }

    let now = now_rfc3339();
    let tenant = Tenant {
        tenant_id: new_tenant_id(),
        org_id,
        bundle_id,
        team_id: credentials.apns.as_ref().map(|key| key.team_id.clone()),
        key_id: credentials.apns.as_ref().map(|key| key.key_id.clone()),
        use_sandbox: request.use_sandbox.unwrap_or(true),
        apns_configured: credentials.apns.is_some(),
        fcm_configured: credentials.fcm.is_some(),
        fcm_project_id: credentials
            .fcm
            .as_ref()
            .map(|account| account.project_id.clone()),
        created_at: now.clone(),
        created_by: user.sub.clone(),
        updated_at: now,
    };
    // Secret first: a tenant item never points at credentials that are not there.
    if credentials.apns.is_some() || credentials.fcm.is_some() {
        app.secrets
            .create_tenant_credentials(&tenant.tenant_id, &credentials)
            .await?;
    }
    if let Err(err) = app.store.insert_tenant(&tenant).await {
        if let Err(cleanup) = app
            .secrets
            .delete_tenant_credentials(&tenant.tenant_id)
            .await
        {
            tracing::warn!(tenant_id = %tenant.tenant_id, error = %cleanup, "orphaned tenant secret");
        }
        return Err(err);
    }
    tracing::info!(tenant_id = %tenant.tenant_id, org_id = %tenant.org_id, "tenant created");
    Ok(tenant)
}

/// Tenants of one org (the caller must belong to it), or of all the caller's orgs.
pub async fn list_tenants(
    app: &App,
    user: &UserClaims,
    org_id: Option<&str>,
) -> Result<TenantList> {
    let orgs = match org_id {
        Some(org) => {
            if !user.belongs_to(org) {
                return Err(Error::Forbidden(format!(
                    "you are not a member of org `{org}`"
                )));
            }
            vec![org.to_owned()]
        }
        None => user.all_orgs(),
    };
    let lists =
        futures::future::try_join_all(orgs.iter().map(|org| app.store.list_tenants_in_org(org)))
            .await?;
    Ok(TenantList {
        tenants: lists.into_iter().flatten().collect(),
    })
}

pub async fn update_tenant(
    app: &App,
    current: Tenant,
    request: UpdateTenantRequest,
) -> Result<Tenant> {
    let nothing = request.bundle_id.is_none()
        && request.team_id.is_none()
        && request.key_id.is_none()
        && request.private_key.is_none()
        && request.use_sandbox.is_none()
        && request.fcm_service_account.is_none();
    if nothing {
        return Err(Error::invalid_request(
            "nothing to update: send at least one of `bundle_id`, `team_id`, `key_id`, `private_key`, `use_sandbox`, `fcm_service_account`",
        ));
    }
    let apns_fields = ApnsFields {
        bundle_id: request.bundle_id.as_deref(),
        team_id: request.team_id.as_deref(),
        key_id: request.key_id.as_deref(),
        private_key: request.private_key.as_deref(),
    };
    let mut tenant = current;
    let mut new_apns = None;
    if apns_fields.any_key_field() {
        let (bundle, key) = apns_fields.complete(tenant.bundle_id.as_deref())?;
        tenant.bundle_id = Some(bundle);
        tenant.team_id = Some(key.team_id.clone());
        tenant.key_id = Some(key.key_id.clone());
        tenant.apns_configured = true;
        new_apns = Some(key);
    } else if let Some(bundle) = apns_fields.bundle_id {
        // A new topic alone only makes sense next to an existing key.
        if !tenant.apns_configured {
            return apns_fields.complete(None).map(|_| tenant);
        }
        validate_bundle_id(bundle)?;
        tenant.bundle_id = Some(bundle.to_owned());
    }
    let new_fcm = request
        .fcm_service_account
        .as_ref()
        .map(|account| parse_service_account(account, &app.config.providers))
        .transpose()?;
    if let Some(account) = &new_fcm {
        tenant.fcm_configured = true;
        tenant.fcm_project_id = Some(account.project_id.clone());
    }
    if let Some(sandbox) = request.use_sandbox {
        tenant.use_sandbox = sandbox;
    }
    if new_apns.is_some() || new_fcm.is_some() {
        let mut credentials = app.secrets.tenant_credentials(&tenant.tenant_id).await?;
        if let Some(key) = new_apns {
            credentials.apns = Some(key);
        }
        if let Some(account) = new_fcm {
            credentials.fcm = Some(account);
        }
        app.secrets
            .save_tenant_credentials(&tenant.tenant_id, &credentials)
            .await?;
    }
    tenant.updated_at = now_rfc3339();
    app.store.replace_tenant(&tenant).await?;
    Ok(tenant)
}

/// Items of a deleted tenant the deletion request removes itself; a larger
/// tenant's remainder is left to the delivery worker.
pub const INLINE_PURGE_LIMIT: usize = 2_000;

/// Deletes the tenant item first: from then on its keys fail and nothing of
/// it is served. Then its keys, its secret and its other items (devices,
/// idempotency records...) go.
pub async fn delete_tenant(app: &App, tenant_id: &str) -> Result<()> {
    if !app.store.delete_tenant(tenant_id).await? {
        return Err(Error::NotFound("tenant not found".to_owned()));
    }
    let keys = app.store.delete_all_api_keys(tenant_id).await?;
    app.secrets.delete_tenant_credentials(tenant_id).await?;
    let purged = purge_deleted_tenant(app, tenant_id).await?;
    tracing::info!(
        tenant_id,
        keys_deleted = keys,
        items_purged = purged,
        "tenant deleted"
    );
    Ok(())
}

/// Purges what is left of a deleted tenant: all of it when there is no
/// delivery queue, else up to [`INLINE_PURGE_LIMIT`] items here and the rest
/// through a `purge_tenant` message for the worker (also the fallback when
/// purging fails here, since a retried deletion would find no tenant).
async fn purge_deleted_tenant(app: &App, tenant_id: &str) -> Result<usize> {
    if app.config.delivery_queue_url.is_none() {
        return Ok(app
            .store
            .purge_tenant_partition(tenant_id, usize::MAX)
            .await?
            .deleted);
    }
    match app
        .store
        .purge_tenant_partition(tenant_id, INLINE_PURGE_LIMIT)
        .await
    {
        Ok(progress) if progress.complete => Ok(progress.deleted),
        Ok(progress) => {
            enqueue_purge(app, tenant_id).await?;
            tracing::info!(
                tenant_id,
                deleted = progress.deleted,
                "tenant purge continues in the worker"
            );
            Ok(progress.deleted)
        }
        Err(err) => {
            tracing::warn!(tenant_id, error = %err, "tenant purge failed; handing it to the worker");
            enqueue_purge(app, tenant_id).await.map_err(|_| err)?;
            Ok(0)
        }
    }
}

/// Asks the delivery worker to go on purging a deleted tenant.
pub async fn enqueue_purge(app: &App, tenant_id: &str) -> Result<()> {
    let Some(queue_url) = &app.config.delivery_queue_url else {
        return Err(Error::internal(
            "enqueueing tenant purge",
            "no delivery queue is configured",
        ));
    };
    let body = QueueMessage::PurgeTenant {
        tenant_id: tenant_id.to_owned(),
    }
    .to_body()
    .map_err(|err| Error::internal("encoding tenant purge message", err))?;
    app.sqs
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|err| Error::from_sdk("enqueueing tenant purge", err))?;
    Ok(())
}
