//! Tenants: creation, listing, credential changes and deletion.

use secrecy::ExposeSecret;

use crate::app::App;
use crate::auth::UserClaims;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::config::PurgeMode;
use crate::credentials::{
    parse_service_account, validate_apns_key, validate_bundle_id, TenantCredentials,
};
use crate::error::{Error, Result};
use crate::ids::{is_tenant_id, new_tenant_id};
use crate::model::{
    CreateTenantRequest, QueueMessage, Tenant, TenantLimits, TenantList, UpdateTenantRequest,
    WebPushSettings,
};
use crate::web_push_protocol::vapid::validate_subject;
use crate::web_push_protocol::VapidKey;

/// Org ids name a space in keys and indexes: keep them plain.
fn validate_org_id(org_id: &str) -> Result<()> {
    let valid = !org_id.is_empty()
        && org_id.chars().count() <= 128
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

/// The tenant's VAPID key after `settings`: uploaded, generated (when it has
/// none, or on `rotate`), or the current one under a new subject. Validated
/// before anything is written.
fn web_push_key(settings: &WebPushSettings, current: Option<&VapidKey>) -> Result<VapidKey> {
    validate_subject(&settings.subject)?;
    let rotate = settings.rotate.unwrap_or(false);
    match (&settings.private_key, current) {
        (Some(pem), _) => VapidKey::from_pem(&settings.subject, pem.expose_secret()),
        (None, Some(key)) if !rotate => Ok(VapidKey {
            subject: settings.subject.clone(),
            ..key.clone()
        }),
        (None, _) => VapidKey::generate(&settings.subject),
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
    refuse_limits(request.limits)?;
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
        private_key: request.private_key.as_ref().map(|key| key.expose_secret()),
    };
    let mut credentials = TenantCredentials::default();
    let mut bundle_id = None;
    if apns_fields.bundle_id.is_some() || apns_fields.any_key_field() {
        let (bundle, key) = apns_fields.complete(None)?;
        bundle_id = Some(bundle);
        credentials.apns = Some(key);
    }
    if let Some(account) = &request.fcm_service_account {
        credentials.fcm = Some(parse_service_account(
            account.expose_secret(),
            &app.config.providers,
        )?);
    }
    if let Some(settings) = &request.web_push {
        credentials.web_push = Some(web_push_key(settings, None)?);
    }

    check_tenant_quota(app, &org_id).await?;

    let now = now_rfc3339();
    let mut tenant = Tenant {
        tenant_id: new_tenant_id(),
        org_id,
        bundle_id,
        team_id: None,
        key_id: None,
        use_sandbox: request.use_sandbox.unwrap_or(true),
        apns_configured: false,
        fcm_configured: false,
        fcm_project_id: None,
        web_push_configured: false,
        vapid_public_key: None,
        user_verification: false,
        limits: TenantLimits::default(),
        key_rates: None,
        created_at: now.clone(),
        created_by: user.sub.clone(),
        updated_at: now,
        revision: 0,
    };
    describe_credentials(&mut tenant, &credentials);
    // Secret first: a tenant item never points at credentials that are not there.
    if credentials.apns.is_some() || credentials.fcm.is_some() || credentials.web_push.is_some() {
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
    Ok(shown(app, tenant))
}

/// A tenant as answers show it, its limits filled in (see [`Tenant::shown`]).
pub fn shown(app: &App, tenant: Tenant) -> Tenant {
    tenant.shown(app.config.tenant_limits)
}

/// 403 for `limits` in a tenant's creation or change: they are the
/// operator's, and a tenant's users must not raise their own.
fn refuse_limits(limits: Option<serde::de::IgnoredAny>) -> Result<()> {
    match limits {
        Some(_) => Err(Error::Forbidden(
            "`limits` are set by the deployment's operator (`notifyctl tenant-limits`), not through the API".to_owned(),
        )),
        None => Ok(()),
    }
}

/// 409 `too_many_tenants` when the org has its deployment's maximum of live
/// tenants (`NOTIFY_MAX_TENANTS_PER_ORG`). Counted from the org's listing:
/// concurrent creations may pass it by the few that race, which bounds the
/// cost just as well.
async fn check_tenant_quota(app: &App, org_id: &str) -> Result<()> {
    let limit = app.config.max_tenants_per_org;
    let live = app.store.list_tenants_in_org(org_id).await?.len();
    if u32::try_from(live).unwrap_or(u32::MAX) >= limit {
        return Err(Error::Conflict {
            code: "too_many_tenants",
            detail: format!(
                "org `{org_id}` has {live} tenants, the most this deployment allows per org \
                 ({limit}, `NOTIFY_MAX_TENANTS_PER_ORG`); delete one or ask the operator"
            ),
        });
    }
    Ok(())
}

/// The tenant object's account of its credentials (`apns_configured`,
/// `team_id`, `key_id`, `fcm_configured`, `fcm_project_id`, `web_push_configured`,
/// `user_verification`), taken from
/// what the secret holds: the one place the two are made to agree.
fn describe_credentials(tenant: &mut Tenant, credentials: &TenantCredentials) {
    tenant.apns_configured = credentials.apns.is_some();
    tenant.team_id = credentials.apns.as_ref().map(|key| key.team_id.clone());
    tenant.key_id = credentials.apns.as_ref().map(|key| key.key_id.clone());
    tenant.fcm_configured = credentials.fcm.is_some();
    tenant.fcm_project_id = credentials
        .fcm
        .as_ref()
        .map(|account| account.project_id.clone());
    tenant.web_push_configured = credentials.web_push.is_some();
    tenant.vapid_public_key = credentials
        .web_push
        .as_ref()
        .map(|key| key.public_key.clone());
    tenant.user_verification = credentials.user_verification.is_some();
}

/// Tenants of one org (the caller must belong to it), or of all the caller's
/// orgs. Tenants being deleted are not listed.
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
        tenants: lists
            .into_iter()
            .flatten()
            .map(|tenant| shown(app, tenant))
            .collect(),
    })
}

