//! A hostile tenant against the push path: it claims another tenant's
//! public credential labels, answers absurd numbers from its token endpoint,
//! points its credentials at hosts of its choosing, or misconfigures itself;
//! a slow provider against the invocation's deadline. Nothing of that may
//! reach another tenant, crash the process, wipe a registry or push twice.

use std::time::{Duration, Instant};

use notify_shared::push::DEADLINE_REACHED;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::sending::{self, SendNotificationRequest, SendOptions};
use notify_shared::service::worker::WorkerSettings;
use notify_tests::delivery::{fcm_token, ios_token, QueueSettings};
use notify_tests::keys::{apns_p8, rsa_pem, service_account};
use notify_tests::{call, parts, BulkRig, PushSimulator, TestEnv};
use serde_json::{json, Value};

const BUNDLE_ID: &str = "com.acme.app";

/// One app (one `PushEngine`, as in a warm container) and a simulator.
struct Container {
    env: TestEnv,
    sim: PushSimulator,
    delivery: Delivery,
}

impl Container {
    async fn start() -> Self {
        let (env, sim) = TestEnv::with_simulator().await;
        let delivery = env.delivery();
        Self { env, sim, delivery }
    }

    /// A tenant with the simulator's credentials, of org `acme`.
    async fn acme(&self) -> (String, String) {
        self.tenant("acme", self.sim.tenant_body("acme", BUNDLE_ID).await)
            .await
    }

    /// User `u` of `tenant` with three iPhones that APNs refuses with
    /// `fault`; the answer of one send to them.
    async fn send_to_three_refused_iphones(&self, tenant: &(String, String), fault: &str) -> Value {
        for n in 0..3 {
            self.register(tenant, "u", &ios_token(n), "ios").await;
            self.sim
                .fault(json!({"fault": fault, "token": ios_token(n)}))
                .await;
        }
        self.send(tenant, "u").await
    }

    /// A victim tenant with the simulator's credentials and an attacker
    /// claiming them with its own private keys (`impostor_of`), each with
    /// one device of `platform`: user `v` with `victim_token`, `a` with
    /// `attacker_token`.
    async fn victim_and_impostor(
        &self,
        victim_token: &str,
        attacker_token: &str,
        platform: &str,
    ) -> ((String, String), (String, String)) {
        let victim_body = self.sim.tenant_body("victim", BUNDLE_ID).await;
        let victim = self.tenant("victim", victim_body.clone()).await;
        let attacker = self.tenant("attacker", impostor_of(&victim_body)).await;
        self.register(&victim, "v", victim_token, platform).await;
        self.register(&attacker, "a", attacker_token, platform)
            .await;
        (victim, attacker)
    }

    /// A tenant of its own org; its owner's token.
    async fn tenant(&self, org: &str, body: Value) -> (String, String) {
        let owner = self.env.user_token(org, &[org]);
        let mut body = body;
        body["org_id"] = json!(org);
        (self.env.create_tenant(&owner, body).await, owner)
    }

    async fn register(&self, tenant: &(String, String), user: &str, token: &str, platform: &str) {
        let request = call("POST", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &tenant.0)
            .bearer(&tenant.1)
            .json(json!({"user_id": user, "token": token, "platform": platform}))
            .build();
        let (status, body) = parts(&device_register::handle(&self.env.app, request).await);
        assert_eq!(status, 200, "registering: {body}");
    }

    async fn devices(&self, tenant: &(String, String), user: &str) -> usize {
        let request = call("GET", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &tenant.0)
            .bearer(&tenant.1)
            .query("user_id", user)
            .build();
        let (status, body) = parts(&device_list::handle(&self.env.app, request).await);
        assert_eq!(status, 200, "listing: {body}");
        body["devices"].as_array().map_or(0, Vec::len)
    }

    async fn send_as(&self, tenant: &str, auth: &str, api_key: bool, user: &str) -> Value {
        let request = call("POST", "/tenants/{tenant_id}/notify").param("tenant_id", tenant);
        let request = match api_key {
            true => request.api_key(auth),
            false => request.bearer(auth),
        };
        let request = request
            .json(json!({"user_id": user, "alert": {"title": "Hi", "body": "there"}}))
            .build();
        let (status, body) =
            parts(&notify_send::handle(&self.env.app, &self.delivery, request).await);
        assert_eq!(status, 200, "send: {body}");
        body
    }

