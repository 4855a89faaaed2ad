//! A push simulator, an app pointed at it, and a tenant of org `acme` with
//! both providers' credentials from the simulator: what the send suites
//! start from.

use notify_shared::service::delivery::Delivery;
use notify_shared::App;
use serde_json::{json, Value};

use crate::calls::{call, parts, Call};
use crate::env::TestEnv;
use crate::flows::{device, key_named, Devices};
use crate::simulator::PushSimulator;

pub const BUNDLE_ID: &str = "com.acme.app";

pub struct SimTenant {
    pub env: TestEnv,
    pub sim: PushSimulator,
    /// The delivery pipeline of one container over `env.app`'s clients,
    /// kept across its sends.
    pub delivery: Delivery,
    pub owner: String,
    pub tenant_id: String,
}

impl SimTenant {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// As `start`, with the tenant's creation body changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Value)) -> Self {
        let (env, sim) = TestEnv::with_simulator().await;
        let owner = env.user_token("owner", &["acme"]);
        let mut body = sim.tenant_body("acme", BUNDLE_ID).await;
        adjust(&mut body);
        let tenant_id = env.create_tenant(&owner, body).await;
        let delivery = env.delivery();
        Self {
            env,
            sim,
            delivery,
            owner,
            tenant_id,
        }
    }

    /// The device endpoints as the owner.
    pub fn by_owner(&self) -> Devices<'_> {
        Devices::user(&self.env, &self.owner, &self.tenant_id)
    }

    /// Registers a device as the owner; panics unless the answer is 200.
    pub async fn register(&self, user_id: &str, token: &str, platform: &str) {
        self.by_owner()
            .register_ok(device(user_id, token, platform))
            .await;
    }

    /// The devices of `user_id`, as the owner lists them.
    pub async fn devices(&self, user_id: &str) -> Vec<Value> {
        self.by_owner().devices_of(user_id).await
    }

    /// `POST .../notify` as the owner, without a body yet.
    pub fn notify_call(&self) -> Call {
        call("POST", "/tenants/{tenant_id}/notify")
            .param("tenant_id", &self.tenant_id)
            .bearer(&self.owner)
    }

    /// Status, headers and raw body text of a send through `app` (faults
    /// included) with a pipeline over the same clients, as a container
    /// builds both from one configuration.
    pub async fn send_call_on(&self, app: &App, request: Call) -> (u16, http::HeaderMap, String) {
        let delivery = Delivery::from_app(app)
            .unwrap_or_else(|err| panic!("building provider clients: {err}"));
        answer_of(notify_send::handle(app, &delivery, request.build()).await)
    }

    /// A send through the environment's app and this container's pipeline.
    pub async fn send_call(&self, request: Call) -> (u16, http::HeaderMap, String) {
        answer_of(notify_send::handle(&self.env.app, &self.delivery, request.build()).await)
    }

    /// A send as the owner: status and JSON body (`null` if not JSON).
    pub async fn send(&self, body: Value) -> (u16, Value) {
        let request = self.notify_call().json(body);
        parts(&notify_send::handle(&self.env.app, &self.delivery, request.build()).await)
    }

    /// The same "order shipped" send to `u1` with `Idempotency-Key: key`,
    /// through `app`, with credentials set by `auth`.
    pub async fn keyed_send_as(
        &self,
        app: &App,
        auth: impl FnOnce(Call) -> Call,
        key: &str,
    ) -> (u16, http::HeaderMap, String) {
        let request = auth(
            call("POST", "/tenants/{tenant_id}/notify")
                .param("tenant_id", &self.tenant_id)
                .header("Idempotency-Key", key)
                .json(json!({"user_id": "u1", "alert": {"title": "Order shipped"}})),
        );
        self.send_call_on(app, request).await
    }

    /// [`Self::keyed_send_as`] as the owner.
    pub async fn keyed_send(&self, app: &App, key: &str) -> (u16, http::HeaderMap, String) {
        self.keyed_send_as(app, |call| call.bearer(&self.owner), key)
            .await
    }

    /// A new API key of the tenant named `name` with `scopes`.
    pub async fn key(&self, name: &str, scopes: Value) -> String {
        key_named(&self.env, &self.owner, &self.tenant_id, name, scopes).await
    }

    /// Pushes the simulator has accepted.
    pub async fn pushes(&self) -> usize {
        self.sim.deliveries().await.len()
    }
}

/// Status, headers and raw body text of an answer.
fn answer_of(response: http::Response<lambda_http::Body>) -> (u16, http::HeaderMap, String) {
    let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    (response.status().as_u16(), response.headers().clone(), text)
}
