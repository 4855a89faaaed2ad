//! The device and send endpoints of a tenant called by one client, and
//! devices registered straight through the store for setup.

use notify_shared::model::device::TokenMoves;
use notify_shared::model::{DeviceRegistration, Platform};
use notify_shared::App;
use serde_json::Value;

use super::As;
use crate::calls::{call, parts, Call};
use crate::env::TestEnv;

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
        parts(&notify_send::handle(self.app, &self.env.delivery(), request.build()).await)
    }

    /// `POST .../notify/bulk`.
    pub async fn bulk(&self, body: Value) -> (u16, Value) {
        let request = self
            .at("POST", "/tenants/{tenant_id}/notify/bulk")
            .json(body);
        parts(&notify_bulk::handle(self.app, request.build()).await)
    }
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
            .register_device(tenant_id, &registration, TokenMoves::Allowed, None)
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