    async fn send(&self, tenant: &(String, String), user: &str) -> Value {
        self.send_as(&tenant.0, &tenant.1, false, user).await
    }

    /// Tokens the simulator accepted pushes for, oldest first.
    async fn delivered_tokens(&self) -> Vec<String> {
        self.sim
            .deliveries()
            .await
            .iter()
            .map(|d| d["token"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn errors(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["error"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The victim's credentials as the simulator issued them, with the
/// attacker's own private keys in place of the victim's.
fn impostor_of(victim: &Value) -> Value {
    let mut body = victim.clone();
    body["private_key"] = json!(apns_p8());
    body["fcm_service_account"]["private_key"] = json!(rsa_pem());
    body
}

#[tokio::test]
async fn a_tenant_claiming_another_tenants_apple_key_ids_cannot_push_under_its_token() {
    let c = Container::start().await;
    let (victim, attacker) = c
        .victim_and_impostor(&ios_token(1), &ios_token(2), "ios")
        .await;

    // The victim's token is cached in this container first.
    assert_eq!(c.send(&victim, "v").await["delivered"], 1);
    let answer = c.send(&attacker, "a").await;
    assert_eq!(answer["delivered"], 0, "{answer}");
    assert_eq!(errors(&answer), vec!["InvalidProviderToken"]);
    assert_eq!(c.delivered_tokens().await, vec![ios_token(1)]);
    // And the victim is unharmed afterwards.
    assert_eq!(c.send(&victim, "v").await["delivered"], 1);
}

#[tokio::test]
async fn a_tenant_claiming_another_tenants_apple_key_ids_cannot_poison_its_token() {
    let c = Container::start().await;
    let (victim, attacker) = c
        .victim_and_impostor(&ios_token(1), &ios_token(2), "ios")
        .await;

    // The attacker signs first: its token must not become the victim's.
    assert_eq!(c.send(&attacker, "a").await["delivered"], 0);
    let answer = c.send(&victim, "v").await;
    assert_eq!(answer["delivered"], 1, "{answer}");
    assert_eq!(c.delivered_tokens().await, vec![ios_token(1)]);
}

#[tokio::test]
async fn a_tenant_claiming_another_tenants_service_account_cannot_use_its_access_token() {
    let c = Container::start().await;
    let (victim, attacker) = c
        .victim_and_impostor(&fcm_token(1), &fcm_token(2), "android")
        .await;

    assert_eq!(c.send(&victim, "v").await["delivered"], 1);
    let answer = c.send(&attacker, "a").await;
    assert_eq!(answer["delivered"], 0, "{answer}");
    assert_eq!(
        errors(&answer),
        vec!["fcm credentials rejected: invalid_grant"]
    );
    assert_eq!(c.delivered_tokens().await, vec![fcm_token(1)]);
    // The attacker's refusal did not replace the victim's access token.
    assert_eq!(c.send(&victim, "v").await["delivered"], 1);
}

#[tokio::test]
async fn a_token_endpoint_answering_an_absurd_lifetime_crashes_nothing() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    c.register(&tenant, "u", &fcm_token(1), "android").await;
    c.sim
        .fault(json!({"fault": "token_lifetime", "expires_in": u64::MAX}))
        .await;
    // Before the fix this panicked (`Instant + u64::MAX seconds`).
    assert_eq!(c.send(&tenant, "u").await["delivered"], 1);
    c.sim
        .fault(json!({"fault": "token_lifetime", "expires_in": -30}))
        .await;
    assert_eq!(c.send(&tenant, "u").await["delivered"], 1);
}

#[tokio::test]
async fn one_tenants_absurd_token_lifetime_leaves_other_tenants_in_the_same_invocation_delivered() {
    let rig = BulkRig::start().await;
    let other_owner = rig.env.user_token("other", &["other"]);
    let other = rig
        .env
        .create_tenant(&other_owner, rig.sim.tenant_body("other", BUNDLE_ID).await)
        .await;
    rig.register(&[(
        "u1".into(),
        fcm_token(1),
        notify_shared::model::Platform::Android,
    )])
    .await;
    rig.env
        .register_devices(
            &other,
            &[(
                "u2".into(),
                ios_token(2),
                notify_shared::model::Platform::Ios,
            )],
        )
        .await;
    rig.sim
        .fault(json!({"fault": "token_lifetime", "expires_in": u64::MAX}))
        .await;
    let body = json!({"user_ids": ["u1"], "alert": {"title": "A"}});
    let (status, first) = rig.bulk(body).await;
    assert_eq!(status, 200, "{first}");
    let request = call("POST", "/tenants/{tenant_id}/notify/bulk")
        .param("tenant_id", &other)
        .bearer(&other_owner)
        .json(json!({"user_ids": ["u2"], "alert": {"title": "B"}}))
        .build();
    let (status, second) = parts(&notify_bulk::handle(&rig.env.app, request).await);
    assert_eq!(status, 200, "{second}");

    // Both chunks in one event, as Lambda batches them.
    let event = rig.next_event().await;
    let mut event = event;
    if event.records.len() < 2 {
        let more = rig.next_event().await;
        event.records.extend(more.records);
    }
    assert_eq!(event.records.len(), 2);
    let round = rig.invoke(&event).await;
    assert!(round.failed.is_empty(), "{round:?}");
    let pushes = rig.pushes_by_token().await;
    // Counted by token, lowercased.
    let fcm = fcm_token(1).to_ascii_lowercase();
    assert_eq!(pushes.get(&fcm), Some(&1), "{pushes:?}");
    assert_eq!(pushes.get(&ios_token(2)), Some(&1), "{pushes:?}");
}

#[tokio::test]
async fn a_tenant_cannot_point_its_token_endpoint_or_project_at_a_host_of_its_choosing() {
    // A production configuration: no token URL override.
    let env = TestEnv::new().await;
    let owner = env.user_token("acme", &["acme"]);
    let cases = [
        (
            "token_uri",
            json!("http://169.254.169.254/latest/meta-data/"),
        ),
        (
            "token_uri",
            json!("https://oauth2.googleapis.com.evil.example/token"),
        ),
        ("project_id", json!("p/../../../evil:443")),
        ("client_email", json!("someone@evil.example")),
    ];
    for (field, value) in cases {
        let mut account = service_account("my-app-123");
        account[field] = value;
        let request = call("POST", "/tenants")
            .bearer(&owner)
            .json(json!({"org_id": "acme", "fcm_service_account": account}))
            .build();
        let (status, body) = parts(&tenant_create::handle(&env.app, request).await);
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["code"], "invalid_credentials", "{body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&format!("fcm_service_account.{field}")),
            "{detail}"
        );
    }
    assert_eq!(env.tenant_secret_count().await, 0);
}

#[tokio::test]
async fn a_provider_connection_failure_answers_a_fixed_reason_without_os_text() {
    let sim = PushSimulator::start().await;
    let mut endpoints = sim.endpoints();
    // Nothing listens there: the OS refuses the connection.
    endpoints.apns_sandbox = "https://127.0.0.1:1".to_owned();
    let env = TestEnv::with_providers(endpoints).await;
    let owner = env.user_token("acme", &["acme"]);
    let tenant_id = env
        .create_tenant(&owner, sim.tenant_body("acme", BUNDLE_ID).await)
        .await;
    let c = Container {
        delivery: env.delivery(),
        env,
        sim,
    };
    let tenant = (tenant_id, owner);
    c.register(&tenant, "u", &ios_token(1), "ios").await;
    let answer = c.send(&tenant, "u").await;
    assert_eq!(
        errors(&answer),
        vec!["provider connection failed"],
        "{answer}"
    );
}

#[tokio::test]
async fn a_wrong_bundle_id_does_not_wipe_the_registry() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    let answer = c.send_to_three_refused_iphones(&tenant, "wrong_app").await;
    assert_eq!(answer["delivered"], 0, "{answer}");
    assert!(errors(&answer)
        .iter()
        .all(|e| e.starts_with("DeviceTokenNotForTopic")));
    assert_eq!(c.devices(&tenant, "u").await, 3);
}

#[tokio::test]
async fn a_wrong_apns_environment_does_not_wipe_the_registry() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    // Sandbox tokens sent to production: Apple answers BadDeviceToken to all.
    let answer = c
        .send_to_three_refused_iphones(&tenant, "bad_device_token")
        .await;
    assert_eq!(answer["delivered"], 0, "{answer}");
    assert!(
        errors(&answer)
            .iter()
            .all(|e| e.contains("check the tenant's bundle_id and use_sandbox")),
        "{answer}"
    );
    assert_eq!(c.devices(&tenant, "u").await, 3);
}

#[tokio::test]
async fn a_lone_bad_device_token_among_good_ones_is_still_removed() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    for n in 0..3 {
        c.register(&tenant, "u", &ios_token(n), "ios").await;
    }
    c.sim
        .fault(json!({"fault": "bad_device_token", "token": ios_token(0)}))
        .await;
    let answer = c.send(&tenant, "u").await;
    assert_eq!(answer["delivered"], 2, "{answer}");
    assert_eq!(c.devices(&tenant, "u").await, 2);
}

#[tokio::test]
async fn a_send_only_key_sees_shortened_device_tokens() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    c.register(&tenant, "u", &ios_token(7), "ios").await;
    let send_only = c
        .env
        .create_api_key(
            &tenant.1,
            &tenant.0,
            json!({"name": "sender", "scopes": ["send"]}),
        )
        .await;
    let backend = c
        .env
        .create_api_key(&tenant.1, &tenant.0, json!({"name": "backend"}))
        .await;
    let key = |created: &Value| created["key"].as_str().unwrap_or_default().to_owned();