/// How long (seconds) a change holds a tenant: far longer than the update
/// function's timeout (`template.yaml`, Globals: 10 s), so no invocation
/// outlives the claim it took.
pub const CLAIM_SECS: i64 = 60;

fn not_found() -> Error {
    Error::NotFound("tenant not found".to_owned())
}

/// Applies a PATCH to `current`, the tenant as the request read it (see
/// [`change_tenant`] for how concurrent changes and deletions are handled).
pub async fn update_tenant(
    app: &App,
    current: Tenant,
    request: UpdateTenantRequest,
) -> Result<Tenant> {
    refuse_limits(request.limits)?;
    let nothing = request.bundle_id.is_none()
        && request.team_id.is_none()
        && request.key_id.is_none()
        && request.private_key.is_none()
        && request.use_sandbox.is_none()
        && request.fcm_service_account.is_none()
        && request.web_push.is_none();
    if nothing {
        return Err(Error::invalid_request(
            "nothing to update: send at least one of `bundle_id`, `team_id`, `key_id`, `private_key`, `use_sandbox`, `fcm_service_account`, `web_push`",
        ));
    }
    // Made before the tenant is claimed: a bad subject or key is a 400
    // with nothing written. Used unless the tenant keeps its key.
    let fresh_vapid = request
        .web_push
        .as_ref()
        .map(|settings| web_push_key(settings, None))
        .transpose()?;
    let apns_fields = ApnsFields {
        bundle_id: request.bundle_id.as_deref(),
        team_id: request.team_id.as_deref(),
        key_id: request.key_id.as_deref(),
        private_key: request.private_key.as_ref().map(|key| key.expose_secret()),
    };
    let mut tenant = current;
    let mut new_apns = None;
    if apns_fields.any_key_field() {
        let (bundle, key) = apns_fields.complete(tenant.bundle_id.as_deref())?;
        tenant.bundle_id = Some(bundle);
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
        .map(|account| parse_service_account(account.expose_secret(), &app.config.providers))
        .transpose()?;
    if let Some(sandbox) = request.use_sandbox {
        tenant.use_sandbox = sandbox;
    }

    let web_push = request.web_push;
    change_tenant(app, tenant, |credentials| {
        let mut changed = new_apns.is_some() || new_fcm.is_some();
        if let Some(key) = new_apns {
            credentials.apns = Some(key);
        }
        if let Some(account) = new_fcm {
            credentials.fcm = Some(account);
        }
        if let (Some(settings), Some(fresh)) = (&web_push, fresh_vapid) {
            let keep = settings.private_key.is_none() && !settings.rotate.unwrap_or(false);
            credentials.web_push = Some(match credentials.web_push.take() {
                Some(current) if keep => VapidKey {
                    subject: settings.subject.clone(),
                    ..current
                },
                _ => fresh,
            });
            changed = true;
        }
        changed
    })
    .await
    .map(|tenant| shown(app, tenant))
}

/// Writes `tenant` (a value read from the store, its settings changed) and,
/// when `change` says it changed them, the tenant's credentials: the one way
/// to change a tenant or its secret after its creation.
///
/// Secrets Manager has no conditional write, so the tenant item serialises
/// the changes (optimistic concurrency on its `revision`):
/// 1. **claim**: on condition that the tenant is live, still at
///    `tenant.revision` (as read) and held by no other change, raise its revision
///    and record a claim for [`CLAIM_SECS`]. Of two PATCHes from the same
///    read, one claims; the other answers 409 `tenant_changed` having
///    written nothing. While the claim holds, no other change can claim.
/// 2. read the secret, let `change` change it, write it back: no
///    concurrent writer can interleave, so no update is lost.
/// 3. **commit**: write the item, its credential fields derived from the
///    secret just written (so the two agree even after a change that died
///    between 2 and 3: the next one re-derives them), on condition that it
///    is live and still at the claimed revision; this ends the claim.
///
/// Against a deletion: the tombstone makes the claim in 1 fail (nothing
/// written, 404). If the tombstone lands after 1, the commit in 3 fails, and
/// this change deletes the secret it may have written or re-created, then
/// ends its claim. Should it die before that, the deletion's last step
/// (`finish_deletion`) waits for the claim to lapse before it deletes the
/// secret, and no change writes once its claim has lapsed. Either way no
/// secret outlives a deleted tenant.
pub async fn change_tenant(
    app: &App,
    mut tenant: Tenant,
    change: impl FnOnce(&mut TenantCredentials) -> bool,
) -> Result<Tenant> {
    let tenant_id = tenant.tenant_id.clone();
    let claim_id = uuid::Uuid::new_v4().to_string();
    let now = now_epoch_seconds();
    let claimed = app
        .store
        .claim_tenant(
            &tenant_id,
            tenant.revision,
            &claim_id,
            now.saturating_add(CLAIM_SECS),
            now,
        )
        .await?;
    if !claimed {
        return Err(match app.store.tenant_record(&tenant_id).await? {
            Some(record) if record.is_live() => tenant_changed(record.claim_left(now)),
            _ => not_found(),
        });
    }
    tenant.revision = tenant.revision.saturating_add(1);

    let mut unknown_write = None;
    let committed = async {
        let (credentials, write_error) = write_credentials(app, &tenant_id, change).await?;
        unknown_write = write_error;
        describe_credentials(&mut tenant, &credentials);
        tenant.updated_at = now_rfc3339();
        app.store.replace_tenant(&tenant, &claim_id).await
    }
    .await;
    match committed {
        Ok(true) => {
            tenant.revision = tenant.revision.saturating_add(1);
            if let Some(err) = unknown_write {
                // Committed from what the secret holds; the caller still
                // learns that its change may not have been made.
                return Err(err);
            }
            tracing::info!(tenant_id = %tenant_id, "tenant updated");
            Ok(tenant)
        }
        Ok(false) => match app.store.tenant_record(&tenant_id).await? {
            // Held past its claim (it lapsed and another change took over).
            Some(record) if record.is_live() => Err(tenant_changed(record.claim_left(now))),
            // Deleted meanwhile: take back whatever this change wrote.
            _ => {
                app.secrets.delete_tenant_credentials(&tenant_id).await?;
                app.store
                    .release_tenant_claim(&tenant_id, &claim_id)
                    .await?;
                tracing::info!(tenant_id = %tenant_id, "tenant deleted during its update; secret removed");
                Err(not_found())
            }
        },
        Err(err) => {
            // Let the next change (or a deletion) go on without waiting for the claim to lapse.
            if let Err(release) = app.store.release_tenant_claim(&tenant_id, &claim_id).await {
                tracing::warn!(tenant_id = %tenant_id, error = %release, "tenant claim left to lapse");
            }
            Err(err)
        }
    }
}

/// Step 2 of [`change_tenant`]: the tenant's credentials after `change`,
/// written back when it says it changed them. A write that failed may
/// still have landed (its answer lost to a timeout), so the credentials
/// are then read back and returned with the write's error: the tenant item
/// is committed from what the secret holds, and flag and secret agree.
async fn write_credentials(
    app: &App,
    tenant_id: &str,
    change: impl FnOnce(&mut TenantCredentials) -> bool,
) -> Result<(TenantCredentials, Option<Error>)> {
    let mut credentials = app.secrets.tenant_credentials(tenant_id).await?;
    if !change(&mut credentials) {
        return Ok((credentials, None));
    }
    match app
        .secrets
        .save_tenant_credentials(tenant_id, &credentials)
        .await
    {
        Ok(()) => Ok((credentials, None)),
        Err(err) => {
            tracing::warn!(tenant_id = %tenant_id, error = %err, "tenant secret write failed; reading back what it holds");
            let stored = app.secrets.tenant_credentials(tenant_id).await?;
            Ok((stored, Some(err)))
        }
    }
}

fn tenant_changed(claim_left: Option<u64>) -> Error {
    Error::Busy {
        code: "tenant_changed",
        detail: "the tenant changed since this request read it, or another change is under way; read it again and retry".to_owned(),
        retry_after_secs: claim_left.unwrap_or(1).clamp(1, CLAIM_SECS.unsigned_abs()),
    }
}

/// Items of a deleted tenant the deletion request removes itself; a larger
/// tenant's remainder is left to the delivery worker.
pub const INLINE_PURGE_LIMIT: usize = 2_000;

/// Deletes a tenant, or resumes its deletion. First the tombstone: from then
/// on its keys fail (401), its users get 404, and every write that needs
/// the tenant is refused. Then its keys, its other items (devices,
/// idempotency records, batches...), its secret, and last the tombstone.
/// Every step is idempotent: when one fails, a retried DELETE (the tenant is
/// still found through its tombstone) or the worker's purge goes on from
/// there; once the tombstone is gone, the tenant is 404.
pub async fn delete_tenant(app: &App, user: &UserClaims, tenant_id: &str) -> Result<()> {
    if !is_tenant_id(tenant_id) {
        return Err(not_found());
    }
    let record = app
        .store
        .tenant_record(tenant_id)
        .await?
        .ok_or_else(not_found)?;
    if !user.belongs_to(&record.tenant.org_id) {
        return Err(not_found());
    }
    let resumed = !record.is_live();
    app.store
        .tombstone_tenant(tenant_id, &now_rfc3339())
        .await?
        .ok_or_else(not_found)?;
    let keys = app.store.delete_all_api_keys(tenant_id).await?;
    let purge = purge_deleted_tenant(app, tenant_id).await?;
    if purge.complete {
        if let Finish::Held { retry_after_secs } = finish_deletion(app, tenant_id).await? {
            // A change of the tenant may still write its secret: the secret
            // goes once that can no longer happen.
            if app.config.tenant_purge == PurgeMode::Inline {
                return Err(Error::Busy {
                    code: "tenant_changing",
                    detail: "a change of this tenant is under way; retry the deletion".to_owned(),
                    retry_after_secs,
                });
            }
            enqueue_purge(app, tenant_id).await?;
        }
    }
    tracing::info!(
        tenant_id = %tenant_id,
        resumed,
        keys_deleted = keys,
        items_purged = purge.deleted,
        "tenant deleted"
    );
    Ok(())
}

/// What a purge did: how many items, and whether nothing but the tombstone
/// is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub deleted: usize,
    pub complete: bool,
}

