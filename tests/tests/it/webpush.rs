//! Standard Web Push without Firebase: tenant VAPID keys, `webpush`
//! devices made from a browser's `PushSubscription`, single and bulk sends
//! decrypted at the other end, and what a hostile tenant cannot make the
//! service do.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use notify_tests::flows::{get_tenant as tenant_object, patch_tenant, Devices};
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{call, parts, BrowserSubscription, BulkRig, TestEnv};
use serde_json::{json, Value};

const BUNDLE_ID: &str = "com.acme.app";
const SUBJECT: &str = "mailto:ops@acme.com";

type Setup = SimTenant;

async fn setup(web_push: Option<Value>) -> Setup {
    SimTenant::start_with(|body| {
        if let Some(web_push) = web_push {
            body["web_push"] = web_push;
        }
    })
    .await
}

async fn register(env: &TestEnv, owner: &str, tenant_id: &str, body: Value) -> (u16, Value) {
    Devices::user(env, owner, tenant_id).register(body).await
}

async fn devices(env: &TestEnv, owner: &str, tenant_id: &str, user_id: &str) -> Vec<Value> {
    Devices::user(env, owner, tenant_id)
        .devices_of(user_id)
        .await
}

/// Panics unless the send was answered 200 with its one push failed by the
/// push service answering `status`.
fn assert_one_failed_with(answer: &(u16, Value), status: &str) {
    let (code, answer) = answer;
    assert_eq!(*code, 200, "{answer}");
    assert_eq!(answer["failed"], 1, "{answer}");
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains(status),
        "{answer}"
    );
}

trait Subscriptions {
    async fn register_subscription(&self, user_id: &str, subscription: Value) -> (u16, Value);
    async fn vapid_public_key(&self) -> String;
    async fn patch(&self, body: Value) -> (u16, Value);
}

impl Subscriptions for SimTenant {
    async fn register_subscription(&self, user_id: &str, subscription: Value) -> (u16, Value) {
        let body = json!({"user_id": user_id, "platform": "webpush", "subscription": subscription});
        self.by_owner().register(body).await
    }

    async fn patch(&self, body: Value) -> (u16, Value) {
        patch_tenant(&self.env, &self.owner, &self.tenant_id, body).await
    }

    async fn vapid_public_key(&self) -> String {
        let tenant = tenant_object(&self.env, &self.owner, &self.tenant_id).await;
        tenant["vapid_public_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn order_shipped(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "alert": {"title": "Order shipped", "subtitle": "Acme", "body": "Your order #1042 is on its way"},
        "badge": 1,
        "sound": "default",
        "data": {"order_id": "1042"}
    })
}

/// The `k=` of a recorded `Authorization: vapid t=..., k=...`.
fn vapid_k(delivery: &Value) -> String {
    delivery["headers"]["authorization"]
        .as_str()
        .and_then(|value| value.split("k=").nth(1))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_tenant_gets_a_vapid_key_pair_whose_public_key_is_a_65_byte_point() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let tenant = tenant_object(&s.env, &s.owner, &s.tenant_id).await;
    assert_eq!(tenant["web_push_configured"], true, "{tenant}");
    let public = URL_SAFE_NO_PAD
        .decode(tenant["vapid_public_key"].as_str().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 4);
    assert!(!tenant.to_string().contains("PRIVATE KEY"), "{tenant}");

    // The subject alone keeps the key; `rotate` replaces it.
    let (status, same) = s
        .patch(json!({"web_push": {"subject": "https://acme.com/contact"}}))
        .await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["vapid_public_key"], tenant["vapid_public_key"]);
    let (status, rotated) = s
        .patch(json!({"web_push": {"subject": SUBJECT, "rotate": true}}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["vapid_public_key"], tenant["vapid_public_key"]);
    assert_eq!(rotated["web_push_configured"], true);
}

#[tokio::test]
async fn bad_vapid_subjects_and_keys_are_400_naming_the_field_and_change_nothing() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let before = s.vapid_public_key().await;
    for (body, field) in [
        (
            json!({"web_push": {"subject": "ops@acme.com"}}),
            "web_push.subject",
        ),
        (
            json!({"web_push": {"subject": "http://acme.com"}}),
            "web_push.subject",
        ),
        (
            json!({"web_push": {"subject": SUBJECT, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}),
            "web_push.private_key",
        ),
    ] {
        let (status, answer) = s.patch(body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains(field), "{answer}");
        // Nothing that looks like key material comes back, not even the
        // PEM armour in the explanation (found by the contract fuzzer).
        assert!(!answer.to_string().contains("-----BEGIN"), "{answer}");
    }
    assert_eq!(s.vapid_public_key().await, before);
}