    let answer = c.send_as(&tenant.0, &key(&send_only), true, "u").await;
    let shown = answer["results"][0]["token"].as_str().unwrap_or_default();
    assert_eq!(shown, format!("{}…", &ios_token(7)[..8]), "{answer}");
    let answer = c.send_as(&tenant.0, &key(&backend), true, "u").await;
    assert_eq!(answer["results"][0]["token"], json!(ios_token(7)));
}

#[tokio::test]
async fn a_hanging_provider_cannot_hold_a_single_send_past_its_deadline() {
    let c = Container::start().await;
    let tenant = c.acme().await;
    c.register(&tenant, "u", &ios_token(1), "ios").await;
    let stored = c
        .env
        .app
        .store
        .get_tenant(&tenant.0)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("tenant"));
    c.sim
        .fault(json!({"fault": "delay", "millis": 30_000, "provider": "apns"}))
        .await;
    let request: SendNotificationRequest =
        serde_json::from_value(json!({"user_id": "u", "alert": {"title": "Hi"}}))
            .unwrap_or_else(|err| panic!("request: {err}"));
    let started = Instant::now();
    let options = SendOptions {
        deadline: Some(started + Duration::from_secs(4)),
        full_tokens: true,
    };
    let answer = sending::send_notification(&c.delivery, &stored, request, options).await;
    let elapsed = started.elapsed();
    let answer = answer.unwrap_or_else(|err| panic!("send: {err}"));
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(answer.delivered, 0);
    assert_eq!(answer.results[0].error.as_deref(), Some(DEADLINE_REACHED));
}

