//! APNs push types and Live Activities against the push simulator: each
//! type's topic suffix, priority and payload; activity tokens reached only
//! by Live Activity sends (single and bulk), with a cap of their own, a
//! 24-hour life and an early end.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use notify_shared::model::device::{TokenMoves, MAX_ACTIVITY_TOKENS_PER_USER};
use notify_shared::model::{DeviceRegistration, Platform, TokenType};
use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{device, Devices};
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{BulkRig, TestEnv};
use serde_json::{json, Value};

/// The bundle id `BulkRig` gives its tenant, used here too.
const BUNDLE_ID: &str = "com.acme.app";
const ACTIVITY_TOPIC: &str = "com.acme.app.push-type.liveactivity";

pub(crate) type Setup = SimTenant;

pub(crate) async fn setup() -> Setup {
    SimTenant::start().await
}

pub(crate) async fn register_as(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    body: Value,
) -> (u16, Value) {
    Devices::user(env, owner, tenant_id).register(body).await
}

/// Registering with a token type, and sending expecting 200.
pub(crate) trait TypedSends {
    async fn register_typed(&self, user_id: &str, token: &str, platform: &str, token_type: &str);
    async fn send_ok(&self, body: Value) -> (Value, Vec<Value>);
}

impl TypedSends for SimTenant {
    async fn register_typed(&self, user_id: &str, token: &str, platform: &str, token_type: &str) {
        let mut body = device(user_id, token, platform);
        body["token_type"] = json!(token_type);
        let (status, body) = self.by_owner().register(body).await;
        assert_eq!(status, 200, "registering: {body}");
        assert_eq!(body["token_type"], token_type, "{body}");
    }

    /// Sends, expects 200, and returns what the simulator received since.
    async fn send_ok(&self, body: Value) -> (Value, Vec<Value>) {
        let before = self.sim.deliveries().await.len();
        let (status, answer) = self.send(body).await;
        assert_eq!(status, 200, "{answer}");
        let deliveries = self.sim.deliveries().await;
        (answer, deliveries.into_iter().skip(before).collect())
    }
}

pub(crate) fn tokens_of(deliveries: &[Value]) -> Vec<String> {
    let mut tokens: Vec<String> = deliveries
        .iter()
        .map(|d| d["token"].as_str().unwrap_or_default().to_owned())
        .collect();
    tokens.sort();
    tokens
}

fn score_update() -> Value {
    json!({"user_id": "fan", "push_type": "liveactivity",
           "live_activity": {"event": "update", "timestamp": 1_700_000_000,
                             "content_state": {"home": 2, "away": 1},
                             "stale_date": 1_700_003_600, "relevance_score": 0.5}})
}

/// Moves both items of an activity token's life to `expires_at`, as the
/// clock reaching it would (DynamoDB's own TTL deletes lazily).
async fn set_expiry(env: &TestEnv, tenant_id: &str, user_id: &str, token: &str, at: i64) {
    for pk in [
        format!("TENANT#{tenant_id}"),
        format!("TENANT#{tenant_id}#USER#{user_id}"),
    ] {
        let result = env
            .dynamodb
            .update_item()
            .table_name(&env.table)
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(format!("DEVICE#{token}")))
            .update_expression("SET expires_at = :at")
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .send()
            .await;
        if let Err(err) = result {
            panic!("setting expires_at: {err:?}");
        }
    }
}

