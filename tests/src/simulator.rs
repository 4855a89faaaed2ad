//! The push simulator (crate `push-simulator`) in-process, standing in for
//! APNs and FCM, with the test's app pointed at it.

use std::path::PathBuf;

use notify_shared::config::ProviderEndpoints;
use notify_shared::service::delivery::Delivery;
use push_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use serde_json::{json, Value};

use crate::env::TestEnv;

/// A simulator on loopback ports chosen by the OS, and a client for its
/// admin API. Stops and removes its files when dropped.
pub struct PushSimulator {
    pub running: RunningSimulator,
    admin: reqwest::Client,
    state_dir: PathBuf,
}

impl Drop for PushSimulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl PushSimulator {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A simulator that checks and counts every push (`GET /stats`) but
    /// records none: its own memory stays flat however many pushes arrive.
    pub async fn start_lean() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(lean: bool) -> Self {
        // reqwest (the admin client) needs a process-wide TLS provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let state_dir =
            std::env::temp_dir().join(format!("notify-tests-sim-{}", uuid::Uuid::new_v4()));
        let mut config = SimulatorConfig::ephemeral(&state_dir);
        config.lean = lean;
        let running = Simulator::start(config)
            .await
            .unwrap_or_else(|err| panic!("starting the push simulator: {err:#}"));
        let admin = reqwest::Client::builder()
            .build()
            .unwrap_or_else(|err| panic!("admin client: {err}"));
        Self {
            running,
            admin,
            state_dir,
        }
    }

    /// Sandbox APNs (the simulator's `/sandbox` listener path) and FCM at
    /// the simulator's TLS listener, trusting its CA; production APNs
    /// nowhere (tenants here are sandbox tenants).
    pub fn endpoints(&self) -> ProviderEndpoints {
        ProviderEndpoints {
            apns_production: "https://127.0.0.1:1".to_owned(),
            apns_sandbox: format!("{}/sandbox", self.running.tls_url()),
            fcm: self.running.tls_url(),
            // A local deployment's override: the simulator's token endpoint
            // (service accounts it issues name it as their `token_uri`).
            oauth_token_url: Some(format!("{}/token", self.running.http_url())),
            extra_ca_file: Some(self.running.ca_pem_path().display().to_string()),
            // The simulator's Web Push endpoint on its TLS listener.
            web_push_hosts: ProviderEndpoints::default()
                .web_push_hosts
                .with(&self.running.tls_url())
                .unwrap_or_else(|err| {
                    panic!("the simulator's origin is a valid allow-list entry: {err:?}")
                }),
        }
    }

    /// An admin request; panics unless it succeeds.
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.admin(method, path, body).await
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .admin
            .request(method, format!("{}{path}", self.running.http_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("simulator {path}: {err}"));
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("simulator {path} answer: {err}"));
        assert!(status.is_success(), "simulator {path}: {status} {answer}");
        answer
    }

    /// Fresh APNs and FCM credentials registered with the simulator, in the
    /// field names of `POST /tenants`.
    pub async fn credentials(&self, bundle_id: &str) -> Value {
        self.admin(
            reqwest::Method::POST,
            "/admin/credentials",
            Some(json!({"bundle_id": bundle_id})),
        )
        .await
    }

    /// A `POST /tenants` body for a sandbox tenant with both providers.
    pub async fn tenant_body(&self, org_id: &str, bundle_id: &str) -> Value {
        let mut body = self.credentials(bundle_id).await;
        body["org_id"] = json!(org_id);
        body["use_sandbox"] = json!(true);
        body
    }

    /// Every push the simulator accepted, oldest first.
    pub async fn deliveries(&self) -> Vec<Value> {
        let answer = self.admin(reqwest::Method::GET, "/deliveries", None).await;
        answer["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Injects a fault, e.g. `{"fault": "unregistered", "token": "..."}`.
    pub async fn fault(&self, fault: Value) {
        self.admin(reqwest::Method::POST, "/admin/faults", Some(fault))
            .await;
    }

    /// Clears every injected fault.
    pub async fn clear_faults(&self) {
        self.admin(reqwest::Method::DELETE, "/admin/faults", None)
            .await;
    }
}

impl TestEnv {
    /// An environment whose app delivers to a fresh push simulator.
    pub async fn with_simulator() -> (Self, PushSimulator) {
        let simulator = PushSimulator::start().await;
        let env = Self::with_providers(simulator.endpoints()).await;
        (env, simulator)
    }

    /// Provider clients for this environment's endpoints, as `notify-send`'s
    /// `main` builds them once per container; its metric lines are kept in
    /// memory ([`crate::metric_lines`]) instead of going to stdout.
    pub fn delivery(&self) -> Delivery {
        crate::capturing_metrics(
            Delivery::from_app(&self.app)
                .unwrap_or_else(|err| panic!("building provider clients: {err}")),
        )
    }
}
