//! The request sequences the integration tests repeat: the device, send
//! and tenant endpoints called in-process as a client calls them, so that a
//! test names what it does and a change to an endpoint's shape is made once.

use notify_shared::model::device::TokenMoves;
use notify_shared::model::{DeviceRegistration, Platform};
use notify_shared::App;
use serde_json::{json, Value};

use crate::calls::{call, parts, Call};
use crate::env::TestEnv;

/// Who makes a request.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    User(&'a str),
    Key(&'a str),
}

impl As<'_> {
    pub fn on(self, call: Call) -> Call {
        match self {
            As::User(token) => call.bearer(token),
            As::Key(key) => call.api_key(key),
        }
    }
}

/// A device body: `user_id`, `token` and `platform`.
pub fn device(user_id: &str, token: &str, platform: &str) -> Value {
    json!({"user_id": user_id, "token": token, "platform": platform})
}

/// A device body carrying the user's signature (user verification).
pub fn signed_device(user_id: &str, token: &str, signature: &str) -> Value {
    let mut body = device(user_id, token, "ios");
    body["user_signature"] = json!(signature);
    body
}

/// The device and send endpoints of one tenant, called by one client.
#[derive(Clone, Copy)]
pub struct Devices<'a> {
    pub env: &'a TestEnv,
    pub app: &'a App,
    pub who: As<'a>,
    pub tenant_id: &'a str,
}

impl<'a> Devices<'a> {
    pub fn new(env: &'a TestEnv, who: As<'a>, tenant_id: &'a str) -> Self {
        Self {
            env,
            app: &env.app,
            who,
            tenant_id,
        }
    }

    /// As the tenant's user `token`.
    pub fn user(env: &'a TestEnv, token: &'a str, tenant_id: &'a str) -> Self {
        Self::new(env, As::User(token), tenant_id)
    }

    /// With the API key `key`.
    pub fn key(env: &'a TestEnv, key: &'a str, tenant_id: &'a str) -> Self {
        Self::new(env, As::Key(key), tenant_id)
    }

    fn at(&self, method: &str, route: &str) -> Call {
        self.who
            .on(call(method, route).param("tenant_id", self.tenant_id))
    }

    /// `POST .../devices`.
    pub async fn register(&self, body: Value) -> (u16, Value) {
        let request = self.at("POST", "/tenants/{tenant_id}/devices").json(body);
        parts(&device_register::handle(self.app, request.build()).await)
    }

    /// `POST .../devices` with a body sent as is.
    pub async fn register_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let request = self
            .at("POST", "/tenants/{tenant_id}/devices")
            .header("content-type", "application/json")
            .raw_body(body);
        parts(&device_register::handle(self.app, request.build()).await)
    }

    /// Registers `body`; panics unless the answer is 200. The device.
    pub async fn register_ok(&self, body: Value) -> Value {
        let (status, device) = self.register(body).await;
        assert_eq!(status, 200, "registering: {device}");
        device
    }

    /// `GET .../devices`, with `user_id` when given.
    pub async fn list(&self, user_id: Option<&str>) -> (u16, Value) {
        let mut request = self.at("GET", "/tenants/{tenant_id}/devices");
        if let Some(user_id) = user_id {
            request = request.query("user_id", user_id);
        }
        parts(&device_list::handle(self.app, request.build()).await)
    }

    /// The devices of `user_id`; panics unless the listing is 200.
    pub async fn devices_of(&self, user_id: &str) -> Vec<Value> {
        let (status, listed) = self.list(Some(user_id)).await;
        assert_eq!(status, 200, "listing: {listed}");
        listed["devices"].as_array().cloned().unwrap_or_default()
    }

    /// The tokens of `user_id`'s devices, as listed.
    pub async fn tokens_of(&self, user_id: &str) -> Vec<String> {
        self.devices_of(user_id)
            .await
            .iter()
            .filter_map(|device| device["token"].as_str().map(str::to_owned))
            .collect()
    }

    /// `DELETE .../devices/{token}`, with `user_id` when given.
    pub async fn unregister(&self, token: &str, user_id: Option<&str>) -> (u16, Value) {
        let mut request = self
            .at("DELETE", "/tenants/{tenant_id}/devices/{token}")
            .param("token", token);
        if let Some(user_id) = user_id {
            request = request.query("user_id", user_id);
        }
        parts(&device_unregister::handle(self.app, request.build()).await)
    }

    /// `POST .../notify`, with the environment's provider clients.
    pub async fn notify(&self, body: Value) -> (u16, Value) {
        let request = self.at("POST", "/tenants/{tenant_id}/notify").json(body);
        parts(&notify_send::handle(self.app, &self.env.dispatcher(), request.build()).await)
    }

    /// `POST .../notify/bulk`.
    pub async fn bulk(&self, body: Value) -> (u16, Value) {
        let request = self
            .at("POST", "/tenants/{tenant_id}/notify/bulk")
            .json(body);
        parts(&notify_bulk::handle(self.app, request.build()).await)
    }
}

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

