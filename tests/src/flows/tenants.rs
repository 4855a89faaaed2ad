//! Tenants: created, read, changed and deleted through their endpoints,
//! the fixtures tests start from, and what a deleted tenant leaves behind.

use notify_shared::App;
use serde_json::{json, Value};

use super::{As, Devices};
use crate::calls::{call, parts};
use crate::env::TestEnv;

/// `POST /tenants` as `token`.
pub async fn create_tenant_as(app: &App, token: &str, body: Value) -> (u16, Value) {
    let request = call("POST", "/tenants").bearer(token).json(body);
    parts(&tenant_create::handle(app, request.build()).await)
}

/// `GET /tenants/{tenant_id}` as `token`.
pub async fn get_tenant_as(app: &App, token: &str, tenant_id: &str) -> (u16, Value) {
    get_tenant_by(app, As::User(token), tenant_id).await
}

/// `GET /tenants/{tenant_id}` by `who`.
pub async fn get_tenant_by(app: &App, who: As<'_>, tenant_id: &str) -> (u16, Value) {
    let request = who.on(call("GET", "/tenants/{tenant_id}").param("tenant_id", tenant_id));
    parts(&tenant_get::handle(app, request.build()).await)
}

/// The tenant object; panics unless the answer is 200.
pub async fn get_tenant(env: &TestEnv, owner: &str, tenant_id: &str) -> Value {
    let (status, body) = get_tenant_as(&env.app, owner, tenant_id).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `PATCH /tenants/{tenant_id}` as `owner`.
pub async fn patch_tenant(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    body: Value,
) -> (u16, Value) {
    let request = call("PATCH", "/tenants/{tenant_id}")
        .param("tenant_id", tenant_id)
        .bearer(owner)
        .json(body);
    parts(&tenant_update::handle(&env.app, request.build()).await)
}

/// `DELETE /tenants/{tenant_id}` as `owner`, on `app`.
pub async fn delete_tenant_on(app: &App, owner: &str, tenant_id: &str) -> (u16, Value) {
    let request = call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", tenant_id)
        .bearer(owner);
    parts(&tenant_delete::handle(app, request.build()).await)
}

/// Deletes the tenant; panics unless the answer is 200.
pub async fn delete_tenant(env: &TestEnv, owner: &str, tenant_id: &str) {
    let (status, body) = delete_tenant_on(&env.app, owner, tenant_id).await;
    assert_eq!(status, 200, "deleting the tenant: {body}");
}

/// Panics if any item of the table still names `tenant_id`; the table.
pub async fn assert_nothing_left_of(env: &TestEnv, tenant_id: &str) -> String {
    let dump = env.table_dump().await;
    assert!(
        !dump.contains(tenant_id),
        "items of the deleted tenant remain: {dump}"
    );
    dump
}

/// A tenant of org `org` with APNs credentials, owned by `owner-{org}`:
/// (tenant id, owner's token).
pub async fn apns_tenant(env: &TestEnv, org: &str) -> (String, String) {
    let owner = env.user_token(&format!("owner-{org}"), &[org]);
    let tenant_id = env
        .create_tenant(&owner, crate::keys::tenant_with_apns(org))
        .await;
    (tenant_id, owner)
}

/// A tenant of org `org` with APNs credentials, created by user `user`, and
/// an API key named `key_name` with the default scopes: (tenant id, the
/// user's token, the key's creation answer).
pub async fn tenant_with_key(
    env: &TestEnv,
    user: &str,
    org: &str,
    key_name: &str,
) -> (String, String, Value) {
    let token = env.user_token(user, &[org]);
    let tenant_id = env
        .create_tenant(&token, crate::keys::tenant_with_apns(org))
        .await;
    let created = env
        .create_api_key(&token, &tenant_id, json!({"name": key_name}))
        .await;
    (tenant_id, token, created)
}

/// The provider credentials the tenant's secret holds (default if none).
pub async fn stored_credentials(
    env: &TestEnv,
    tenant_id: &str,
) -> notify_shared::credentials::TenantCredentials {
    env.app
        .secrets
        .tenant_credentials(tenant_id)
        .await
        .ok()
        .unwrap_or_default()
}

/// The name of the tenant's secret in Secrets Manager.
pub fn tenant_secret_id(env: &TestEnv, tenant_id: &str) -> String {
    format!("{}{tenant_id}", env.tenant_secret_prefix)
}

/// An environment with one APNs tenant of org `org`, owned by `owner-{org}`.
pub struct OwnedTenant {
    pub env: TestEnv,
    pub tenant_id: String,
    pub owner: String,
}

impl OwnedTenant {
    pub async fn new(org: &str) -> Self {
        let env = TestEnv::new().await;
        let (tenant_id, owner) = apns_tenant(&env, org).await;
        Self {
            env,
            tenant_id,
            owner,
        }
    }

    /// The device and send endpoints as the owner.
    pub fn by_owner(&self) -> Devices<'_> {
        Devices::user(&self.env, &self.owner, &self.tenant_id)
    }
}

/// A tenant of org `org` with APNs credentials, created by user `user`:
/// (tenant id, the user's token).
pub async fn tenant_of(env: &TestEnv, user: &str, org: &str) -> (String, String) {
    let token = env.user_token(user, &[org]);
    let tenant_id = env
        .create_tenant(&token, crate::keys::tenant_with_apns(org))
        .await;
    (tenant_id, token)
}