#[tokio::test]
async fn an_uploaded_pkcs8_key_is_used_and_its_public_key_shown() {
    let s = setup(None).await;
    let key = notify_shared::web_push_protocol::VapidKey::generate(SUBJECT).unwrap();
    let pem = secrecy::ExposeSecret::expose_secret(&key.private_key).to_owned();
    let (status, tenant) = s
        .patch(json!({"web_push": {"subject": SUBJECT, "private_key": pem}}))
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["vapid_public_key"], json!(key.public_key));
}

#[tokio::test]
async fn a_browser_subscription_receives_a_single_send_it_can_decrypt() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("browser-1"));
    let (status, device) = s.register_subscription("user-123", browser.to_json()).await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["token"], json!(browser.endpoint));
    assert_eq!(device["platform"], "webpush");

    let (status, answer) = s.send(order_shipped("user-123")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["delivered"], 1, "{answer}");
    let message_id = answer["message_id"].clone();

    let deliveries = s.sim.web_push_deliveries(&browser.endpoint).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["provider"], "webpush");
    assert_eq!(
        delivery["headers"]["ttl"],
        json!((28 * 24 * 3600).to_string())
    );
    assert_eq!(delivery["headers"]["urgency"], "high");
    assert_eq!(delivery["headers"]["content-encoding"], "aes128gcm");
    assert_eq!(vapid_k(delivery), s.vapid_public_key().await);
    let plaintext = browser.decrypt(delivery["body_b64"].as_str().unwrap_or_default());
    assert_eq!(
        plaintext,
        json!({
            "title": "Order shipped", "subtitle": "Acme", "body": "Your order #1042 is on its way",
            "badge": 1, "sound": "default", "data": {"order_id": "1042"}, "message_id": message_id
        })
    );
}

