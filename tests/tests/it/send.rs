//! Single sends against the push simulator: what reaches APNs and FCM, dead
//! tokens, payload limits, bad input and `Idempotency-Key`.

use notify_shared::auth::user_token::UserClaims;
use notify_shared::auth::Caller;
use notify_shared::service::idempotency::answer_owner;
use notify_shared::store::IdempotencySlot;
use notify_tests::call;
use notify_tests::sim_tenant::SimTenant;
use serde_json::{json, Value};

const BUNDLE_ID: &str = "com.acme.app";

fn ios_token(n: u32) -> String {
    format!("{n:064x}")
}

fn fcm_token(n: u32) -> String {
    format!("fcm{n}:APA91b{}", "x_-Z".repeat(30))
}

/// A simulator, an app pointed at it, and a tenant with both providers'
/// credentials from the simulator.
type Setup = SimTenant;

async fn setup() -> Setup {
    SimTenant::start().await
}

async fn setup_with(adjust: impl FnOnce(&mut Value)) -> Setup {
    SimTenant::start_with(adjust).await
}

fn order_shipped(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "alert": {"title": "Order shipped", "body": "Your order #1042 is on its way"},
        "badge": 1,
        "sound": "default",
        "data": {"order_id": "1042"}
    })
}

/// Whom the answers of user `sub` belong to.
fn owner_of_user(sub: &str) -> String {
    answer_owner(&Caller::User(UserClaims {
        sub: sub.to_owned(),
        exp: 0,
        orgs: Vec::new(),
        email: None,
        iat: None,
    }))
}

fn is_uuid_v4(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|id| id.get_version_num() == 4)
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_send_reaches_an_ios_and_an_android_device_with_the_exact_payload_and_headers() {
    let s = setup().await;
    let (ios, android) = (ios_token(1), fcm_token(1));
    s.register("user-123", &ios, "ios").await;
    s.register("user-123", &android, "android").await;

    let (status, answer) = s.send(order_shipped("user-123")).await;
    assert_eq!(status, 200, "{answer}");
    let message_id = answer["message_id"].as_str().unwrap_or_default().to_owned();
    assert!(is_uuid_v4(&message_id), "{message_id}");
    let mut results = answer["results"].as_array().cloned().unwrap_or_default();
    results.sort_by_key(|r| r["platform"].as_str().map(str::to_owned));
    assert_eq!(
        results,
        vec![
            json!({"token": android, "platform": "android", "success": true, "error": null}),
            json!({"token": ios, "platform": "ios", "success": true, "error": null}),
        ]
    );
    assert_eq!(
        answer,
        json!({"success": true, "message_id": message_id, "delivered": 2, "failed": 0,
               "results": answer["results"]})
    );

    let deliveries = s.sim.deliveries().await;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    let apns: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["provider"] == "apns")
        .collect();
    let fcm: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["provider"] == "fcm")
        .collect();
    assert_eq!((apns.len(), fcm.len()), (1, 1));
    let apns = apns[0];
    assert_eq!(apns["token"], ios.as_str());
    assert_eq!(apns["topic"], BUNDLE_ID);
    assert_eq!(apns["push_type"], "alert");
    assert_eq!(apns["priority"], 10);
    assert_eq!(apns["expiration"], Value::Null);
    assert_eq!(
        apns["payload"],
        json!({"aps": {"alert": {"title": "Order shipped", "body": "Your order #1042 is on its way"},
                       "badge": 1, "sound": "default"},
               "order_id": "1042"})
    );
    let fcm = fcm[0];
    assert_eq!(fcm["token"], android.as_str());
    assert_eq!(
        fcm["message"],
        json!({"token": android,
               "notification": {"title": "Order shipped", "body": "Your order #1042 is on its way"},
               "data": {"order_id": "1042"},
               "android": {"priority": "HIGH",
                           "notification": {"sound": "default", "notification_count": 1}}})
    );
}

