//! A simulator per test, credentials registered with it, and a tenant and
//! `PushEngine` pointed at it.

use std::path::PathBuf;
use std::time::Duration;

use push_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::config::ProviderEndpoints;
use crate::credentials::{parse_service_account, validate_apns_key};
use crate::model::Notification;
use crate::model::Platform;
use crate::push::{
    EncodedNotification, PushConfig, PushEngine, RetryPolicy, Target, TargetResult, TenantPush,
};

pub(super) struct Harness {
    pub sim: RunningSimulator,
    pub admin: reqwest::Client,
    pub providers: PushEngine,
    pub tenant: TenantPush,
    /// What `providers` was built with.
    pub endpoints: ProviderEndpoints,
    state_dir: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl PushEngine {
    /// The tests' shorthand: encodes `notification` (its `Err` is the
    /// 400/413 a send would answer), then delivers it with no deadline.
    pub(super) async fn deliver_notification(
        &self,
        tenant: &TenantPush,
        notification: &Notification,
        targets: &[Target],
    ) -> crate::error::Result<Vec<TargetResult>> {
        let encoded = EncodedNotification::new(notification)?;
        Ok(self.deliver(tenant, &encoded, targets, None).await)
    }
}

pub(super) const BUNDLE_ID: &str = "com.example.notify";

/// Retries fast enough for tests, still honouring `Retry-After`.
pub(super) fn quick_config() -> PushConfig {
    PushConfig {
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(5),
        },
        ..PushConfig::default()
    }
}

pub(super) async fn start() -> Harness {
    start_with(quick_config(), |_| {}).await
}

/// `adjust` may repoint the endpoints (e.g. at the cleartext listener).
pub(super) async fn start_with(
    config: PushConfig,
    adjust: impl FnOnce(&mut ProviderEndpoints),
) -> Harness {
    start_clocked(config, adjust, Clock::system()).await
}

/// [`start_with`] whose engine judges token ages on `clock`.
pub(super) async fn start_clocked(
    config: PushConfig,
    adjust: impl FnOnce(&mut ProviderEndpoints),
    clock: Clock,
) -> Harness {
    // reqwest (the admin client) needs a process-wide provider; ours does not.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let state_dir = std::env::temp_dir().join(format!("notify-push-test-{}", uuid::Uuid::new_v4()));
    let sim = Simulator::start(SimulatorConfig::ephemeral(&state_dir))
        .await
        .expect("simulator starts");
    let admin = reqwest::Client::builder().build().expect("admin client");
    let credentials: Value = admin
        .post(format!("{}/admin/credentials", sim.http_url()))
        .json(&json!({"bundle_id": BUNDLE_ID}))
        .send()
        .await
        .expect("credentials request")
        .json()
        .await
        .expect("credentials answer");
    let text = |field: &str| credentials[field].as_str().expect(field).to_owned();
    let mut endpoints = ProviderEndpoints {
        // Production must not be used for a sandbox tenant.
        apns_production: "https://127.0.0.1:1".to_owned(),
        apns_sandbox: sim.tls_url(),
        fcm: sim.tls_url(),
        // The simulator's token endpoint, as a local deployment configures it.
        oauth_token_url: credentials["fcm_service_account"]["token_uri"]
            .as_str()
            .map(str::to_owned),
        extra_ca_file: Some(sim.ca_pem_path().display().to_string()),
        ..ProviderEndpoints::default()
    };
    adjust(&mut endpoints);
    let tenant = TenantPush {
        tenant_id: "tnt_test".to_owned(),
        bundle_id: Some(text("bundle_id")),
        use_sandbox: true,
        apns: Some(
            validate_apns_key(&text("team_id"), &text("key_id"), &text("private_key"))
                .expect("usable .p8"),
        ),
        fcm: Some(
            parse_service_account(&credentials["fcm_service_account"], &endpoints)
                .expect("usable account"),
        ),
        web_push: None,
    };
    let providers = PushEngine::with_clock(&endpoints, config, clock).expect("providers");
    Harness {
        sim,
        admin,
        providers,
        tenant,
        endpoints,
        state_dir,
    }
}

impl Harness {
    pub async fn get(&self, path: &str) -> Value {
        self.admin
            .get(format!("{}{path}", self.sim.http_url()))
            .send()
            .await
            .expect("admin GET")
            .json()
            .await
            .expect("admin JSON")
    }

    pub async fn fault(&self, fault: Value) {
        let status = self
            .admin
            .post(format!("{}/admin/faults", self.sim.http_url()))
            .json(&fault)
            .send()
            .await
            .expect("fault request")
            .status();
        assert!(status.is_success(), "fault refused: {fault}");
    }

    /// The recorded deliveries of one provider, oldest first.
    pub async fn deliveries(&self, provider: &str) -> Vec<Value> {
        let answer = self.get(&format!("/deliveries?provider={provider}")).await;
        answer["deliveries"].as_array().cloned().unwrap_or_default()
    }

    pub async fn stats(&self) -> Value {
        self.get("/stats").await
    }

    /// Fresh APNs credentials from the simulator (`extra`: e.g. the
    /// `team_id` of an existing team), as tenant `tenant_id`'s.
    pub async fn apns_tenant(&self, tenant_id: &str, extra: Value) -> TenantPush {
        let mut body = json!({"bundle_id": BUNDLE_ID});
        for (name, value) in extra.as_object().cloned().unwrap_or_default() {
            body[name] = value;
        }
        let credentials: Value = self
            .admin
            .post(format!("{}/admin/credentials", self.sim.http_url()))
            .json(&body)
            .send()
            .await
            .expect("credentials request")
            .json()
            .await
            .expect("credentials answer");
        let text = |field: &str| credentials[field].as_str().expect(field).to_owned();
        TenantPush {
            tenant_id: tenant_id.to_owned(),
            apns: Some(
                validate_apns_key(&text("team_id"), &text("key_id"), &text("private_key"))
                    .expect("usable .p8"),
            ),
            fcm: None,
            ..self.tenant.clone()
        }
    }
}

pub(super) fn ios(n: usize) -> Target {
    Target {
        token: format!("{n:064x}"),
        platform: Platform::Ios,
        web_push_keys: None,
    }
}

pub(super) fn android(n: usize) -> Target {
    Target {
        token: format!("fcm{n}:APA91b{}", "x_-Z".repeat(30)),
        platform: Platform::Android,
        web_push_keys: None,
    }
}