/// Panics unless the answer is `status` with the error `code`; its detail.
pub fn assert_error(answer: (u16, &Value), status: u16, code: &str) -> String {
    let (got, body) = answer;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// Panics unless the error's detail mentions `needle`.
pub fn assert_detail_names(body: &Value, needle: &str) {
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "{needle} not in {body}");
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

/// A new API key of the tenant with `scopes`: the key itself.
pub async fn key_with(env: &TestEnv, owner: &str, tenant_id: &str, scopes: Value) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": "app", "scopes": scopes}))
        .await;
    created["key"].as_str().unwrap_or_default().to_owned()
}

/// Registers devices (user, token, platform) through the store one after
/// another: moto undoes concurrent transactions on one table now and then,
/// which setup must not suffer from.
pub async fn register_one_by_one(
    env: &TestEnv,
    tenant_id: &str,
    devices: &[(String, String, Platform)],
) {
    for (user_id, token, platform) in devices {
        let registration = registration(user_id, token, *platform);
        let registered = env
            .app
            .store
            .register_device(tenant_id, &registration, TokenMoves::Allowed)
            .await;
        if let Err(err) = registered {
            panic!("registering device {token}: {err}");
        }
    }
}

/// Users `user-0..count`, each with one iPhone (`ios_token(n)`): the ids,
/// and the devices as the store registers them.
pub fn ios_users(count: usize) -> (Vec<String>, Vec<(String, String, Platform)>) {
    let users: Vec<String> = (0..count).map(|n| format!("user-{n}")).collect();
    let devices = users
        .iter()
        .enumerate()
        .map(|(n, user)| (user.clone(), crate::delivery::ios_token(n), Platform::Ios))
        .collect();
    (users, devices)
}

/// A registration of `token` for `user_id` with nothing optional set, as
/// setup writes it through the store.
pub fn registration(user_id: &str, token: &str, platform: Platform) -> DeviceRegistration {
    DeviceRegistration {
        user_id: user_id.to_owned(),
        token: token.to_owned(),
        platform,
        token_type: Default::default(),
        app_version: None,
        web_push_keys: None,
    }
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

/// `GET /tenants/{tenant_id}/api-keys` by `who`.
pub async fn list_keys(app: &App, who: As<'_>, tenant_id: &str) -> (u16, Value) {
    let request =
        who.on(call("GET", "/tenants/{tenant_id}/api-keys").param("tenant_id", tenant_id));
    parts(&api_key_list::handle(app, request.build()).await)
}

/// `POST /tenants/{tenant_id}/api-keys` by `who` with `body`.
pub async fn create_key(app: &App, who: As<'_>, tenant_id: &str, body: Value) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/api-keys").param("tenant_id", tenant_id))
        .json(body);
    parts(&api_key_create::handle(app, request.build()).await)
}

/// A new API key of the tenant named `name` with `scopes`: the key itself.
pub async fn key_named(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    name: &str,
    scopes: Value,
) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": name, "scopes": scopes}))
        .await;
    created["key"].as_str().unwrap_or_default().to_owned()
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