/// Up to about `limit` items of the deleted tenant's partition, after the
/// secrets of its webhooks (the items naming them go with the partition).
async fn purge_step(
    app: &App,
    tenant_id: &str,
    limit: usize,
) -> Result<crate::store::PurgeProgress> {
    crate::service::webhooks::forget_secrets(app, tenant_id).await?;
    app.store.purge_tenant_partition(tenant_id, limit).await
}

/// Purges what is left of a deleted tenant: all of it in
/// [`PurgeMode::Inline`] (tests without a queue), else up to [`INLINE_PURGE_LIMIT`] items here and the rest
/// through a `purge_tenant` message for the worker (also the fallback when
/// purging fails here).
async fn purge_deleted_tenant(app: &App, tenant_id: &str) -> Result<Purged> {
    if app.config.tenant_purge == PurgeMode::Inline {
        let progress = purge_step(app, tenant_id, usize::MAX).await?;
        return Ok(Purged {
            deleted: progress.deleted,
            complete: progress.complete,
        });
    }
    match purge_step(app, tenant_id, INLINE_PURGE_LIMIT).await {
        Ok(progress) if progress.complete => Ok(Purged {
            deleted: progress.deleted,
            complete: true,
        }),
        Ok(progress) => {
            enqueue_purge(app, tenant_id).await?;
            tracing::info!(
                tenant_id = %tenant_id,
                deleted = progress.deleted,
                "tenant purge continues in the worker"
            );
            Ok(Purged {
                deleted: progress.deleted,
                complete: false,
            })
        }
        Err(err) => {
            tracing::warn!(tenant_id = %tenant_id, error = %err, "tenant purge failed; handing it to the worker");
            enqueue_purge(app, tenant_id).await.map_err(|_| err)?;
            Ok(Purged {
                deleted: 0,
                complete: false,
            })
        }
    }
}