#[tokio::test]
async fn a_silent_push_is_a_background_push_at_priority_5() {
    let s = setup().await;
    s.register("u1", &ios_token(2), "ios").await;
    let (status, answer) = s
        .send(json!({"user_id": "u1", "content_available": true, "data": {"sync": true}}))
        .await;
    assert_eq!(
        (status, answer["delivered"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let deliveries = s.sim.deliveries().await;
    assert_eq!(deliveries[0]["push_type"], "background");
    assert_eq!(deliveries[0]["priority"], 5);
    assert_eq!(
        deliveries[0]["payload"],
        json!({"aps": {"content-available": 1}, "sync": true})
    );
}

#[tokio::test]
async fn a_user_without_devices_gets_the_contracts_answer_and_nothing_is_sent() {
    let s = setup().await;
    s.register("someone-else", &ios_token(1), "ios").await;
    let (status, answer) = s.send(order_shipped("nobody")).await;
    assert_eq!(status, 200, "{answer}");
    let message_id = answer["message_id"].as_str().unwrap_or_default().to_owned();
    assert!(is_uuid_v4(&message_id));
    assert_eq!(
        answer,
        json!({"success": false, "error": "no devices registered for user",
               "message_id": message_id, "delivered": 0, "failed": 0, "results": []})
    );
    assert!(s.sim.deliveries().await.is_empty());
}

#[tokio::test]
async fn a_dead_token_is_removed_from_the_registry_after_one_send() {
    let s = setup().await;
    let (dead, alive) = (ios_token(13), fcm_token(13));
    s.register("u1", &dead, "ios").await;
    s.register("u1", &alive, "android").await;
    s.sim
        .fault(json!({"fault": "unregistered", "token": dead}))
        .await;

    let (status, answer) = s.send(order_shipped("u1")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            answer["success"].as_bool(),
            answer["delivered"].as_u64(),
            answer["failed"].as_u64()
        ),
        (Some(true), Some(1), Some(1))
    );
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    let dead_result = results.iter().find(|r| r["token"] == dead.as_str());
    assert_eq!(
        dead_result,
        Some(&json!({"token": dead, "platform": "ios", "success": false, "error": "Unregistered"}))
    );
    let left: Vec<Value> = s.devices("u1").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["token"], alive.as_str());
    assert!(!s.env.table_dump().await.contains(&dead));
}

#[tokio::test]
async fn a_device_whose_provider_the_tenant_lacks_fails_with_a_clear_error() {
    // FCM credentials only.
    let s = setup_with(|body| {
        if let Some(fields) = body.as_object_mut() {
            for field in ["bundle_id", "team_id", "key_id", "private_key"] {
                fields.remove(field);
            }
        }
    })
    .await;
    s.register("u1", &ios_token(4), "ios").await;
    s.register("u1", &fcm_token(4), "android").await;
    let (status, answer) = s.send(order_shipped("u1")).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    let ios = results.iter().find(|r| r["platform"] == "ios");
    assert_eq!(
        ios.map(|r| (r["success"].clone(), r["error"].clone())),
        Some((json!(false), json!("apns not configured for tenant")))
    );
    assert_eq!(answer["delivered"], 1);
    // Both devices stay registered: a missing credential is not a dead token.
    assert_eq!(s.devices("u1").await.len(), 2);
}

#[tokio::test]
async fn a_payload_over_4096_bytes_is_413_and_nothing_is_sent() {
    let s = setup().await;
    s.register("u1", &ios_token(5), "ios").await;
    s.register("u1", &fcm_token(5), "android").await;
    for body in [
        json!({"user_id": "u1", "alert": {"body": "x".repeat(4100)}}),
        json!({"user_id": "u1", "data": {"blob": "y".repeat(4090)}}),
    ] {
        let (status, answer) = s.send(body).await;
        assert_eq!(status, 413, "{answer}");
        assert_eq!(answer["code"], "payload_too_large");
    }
    assert!(s.sim.deliveries().await.is_empty());
    // A user without devices gets the same answer: the limit does not depend on them.
    let (status, _) = s
        .send(json!({"user_id": "nobody", "alert": {"body": "x".repeat(4100)}}))
        .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn bad_send_bodies_are_rejected_naming_the_problem_and_never_500() {
    let s = setup().await;
    s.register("u1", &ios_token(6), "ios").await;
    let mut cases: Vec<(Vec<u8>, u16, &str)> = Vec::new();
    for (body, needle) in [
        (&b"{"[..], "malformed JSON"),
        (b"[]", "must be a JSON object"),
        (b"", "request body is required"),
        (br#"{"user_id": "u1"}"#, "at least one of `alert`"),
        (br#"{"badge": 1}"#, "missing field `user_id`"),
        (br#"{"user_id": 7, "badge": 1}"#, "`user_id`"),
        (br#"{"user_id": "", "badge": 1}"#, "`user_id`"),
        (br#"{"user_id": "u1", "badge": "one"}"#, "`badge`"),
        (
            br#"{"user_id": "u1", "alert": {"title": 5}}"#,
            "`alert.title`",
        ),
        (
            br#"{"user_id": "u1", "alert": {"tilte": "x"}}"#,
            "unknown field `tilte`",
        ),
        (
            br#"{"user_id": "u1", "badge": 1, "urgent": true}"#,
            "unknown field `urgent`",
        ),
        (
            br#"{"user_id": "u1", "priority": "max", "badge": 1}"#,
            "`priority`",
        ),
        (br#"{"user_id": "u1", "data": {"aps": 1}}"#, "`data.aps`"),
        (
            br#"{"user_ids": ["u1"], "badge": 1}"#,
            "unknown field `user_ids`",
        ),
    ] {
        cases.push((body.to_vec(), 400, needle));
    }
    cases.push((vec![b' '; 1024 * 1024 + 1], 413, "1 MiB"));
    for (body, expected, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let request = s
            .notify_call()
            .header("content-type", "application/json")
            .raw_body(body);
        let (status, _, text) = s.send_call(request).await;
        assert_eq!(status, expected, "{shown}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "{shown}: {detail:?} should mention {needle:?}"
        );
    }
    assert!(s.sim.deliveries().await.is_empty());
}

#[tokio::test]
async fn an_idempotency_key_replay_returns_the_identical_answer_and_sends_nothing_more() {
    let s = setup().await;
    s.register("u1", &ios_token(8), "ios").await;
    s.register("u1", &fcm_token(8), "android").await;
    let request = || {
        s.notify_call()
            .header("Idempotency-Key", "order-1042-shipped")
            .json(order_shipped("u1"))
    };
    let (status, _, first) = s.send_call(request()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(s.sim.deliveries().await.len(), 2);
    for _ in 0..2 {
        let (status, _, again) = s.send_call(request()).await;
        assert_eq!((status, &again), (200, &first));
    }
    assert_eq!(s.sim.deliveries().await.len(), 2, "a replay sent again");
    // Another key is another send.
    let (status, _, other) = s
        .send_call(
            s.notify_call()
                .header("Idempotency-Key", "order-1043-shipped")
                .json(order_shipped("u1")),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(other, first);
    assert_eq!(s.sim.deliveries().await.len(), 4);
}

#[tokio::test]
async fn the_same_idempotency_key_with_a_different_body_is_422() {
    let s = setup().await;
    s.register("u1", &ios_token(9), "ios").await;
    let with_key = |body: Value| s.notify_call().header("Idempotency-Key", "k-1").json(body);
    let (status, _, _) = s.send_call(with_key(order_shipped("u1"))).await;
    assert_eq!(status, 200);
    let (status, _, text) = s
        .send_call(with_key(json!({"user_id": "u1", "badge": 2})))
        .await;
    assert_eq!(status, 422, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(answer["code"], "idempotency_key_reused");
    assert!(answer["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`Idempotency-Key`"));
    assert_eq!(s.sim.deliveries().await.len(), 1);
}

#[tokio::test]
async fn a_rejected_body_with_an_idempotency_key_replays_the_same_rejection() {
    let s = setup().await;
    let request = || {
        s.notify_call()
            .header("Idempotency-Key", "k-bad")
            .json(json!({"user_id": "u1", "badge": -1}))
    };
    let (status, _, first) = s.send_call(request()).await;
    assert_eq!(status, 400, "{first}");
    let (status, _, again) = s.send_call(request()).await;
    assert_eq!((status, again), (400, first));
}

#[tokio::test]
async fn a_key_still_in_progress_is_409_with_retry_after() {
    let s = setup().await;
    s.register("u1", &ios_token(10), "ios").await;
    let body = order_shipped("u1");
    // The first request claimed the key and is still running.
    let slot = IdempotencySlot::new(&s.tenant_id, notify_send::ENDPOINT, "k-busy");
    let now = chrono::Utc::now().timestamp();
    let fingerprint = sha256_hex(body.to_string().as_bytes());
    s.env
        .app
        .store
        .claim_idempotency_key(
            &slot,
            &fingerprint,
            &owner_of_user("owner"),
            now,
            120,
            86_400,
        )
        .await
        .unwrap_or_else(|err| panic!("claiming: {err}"));
    let (status, headers, text) = s
        .send_call(
            s.notify_call()
                .header("Idempotency-Key", "k-busy")
                .json(body),
        )
        .await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("idempotency_in_progress"), "{text}");
    assert!(headers.get("retry-after").is_some());
    // A different body on that key is still a reuse.
    let (status, _, _) = s
        .send_call(
            s.notify_call()
                .header("Idempotency-Key", "k-busy")
                .json(json!({"user_id": "u1", "badge": 3})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(s.sim.deliveries().await.is_empty());
}

#[tokio::test]
async fn an_expired_idempotency_record_counts_as_absent() {
    let s = setup().await;
    s.register("u1", &ios_token(11), "ios").await;
    let slot = IdempotencySlot::new(&s.tenant_id, notify_send::ENDPOINT, "k-old");
    // Claimed two days ago with another body, never deleted by TTL yet.
    let two_days_ago = chrono::Utc::now().timestamp() - 2 * 86_400;
    s.env
        .app
        .store
        .claim_idempotency_key(
            &slot,
            "other-body",
            &owner_of_user("owner"),
            two_days_ago,
            120,
            86_400,
        )
        .await
        .unwrap_or_else(|err| panic!("claiming: {err}"));
    let (status, _, text) = s
        .send_call(
            s.notify_call()
                .header("Idempotency-Key", "k-old")
                .json(order_shipped("u1")),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(s.sim.deliveries().await.len(), 1);
}

#[tokio::test]
async fn malformed_idempotency_keys_are_400_naming_the_header() {
    let s = setup().await;
    let long = "k".repeat(256);
    for key in ["", "   ", long.as_str(), "a\tb"] {
        let request = s
            .notify_call()
            .header("Idempotency-Key", key)
            .json(order_shipped("u1"));
        let (status, _, text) = s.send_call(request).await;
        assert_eq!(status, 400, "{key:?}: {text}");
        assert!(text.contains("`Idempotency-Key`"), "{text}");
    }
}

#[tokio::test]
async fn an_api_key_with_the_send_scope_sends() {
    let s = setup().await;
    s.register("u1", &fcm_token(12), "web").await;
    let key = s
        .env
        .create_api_key(
            &s.owner,
            &s.tenant_id,
            json!({"name": "backend", "scopes": ["send"]}),
        )
        .await;
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", &s.tenant_id)
        .api_key(key["key"].as_str().unwrap_or_default())
        .json(json!({"user_id": "u1", "alert": {"body": "hi"}}));
    let (status, _, text) = s.send_call(request).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#""delivered":1"#), "{text}");
}