/// Safari's push service: Apple refuses a `Topic` whose length is 1 mod 4
/// (`match-042`), so every `collapse_id` travels as a 32-character digest.
#[tokio::test]
async fn ttl_priority_and_collapse_id_become_headers_safari_accepts() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let vapid = s.vapid_public_key().await;
    let subscription = s.sim.web_push_subscription_of("apple", &vapid).await;
    let endpoint = subscription["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = s.register_subscription("u", subscription).await;
    assert_eq!(status, 200);
    let (status, answer) = s
        .send(
            json!({"user_id": "u", "data": {"score": "2-1"}, "priority": "normal",
                     "ttl_seconds": 60, "collapse_id": "match-042"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let deliveries = s.sim.web_push_deliveries(&endpoint).await;
    assert_eq!(deliveries.len(), 1, "{answer}");
    let headers = &deliveries[0]["headers"];
    assert_eq!(headers["ttl"], "60");
    assert_eq!(headers["urgency"], "normal");
    let topic = headers["topic"].as_str().unwrap_or_default();
    assert_eq!(topic.len(), 32, "{topic}");
    assert!(topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    // Decrypted by the simulator, which holds the subscription's key.
    assert_eq!(
        deliveries[0]["plaintext"],
        json!({"data": {"score": "2-1"}, "message_id": answer["message_id"]})
    );
}

#[tokio::test]
async fn a_bulk_send_reaches_browser_subscriptions_decrypted() {
    let rig = BulkRig::start().await;
    let (status, tenant) = patch_tenant(
        &rig.env,
        &rig.owner,
        &rig.tenant_id,
        json!({"web_push": {"subject": SUBJECT}}),
    )
    .await;
    assert_eq!(status, 200, "{tenant}");
    let browsers: Vec<BrowserSubscription> = (0..3)
        .map(|n| BrowserSubscription::new(&rig.sim.web_push_endpoint(&format!("bulk-{n}"))))
        .collect();
    for (n, browser) in browsers.iter().enumerate() {
        let (status, body) = register(
            &rig.env,
            &rig.owner,
            &rig.tenant_id,
            json!({"user_id": format!("user-{n}"), "platform": "webpush", "subscription": browser.to_json()}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, answer) = rig
        .bulk(json!({"user_ids": ["user-0", "user-1", "user-2"], "alert": {"title": "Sale", "body": "Today only"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let batch_id = answer["batch_id"].as_str().unwrap_or_default().to_owned();
    let done = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(done["delivered"], 3, "{done}");
    for browser in &browsers {
        let deliveries = rig.sim.web_push_deliveries(&browser.endpoint).await;
        assert_eq!(deliveries.len(), 1, "{}", browser.endpoint);
        let plaintext = browser.decrypt(deliveries[0]["body_b64"].as_str().unwrap_or_default());
        assert_eq!(
            plaintext,
            json!({"title": "Sale", "body": "Today only", "message_id": batch_id})
        );
    }
}

#[tokio::test]
async fn endpoints_off_the_allow_list_or_not_https_are_400_and_never_contacted() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let sim_http = s.sim.running.http_url();
    for endpoint in [
        "https://evil.example.com/push/1".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "http://fcm.googleapis.com/fcm/send/abc".to_owned(),
        format!("{sim_http}/wp/not-allowed"),
        "https://fcm.googleapis.com.evil.com/x".to_owned(),
        "https://user@fcm.googleapis.com/fcm/send/abc".to_owned(),
    ] {
        let browser = BrowserSubscription::new(&endpoint);
        let (status, answer) = s.register_subscription("u", browser.to_json()).await;
        assert_eq!(status, 400, "{endpoint}: {answer}");
        assert_eq!(answer["code"], "invalid_token_format", "{answer}");
        assert!(
            answer.to_string().contains("subscription.endpoint"),
            "{answer}"
        );
    }
    assert!(devices(&s.env, &s.owner, &s.tenant_id, "u")
        .await
        .is_empty());
    let (_, answer) = s
        .send(json!({"user_id": "u", "alert": {"body": "x"}}))
        .await;
    assert_eq!(answer["delivered"], 0, "{answer}");
    assert!(s.sim.deliveries().await.is_empty());
}

#[tokio::test]
async fn subscription_keys_of_the_wrong_length_or_curve_are_400_naming_the_field() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("keys"));
    let mut short_point = browser.to_json();
    short_point["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4_u8; 33]));
    let mut off_curve = browser.to_json();
    off_curve["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4_u8; 65]));
    let mut short_auth = browser.to_json();
    short_auth["keys"]["auth"] = json!(URL_SAFE_NO_PAD.encode([1_u8; 8]));
    for (subscription, field) in [
        (short_point, "subscription.keys.p256dh"),
        (off_curve, "subscription.keys.p256dh"),
        (short_auth, "subscription.keys.auth"),
    ] {
        let (status, answer) = s.register_subscription("u", subscription).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["code"], "invalid_token_format");
        assert!(answer.to_string().contains(field), "{field}: {answer}");
    }
    let (status, answer) = register(
        &s.env,
        &s.owner,
        &s.tenant_id,
        json!({"user_id": "u", "platform": "webpush", "token": browser.endpoint}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("`subscription`"), "{answer}");
}

#[tokio::test]
async fn a_410_from_the_push_service_removes_the_subscription() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let gone = BrowserSubscription::new(&s.sim.web_push_endpoint("gone-7"));
    let (status, _) = s.register_subscription("u", gone.to_json()).await;
    assert_eq!(status, 200);
    let answer = s
        .send(json!({"user_id": "u", "alert": {"body": "x"}}))
        .await;
    assert_one_failed_with(&answer, "410");
    assert!(devices(&s.env, &s.owner, &s.tenant_id, "u")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_tenant_without_vapid_keys_gets_a_clear_failure_not_a_500() {
    let s = setup(None).await;
    let tenant = tenant_object(&s.env, &s.owner, &s.tenant_id).await;
    assert_eq!(tenant["web_push_configured"], false);
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("novapid"));
    let (status, _) = s.register_subscription("u", browser.to_json()).await;
    assert_eq!(status, 200);
    let (status, answer) = s
        .send(json!({"user_id": "u", "alert": {"body": "x"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["failed"], 1);
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not configured"),
        "{answer}"
    );
    assert!(s
        .sim
        .web_push_deliveries(&browser.endpoint)
        .await
        .is_empty());
}

#[tokio::test]
async fn each_tenant_signs_with_its_own_vapid_key_and_never_another_tenants() {
    let (env, sim) = TestEnv::with_simulator().await;
    let delivery = env.delivery();
    let owner = env.user_token("owner", &["acme"]);
    let mut tenants = Vec::new();
    for _ in 0..2 {
        let mut body = sim.tenant_body("acme", BUNDLE_ID).await;
        body["web_push"] = json!({"subject": SUBJECT});
        tenants.push(env.create_tenant(&owner, body).await);
    }
    let key_a = tenant_object(&env, &owner, &tenants[0]).await["vapid_public_key"].clone();
    // A subscription made for tenant A's applicationServerKey.
    let subscription = sim.web_push_subscription(key_a.as_str()).await;
    let endpoint = subscription["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut errors = Vec::new();
    for tenant_id in &tenants {
        let body = json!({"user_id": "u", "platform": "webpush", "subscription": subscription});
        let (status, answer) = register(&env, &owner, tenant_id, body).await;
        assert_eq!(status, 200, "{answer}");
        let request = call("POST", "/tenants/{tenant_id}/notify")
            .param("tenant_id", tenant_id)
            .bearer(&owner)
            .json(json!({"user_id": "u", "alert": {"body": "hello"}}))
            .build();
        let (_, answer) = parts(&notify_send::handle(&env.app, &delivery, request).await);
        errors.push(answer["results"][0]["error"].clone());
    }
    assert_eq!(errors[0], Value::Null, "tenant A's own key is accepted");
    assert!(
        errors[1].as_str().unwrap_or_default().contains("403"),
        "{errors:?}"
    );
    let deliveries = sim.web_push_deliveries(&endpoint).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(json!(vapid_k(&deliveries[0])), key_a);
}

#[tokio::test]
async fn a_webpush_device_is_unregistered_by_its_endpoint_in_the_token_query_parameter() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("to-delete"));
    let (status, _) = s.register_subscription("u", browser.to_json()).await;
    assert_eq!(status, 200);
    // lambda_http hands the query over decoded once, as API Gateway does.
    let request = call("DELETE", "/tenants/{tenant_id}/devices")
        .param("tenant_id", &s.tenant_id)
        .bearer(&s.owner)
        .query("token", &browser.endpoint)
        .query("user_id", "u")
        .build();
    let (status, answer) = parts(&device_unregister::handle(&s.env.app, request).await);
    assert_eq!(status, 200, "{answer}");
    assert!(devices(&s.env, &s.owner, &s.tenant_id, "u")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_web_platform_through_fcm_keeps_working_next_to_webpush() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let fcm_token = format!("web1:APA91b{}", "x_-Z".repeat(30));
    let (status, _) = register(
        &s.env,
        &s.owner,
        &s.tenant_id,
        json!({"user_id": "u", "platform": "web", "token": fcm_token}),
    )
    .await;
    assert_eq!(status, 200);
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("beside-fcm"));
    let (status, _) = s.register_subscription("u", browser.to_json()).await;
    assert_eq!(status, 200);
    let (status, answer) = s
        .send(json!({"user_id": "u", "alert": {"body": "both"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["delivered"], 2, "{answer}");
    let fcm: Vec<Value> = s
        .sim
        .deliveries()
        .await
        .into_iter()
        .filter(|d| d["provider"] == "fcm")
        .collect();
    assert_eq!(fcm.len(), 1);
    assert_eq!(s.sim.web_push_deliveries(&browser.endpoint).await.len(), 1);
}

/// Python's `http_ece` (installed in the project's virtualenv by
/// scripts/test), decrypting `body_b64` with the browser's private key.
fn http_ece_decrypt(browser: &BrowserSubscription, body_b64: &str) -> Value {
    const SCRIPT: &str = r#"
import base64, sys, http_ece
from cryptography.hazmat.primitives.asymmetric import ec
b64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
key = ec.derive_private_key(int.from_bytes(b64(sys.argv[1]), "big"), ec.SECP256R1())
sys.stdout.write(http_ece.decrypt(b64(sys.argv[3]), private_key=key, auth_secret=b64(sys.argv[2]), version="aes128gcm").decode())
"#;
    let venv = std::env::var("NOTIFY_VENV_DIR").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"),
        std::path::PathBuf::from,
    );
    let output = std::process::Command::new(venv.join("bin/python3"))
        .args([
            "-c",
            SCRIPT,
            &browser.private_key_b64(),
            &browser.auth(),
            body_b64,
        ])
        .output()
        .unwrap_or_else(|err| {
            panic!("running the venv's python3 (scripts/test installs http-ece): {err}")
        });
    assert!(
        output.status.success(),
        "http_ece failed (install it with scripts/test, or pip install http-ece): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

#[tokio::test]
async fn pythons_http_ece_decrypts_what_we_sent_to_the_same_plaintext() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let browser = BrowserSubscription::new(&s.sim.web_push_endpoint("independent"));
    let (status, _) = s.register_subscription("u", browser.to_json()).await;
    assert_eq!(status, 200);
    let (status, answer) = s.send(order_shipped("u")).await;
    assert_eq!(status, 200, "{answer}");
    let deliveries = s.sim.web_push_deliveries(&browser.endpoint).await;
    assert_eq!(deliveries.len(), 1);
    let body_b64 = deliveries[0]["body_b64"].as_str().unwrap_or_default();
    let theirs = http_ece_decrypt(&browser, body_b64);
    assert_eq!(theirs["title"], "Order shipped", "{theirs}");
    assert_eq!(theirs["message_id"], answer["message_id"]);
    assert_eq!(theirs, browser.decrypt(body_b64));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_the_subscription_is_kept() {
    let s = setup(Some(json!({"subject": SUBJECT}))).await;
    let busy = BrowserSubscription::new(&s.sim.web_push_endpoint("busy-1"));
    let (status, _) = s.register_subscription("u", busy.to_json()).await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    let answer = s
        .send(json!({"user_id": "u", "alert": {"body": "x"}}))
        .await;
    assert_one_failed_with(&answer, "429");
    // Four attempts with the push service's `Retry-After: 1` between them;
    // the engine's own backoff alone would take 0.7 s.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(devices(&s.env, &s.owner, &s.tenant_id, "u").await.len(), 1);
}