pub(crate) async fn stored_expiry(env: &TestEnv, tenant_id: &str, token: &str) -> Option<i64> {
    let item = env
        .dynamodb
        .get_item()
        .table_name(&env.table)
        .key("PK", AttributeValue::S(format!("TENANT#{tenant_id}")))
        .key("SK", AttributeValue::S(format!("DEVICE#{token}")))
        .consistent_read(true)
        .send()
        .await
        .ok()?
        .item?;
    item.get("expires_at")?.as_n().ok()?.parse().ok()
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_live_activity_update_end_and_push_to_start_reach_only_their_tokens_with_apples_topic() {
    let s = setup().await;
    let (device, activity, starter) = (ios_token(1), ios_token(2), ios_token(3));
    s.register_typed("fan", &device, "ios", "device").await;
    s.register_typed("fan", &activity, "ios", "liveactivity")
        .await;
    s.register_typed("fan", &starter, "ios", "push_to_start")
        .await;
    s.register_typed("fan", &fcm_token(4), "android", "device")
        .await;

    let (answer, update) = s.send_ok(score_update()).await;
    assert_eq!(answer["delivered"], 1, "{answer}");
    assert_eq!(tokens_of(&update), std::slice::from_ref(&activity));
    assert_eq!(update[0]["topic"], ACTIVITY_TOPIC);
    assert_eq!(update[0]["push_type"], "liveactivity");
    assert_eq!(update[0]["priority"], 10);
    assert_eq!(
        update[0]["payload"],
        json!({"aps": {"event": "update", "timestamp": 1_700_000_000,
                       "content-state": {"home": 2, "away": 1},
                       "stale-date": 1_700_003_600, "relevance-score": 0.5}})
    );

    let (_, start) = s
        .send_ok(json!({"user_id": "fan", "priority": "normal",
                        "alert": {"title": "Kick-off", "body": "The match started"},
                        "live_activity": {"event": "start", "timestamp": 1_700_000_000,
                                          "content_state": {"home": 0, "away": 0},
                                          "attributes_type": "MatchAttributes",
                                          "attributes": {"match": "A v B"}}}))
        .await;
    assert_eq!(tokens_of(&start), std::slice::from_ref(&starter));
    assert_eq!(start[0]["topic"], ACTIVITY_TOPIC);
    assert_eq!(start[0]["push_type"], "liveactivity");
    assert_eq!(start[0]["priority"], 5);
    assert_eq!(
        start[0]["payload"]["aps"]["attributes-type"],
        "MatchAttributes"
    );
    assert_eq!(
        start[0]["payload"]["aps"]["attributes"],
        json!({"match": "A v B"})
    );
    assert_eq!(start[0]["payload"]["aps"]["alert"]["title"], "Kick-off");

    // An alert reaches the device token and the Android device only.
    let (_, alert) = s
        .send_ok(json!({"user_id": "fan", "alert": {"body": "Goal!"}}))
        .await;
    assert_eq!(alert.len(), 2, "{alert:?}");
    assert!(!tokens_of(&alert).contains(&activity) && !tokens_of(&alert).contains(&starter));

    // An end whose dismissal date has passed: delivered, then the token is gone.
    let dismissed = now() - 10;
    let (_, end) = s
        .send_ok(json!({"user_id": "fan",
                        "live_activity": {"event": "end", "timestamp": 1_700_000_100,
                                          "content_state": {"home": 3, "away": 1},
                                          "dismissal_date": dismissed}}))
        .await;
    assert_eq!(tokens_of(&end), std::slice::from_ref(&activity));
    assert_eq!(end[0]["payload"]["aps"]["event"], "end");
    assert_eq!(end[0]["payload"]["aps"]["dismissal-date"], dismissed);
    let stored = stored_expiry(&s.env, &s.tenant_id, &activity).await;
    assert!(
        stored.is_some_and(|at| (dismissed..=now()).contains(&at)),
        "{stored:?}"
    );
    let listed: Vec<String> = s
        .devices("fan")
        .await
        .iter()
        .map(|d| format!("{}:{}", d["token_type"].as_str().unwrap_or(""), d["token"]))
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(!listed.iter().any(|d| d.contains(&activity)), "{listed:?}");
    let (answer, again) = s.send_ok(score_update()).await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(answer["error"], "no devices registered for user");
}

#[tokio::test]
async fn each_push_type_goes_with_apples_topic_suffix_and_an_allowed_priority() {
    let s = setup().await;
    s.register_typed("u", &ios_token(1), "ios", "device").await;
    s.register_typed("u", &fcm_token(2), "android", "device")
        .await;
    // Apple hands out a token of its own for each of these push types.
    let kinds = [
        "voip",
        "location",
        "complication",
        "fileprovider",
        "pushtotalk",
        "widgets",
    ];
    for (n, kind) in kinds.iter().enumerate() {
        s.register_typed("u", &ios_token(10 + n), "ios", kind).await;
    }
    let token_for = |push_type: &str| {
        kinds
            .iter()
            .position(|kind| *kind == push_type)
            .map_or_else(|| ios_token(1), |n| ios_token(10 + n))
    };
    let cases = [
        (json!({"push_type": "alert", "badge": 3}), "alert", "", 10),
        (
            json!({"push_type": "background", "content_available": true}),
            "background",
            "",
            5,
        ),
        (
            json!({"push_type": "voip", "data": {"caller": "Ann"}}),
            "voip",
            ".voip",
            10,
        ),
        (
            json!({"push_type": "voip", "priority": "normal"}),
            "voip",
            ".voip",
            5,
        ),
        (
            json!({"push_type": "location"}),
            "location",
            ".location-query",
            10,
        ),
        (
            json!({"push_type": "complication", "data": {"t": 1}}),
            "complication",
            ".complication",
            10,
        ),
        (
            json!({"push_type": "fileprovider"}),
            "fileprovider",
            ".pushkit.fileprovider",
            5,
        ),
        (
            json!({"push_type": "pushtotalk", "data": {"channel": "c1"}}),
            "pushtotalk",
            ".voip-ptt",
            10,
        ),
        (
            json!({"push_type": "widgets"}),
            "widgets",
            ".push-type.widgets",
            5,
        ),
    ];
    for (mut body, push_type, suffix, priority) in cases {
        body["user_id"] = json!("u");
        let (answer, deliveries) = s.send_ok(body.clone()).await;
        let apns: Vec<&Value> = deliveries
            .iter()
            .filter(|d| d["provider"] == "apns")
            .collect();
        assert_eq!(apns.len(), 1, "{body}: {answer} {deliveries:?}");
        assert_eq!(apns[0]["token"], token_for(push_type), "{body}");
        assert_eq!(apns[0]["push_type"], push_type, "{body}");
        assert_eq!(apns[0]["topic"], format!("{BUNDLE_ID}{suffix}"), "{body}");
        assert_eq!(apns[0]["priority"], priority, "{body}");
        // Apple-only types never reach FCM devices.
        let fcm = deliveries.len() - apns.len();
        assert_eq!(
            fcm,
            usize::from(matches!(push_type, "alert" | "background")),
            "{body}"
        );
    }
    let (_, widgets) = s
        .send_ok(json!({"user_id": "u", "push_type": "widgets"}))
        .await;
    assert_eq!(
        widgets[0]["payload"],
        json!({"aps": {"content-changed": true}})
    );
}

#[tokio::test]
async fn wrong_priorities_payloads_and_oversized_activity_state_are_400_naming_the_field() {
    let s = setup().await;
    s.register_typed("u", &ios_token(1), "ios", "liveactivity")
        .await;
    let big_state = json!({"text": "x".repeat(4100)});
    for (body, field) in [
        (
            json!({"push_type": "background", "content_available": true, "priority": "high"}),
            "`priority`",
        ),
        (
            json!({"push_type": "pushtotalk", "priority": "normal"}),
            "`priority`",
        ),
        (
            json!({"push_type": "fileprovider", "priority": "high"}),
            "`priority`",
        ),
        (
            json!({"push_type": "background", "content_available": true, "sound": "a"}),
            "`sound`",
        ),
        (
            json!({"push_type": "background", "data": {"k": 1}}),
            "`content_available`",
        ),
        (
            json!({"push_type": "voip", "alert": {"body": "b"}}),
            "`alert`",
        ),
        (json!({"push_type": "liveactivity"}), "`live_activity`"),
        (
            json!({"push_type": "alert", "badge": 1,
                "live_activity": {"event": "update", "content_state": {}}}),
            "`live_activity`",
        ),
        (json!({"push_type": "mdm"}), "`push_type`"),
        (
            json!({"live_activity": {"event": "update", "content_state": big_state}}),
            "`live_activity.content_state`",
        ),
        (
            json!({"live_activity": {"event": "start", "content_state": {}}}),
            "`live_activity.attributes_type`",
        ),
        (
            json!({"live_activity": {"event": "pause", "content_state": {}}}),
            "`live_activity.event`",
        ),
        (
            json!({"live_activity": {"event": "update", "content_state": {}, "badge": 1}}),
            "`live_activity.badge`",
        ),
    ] {
        let mut body = body;
        body["user_id"] = json!("u");
        let (status, answer) = s.send(body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{body}: {detail}");
    }
    assert!(s.sim.deliveries().await.is_empty());

    // A start goes to push-to-start tokens only: this user has none.
    let (status, answer) = s
        .send(json!({"user_id": "u",
                     "live_activity": {"event": "start", "content_state": {},
                                       "attributes_type": "A", "attributes": {}}}))
        .await;
    assert_eq!(
        (status, answer["delivered"].as_u64()),
        (200, Some(0)),
        "{answer}"
    );
    assert!(s.sim.deliveries().await.is_empty());

    // Activity tokens are for iOS.
    let (status, answer) = register_as(
        &s.env,
        &s.owner,
        &s.tenant_id,
        json!({"user_id": "u", "token": fcm_token(9), "platform": "android",
               "token_type": "liveactivity"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`token_type`"));
}

#[tokio::test]
async fn an_activity_token_lives_24_hours_and_then_is_neither_listed_nor_pushed_to() {
    let s = setup().await;
    let token = ios_token(7);
    let registered_at = now();
    s.register_typed("fan", &token, "ios", "liveactivity").await;
    let expiry = stored_expiry(&s.env, &s.tenant_id, &token)
        .await
        .unwrap_or(0);
    assert!(
        (registered_at + 86_400..=now() + 86_400).contains(&expiry),
        "{expiry}"
    );
    let (_, delivered) = s.send_ok(score_update()).await;
    assert_eq!(delivered.len(), 1);

    // A day later (DynamoDB's TTL has not deleted it yet).
    set_expiry(&s.env, &s.tenant_id, "fan", &token, now() - 1).await;
    assert!(s.devices("fan").await.is_empty());
    let (answer, none) = s.send_ok(score_update()).await;
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(answer["error"], "no devices registered for user");
}

fn activity_registration(user_id: &str, n: usize) -> DeviceRegistration {
    DeviceRegistration {
        user_id: user_id.to_owned(),
        token: ios_token(n),
        platform: Platform::Ios,
        token_type: TokenType::Liveactivity,
        app_version: None,
        web_push_keys: None,
    }
}

#[tokio::test]
async fn activity_tokens_have_their_own_cap_and_expired_ones_free_their_place() {
    let s = setup().await;
    let store = &s.env.app.store;
    let devices: Vec<(String, String, Platform)> = (0..100)
        .map(|n| ("fan".to_owned(), ios_token(1000 + n), Platform::Ios))
        .collect();
    s.env.register_devices_fast(&s.tenant_id, &devices).await;
    for n in 0..MAX_ACTIVITY_TOKENS_PER_USER {
        if let Err(err) = store
            .register_device(
                &s.tenant_id,
                &activity_registration("fan", n),
                TokenMoves::Allowed,
                None,
            )
            .await
        {
            panic!("activity token {n} refused beside 100 devices: {err}");
        }
    }
    let over = store
        .register_device(
            &s.tenant_id,
            &activity_registration("fan", 500),
            TokenMoves::Allowed,
            None,
        )
        .await;
    assert!(
        matches!(&over, Err(err) if err.code() == "too_many_activity_tokens"),
        "{over:?}"
    );
    let (status, answer) = register_as(
        &s.env,
        &s.owner,
        &s.tenant_id,
        json!({"user_id": "fan", "token": ios_token(2000), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["code"], "too_many_devices");

    // One activity token's day is over: its place is free again.
    set_expiry(&s.env, &s.tenant_id, "fan", &ios_token(0), now() - 1).await;
    let freed = store
        .register_device(
            &s.tenant_id,
            &activity_registration("fan", 500),
            TokenMoves::Allowed,
            None,
        )
        .await;
    assert!(freed.is_ok(), "{freed:?}");
    assert_eq!(s.devices("fan").await.len(), 200);

    // Unregistering the expired token frees nothing: it no longer counted.
    let unregistered = store
        .unregister_device(&s.tenant_id, "fan", &ios_token(0))
        .await;
    assert!(matches!(unregistered, Ok(true)), "{unregistered:?}");
    let over = store
        .register_device(
            &s.tenant_id,
            &activity_registration("fan", 501),
            TokenMoves::Allowed,
            None,
        )
        .await;
    assert!(
        matches!(&over, Err(err) if err.code() == "too_many_activity_tokens"),
        "{over:?}"
    );
}

#[tokio::test]
async fn bulk_alerts_skip_activity_tokens_and_bulk_activity_updates_reach_only_them() {
    let rig = BulkRig::start().await;
    for (n, user) in ["a", "b"].iter().enumerate() {
        for (token, token_type) in [
            (ios_token(10 + n), "device"),
            (ios_token(20 + n), "liveactivity"),
            (ios_token(30 + n), "push_to_start"),
        ] {
            let body = json!({"user_id": user, "token": token, "platform": "ios",
                              "token_type": token_type});
            let (status, answer) = register_as(&rig.env, &rig.owner, &rig.tenant_id, body).await;
            assert_eq!(status, 200, "{answer}");
        }
    }
    let (status, body) = rig
        .bulk(json!({"user_ids": ["a", "b"], "alert": {"title": "Hi"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let batch = body["batch_id"].as_str().unwrap_or_default().to_owned();
    rig.drain_until_done(&batch, Duration::from_secs(60)).await;
    let alerts = rig.sim.deliveries().await;
    assert_eq!(tokens_of(&alerts), [ios_token(10), ios_token(11)]);

    let (status, body) = rig
        .bulk(json!({"user_ids": ["a", "b"],
                     "live_activity": {"event": "update", "content_state": {"eta": 5}}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let batch = body["batch_id"].as_str().unwrap_or_default().to_owned();
    rig.drain_until_done(&batch, Duration::from_secs(60)).await;
    let updates: Vec<Value> = rig.sim.deliveries().await.into_iter().skip(2).collect();
    assert_eq!(tokens_of(&updates), [ios_token(20), ios_token(21)]);
    assert!(updates
        .iter()
        .all(|d| d["topic"] == ACTIVITY_TOPIC && d["push_type"] == "liveactivity"));
    assert!(updates
        .iter()
        .all(|d| d["payload"]["aps"]["content-state"] == json!({"eta": 5})));
}