#[tokio::test]
async fn a_hanging_provider_cannot_make_the_worker_time_out_and_push_twice() {
    let worker = WorkerSettings {
        wave_users: 2,
        deadline_margin: Duration::from_secs(1),
        settle_reserve: Duration::from_secs(1),
        ..WorkerSettings::default()
    };
    let rig = BulkRig::with_settings(QueueSettings::default(), worker).await;
    let (users, devices) = notify_tests::flows::ios_users(4);
    rig.register_many(&devices).await;
    let (status, body) = rig
        .bulk(json!({"user_ids": users, "alert": {"title": "Goal!"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let batch_id = body["batch_id"].as_str().unwrap_or_default().to_owned();
    let event = rig.next_event().await;

    // APNs hangs; the invocation ends in 5 seconds.
    rig.sim
        .fault(json!({"fault": "delay", "millis": 30_000, "provider": "apns"}))
        .await;
    let started = Instant::now();
    let response = delivery_worker::process_event_until(
        &rig.worker,
        event.clone(),
        Some(started + Duration::from_secs(5)),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "timed out: {elapsed:?}");
    assert_eq!(response.batch_item_failures.len(), 1, "retried");

    // The provider recovers; SQS delivers the message again.
    rig.sim.clear_faults().await;
    let round = rig.invoke(&event).await;
    assert!(round.failed.is_empty(), "{round:?}");
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(report["delivered"], 4, "{report}");
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.len(), 4, "{pushes:?}");
    assert!(pushes.values().all(|count| *count == 1), "{pushes:?}");
}