/// How the last step of a deletion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The secret and the tombstone are gone: nothing of the tenant is left.
    Done,
    /// A change still holds the tenant and could write its secret: try
    /// again after this many seconds.
    Held { retry_after_secs: u64 },
}

/// The last step of a deletion, once nothing but the tombstone is left of
/// the tenant's partition: its secret, then its tombstone. Called by a
/// DELETE and by the worker's purge; idempotent. Never touches a live tenant.
pub async fn finish_deletion(app: &App, tenant_id: &str) -> Result<Finish> {
    let now = now_epoch_seconds();
    if let Some(record) = app.store.tenant_record(tenant_id).await? {
        if record.is_live() {
            return Err(Error::internal(
                "finishing a tenant deletion",
                "the tenant is live",
            ));
        }
        // No claim can start on a tombstoned tenant: once this one lapsed or
        // ended, no change will write the secret again.
        if let Some(left) = record.claim_left(now) {
            return Ok(Finish::Held {
                retry_after_secs: left.max(1),
            });
        }
    }
    app.secrets.delete_tenant_credentials(tenant_id).await?;
    if !app.store.delete_tenant(tenant_id).await? {
        if let Some(record) = app.store.tenant_record(tenant_id).await? {
            return Ok(Finish::Held {
                retry_after_secs: record.claim_left(now_epoch_seconds()).unwrap_or(1).max(1),
            });
        }
    }
    Ok(Finish::Done)
}

/// Asks the delivery worker to go on purging a deleted tenant.
pub async fn enqueue_purge(app: &App, tenant_id: &str) -> Result<()> {
    // Checked at cold start (`tenant-delete`'s and the worker's `main`).
    let queue_url = app
        .config
        .delivery_queue()
        .map_err(|err| Error::internal("enqueueing tenant purge", err))?;
    let body = QueueMessage::PurgeTenant {
        tenant_id: tenant_id.to_owned(),
    }
    .to_body()
    .map_err(|err| Error::internal("encoding tenant purge message", err))?;
    app.sqs
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_attributes(
            crate::service::queue_schema::SCHEMA_ATTRIBUTE,
            crate::service::queue_schema::schema_attribute()?,
        )
        // Every delivery message is in its tenant's group (SQS fair queues).
        .message_group_id(tenant_id)
        .send()
        .await
        .map_err(|err| Error::from_sdk("enqueueing tenant purge", err))?;
    Ok(())
}
