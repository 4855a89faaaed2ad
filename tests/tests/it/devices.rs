//! Devices: registering, listing and unregistering, the permission rows of
//! the device endpoints, bad input, and what tenant deletion leaves behind.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use notify_shared::model::device::TokenMoves;
use notify_shared::model::{DeviceRegistration, Platform};
use notify_shared::secrets::Secrets;
use notify_shared::App;
use notify_tests::keys::{service_account, tenant_with_apns};
use notify_tests::{call, parts, Call, TestEnv};
use serde_json::{json, Value};

/// Who makes a request.
#[derive(Clone, Copy)]
pub(crate) enum As<'a> {
    User(&'a str),
    Key(&'a str),
}

impl As<'_> {
    pub(crate) fn on(self, call: Call) -> Call {
        match self {
            As::User(token) => call.bearer(token),
            As::Key(key) => call.api_key(key),
        }
    }
}

pub(crate) fn ios_token(n: u32) -> String {
    format!("{n:064x}")
}

fn fcm_token(n: u32) -> String {
    format!("fcm{n}:APA91b{}", "x_-Z".repeat(30))
}

async fn register(env: &TestEnv, who: As<'_>, tenant_id: &str, body: Value) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/devices").param("tenant_id", tenant_id))
        .json(body)
        .build();
    parts(&device_register::handle(&env.app, request).await)
}

async fn register_raw(env: &TestEnv, who: As<'_>, tenant_id: &str, body: Vec<u8>) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/devices").param("tenant_id", tenant_id))
        .header("content-type", "application/json")
        .raw_body(body)
        .build();
    parts(&device_register::handle(&env.app, request).await)
}

async fn list(env: &TestEnv, who: As<'_>, tenant_id: &str, user_id: Option<&str>) -> (u16, Value) {
    let mut request =
        who.on(call("GET", "/tenants/{tenant_id}/devices").param("tenant_id", tenant_id));
    if let Some(user_id) = user_id {
        request = request.query("user_id", user_id);
    }
    parts(&device_list::handle(&env.app, request.build()).await)
}

async fn unregister(
    env: &TestEnv,
    who: As<'_>,
    tenant_id: &str,
    token: &str,
    user_id: Option<&str>,
) -> (u16, Value) {
    let mut request = who.on(call("DELETE", "/tenants/{tenant_id}/devices/{token}")
        .param("tenant_id", tenant_id)
        .param("token", token));
    if let Some(user_id) = user_id {
        request = request.query("user_id", user_id);
    }
    parts(&device_unregister::handle(&env.app, request.build()).await)
}

async fn notify(env: &TestEnv, who: As<'_>, tenant_id: &str, body: Value) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/notify").param("tenant_id", tenant_id))
        .json(body)
        .build();
    parts(&notify_send::handle(&env.app, &env.delivery(), request).await)
}

/// A tenant in org `org` owned by `owner-{org}`: (tenant id, owner's token).
async fn tenant(env: &TestEnv, org: &str) -> (String, String) {
    let owner = env.user_token(&format!("owner-{org}"), &[org]);
    let tenant_id = env.create_tenant(&owner, tenant_with_apns(org)).await;
    (tenant_id, owner)
}

async fn key_with(env: &TestEnv, owner: &str, tenant_id: &str, scopes: Value) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": "app", "scopes": scopes}))
        .await;
    created["key"].as_str().unwrap_or_default().to_owned()
}

fn is_rfc3339_utc_seconds(text: &str) -> bool {
    text.len() == 20 && text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

#[tokio::test]
async fn a_user_registers_lists_and_unregisters_a_device_with_the_contract_bodies() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let token = ios_token(1);
    let (status, device) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "user-123", "token": token, "platform": "ios", "app_version": "1.2.0"}),
    )
    .await;
    assert_eq!(status, 200, "{device}");
    let created_at = device["created_at"].as_str().unwrap_or_default().to_owned();
    assert!(is_rfc3339_utc_seconds(&created_at), "{created_at}");
    assert_eq!(
        device,
        json!({"token": token, "user_id": "user-123", "platform": "ios", "token_type": "device",
               "app_version": "1.2.0", "created_at": created_at, "updated_at": created_at})
    );

    let (status, listed) = list(&env, As::User(&owner), &tenant_id, Some("user-123")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed, json!({"devices": [device]}));

    let (status, deleted) =
        unregister(&env, As::User(&owner), &tenant_id, &token, Some("user-123")).await;
    assert_eq!((status, deleted), (200, json!({"deleted": true})));
    let (status, listed) = list(&env, As::User(&owner), &tenant_id, Some("user-123")).await;
    assert_eq!((status, listed), (200, json!({"devices": []})));
    assert!(
        !env.table_dump().await.contains(&token),
        "device items left behind"
    );
}

#[tokio::test]
async fn a_null_app_version_is_accepted_as_the_mushu_cli_sends_it() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    for body in [
        json!({"user_id": "u1", "token": fcm_token(1), "platform": "android", "app_version": null}),
        json!({"user_id": "u1", "token": fcm_token(2), "platform": "web"}),
    ] {
        let (status, device) = register(&env, As::User(&owner), &tenant_id, body).await;
        assert_eq!(status, 200, "{device}");
        assert_eq!(device["app_version"], Value::Null);
        assert!(device
            .as_object()
            .is_some_and(|o| o.contains_key("app_version")));
    }
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn registering_the_same_token_again_keeps_created_at_and_updates_the_rest() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let token = fcm_token(7);
    let body = |version: &str| json!({"user_id": "u1", "token": token, "platform": "android", "app_version": version});
    let (_, first) = register(&env, As::User(&owner), &tenant_id, body("1.0.0")).await;
    // Timestamps have whole seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, second) = register(&env, As::User(&owner), &tenant_id, body("2.0.0")).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["created_at"], first["created_at"]);
    assert!(second["updated_at"].as_str() > first["updated_at"].as_str());
    assert_eq!(second["app_version"], "2.0.0");
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed, json!({"devices": [second]}));
}

#[tokio::test]
async fn a_token_registered_by_another_user_moves_to_that_user() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let token = ios_token(9);
    for user in ["alice", "bob"] {
        let (status, device) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": user, "token": token, "platform": "ios"}),
        )
        .await;
        assert_eq!((status, device["user_id"].as_str()), (200, Some(user)));
    }
    let (_, alice) = list(&env, As::User(&owner), &tenant_id, Some("alice")).await;
    assert_eq!(alice, json!({"devices": []}));
    let (_, bob) = list(&env, As::User(&owner), &tenant_id, Some("bob")).await;
    assert_eq!(bob["devices"][0]["token"], token.as_str());
    // Alice can no longer unregister it; Bob can.
    let (status, _) = unregister(&env, As::User(&owner), &tenant_id, &token, Some("alice")).await;
    assert_eq!(status, 404);
    let (status, _) = unregister(&env, As::User(&owner), &tenant_id, &token, Some("bob")).await;
    assert_eq!(status, 200);
    assert!(!env.table_dump().await.contains(&token));
}

#[tokio::test]
async fn apns_tokens_are_stored_lowercase_and_found_in_either_case() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let upper = "ABCDEF0123456789".repeat(4);
    let lower = upper.to_ascii_lowercase();
    for platform in ["ios", "watchos", "macos"] {
        let (status, device) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": "u1", "token": upper, "platform": platform}),
        )
        .await;
        assert_eq!(status, 200, "{device}");
        assert_eq!(device["token"], lower.as_str());
    }
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["devices"][0]["platform"], "macos");
    let dump = env.table_dump().await;
    assert!(dump.contains(&lower) && !dump.contains(&upper));
    let (status, _) = unregister(&env, As::User(&owner), &tenant_id, &upper, Some("u1")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn fcm_tokens_of_up_to_4096_characters_are_registered_listed_and_unregistered() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let token = format!("f:{}", "aZ09_-".repeat(682));
    assert_eq!(token.len(), 4094);
    let (status, device) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "u1", "token": token, "platform": "web"}),
    )
    .await;
    assert_eq!(status, 200, "{device}");
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed["devices"][0]["token"], token.as_str());
    let (status, _) = unregister(&env, As::User(&owner), &tenant_id, &token, Some("u1")).await;
    assert_eq!(status, 200);
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed, json!({"devices": []}));
}

#[tokio::test]
async fn every_invalid_token_format_is_rejected_as_invalid_token_format() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let hex = |n: usize| "a".repeat(n);
    let cases: Vec<(&str, String)> = vec![
        ("ios", String::new()),
        ("ios", hex(62)),
        ("ios", hex(63)),
        ("ios", hex(65)),
        ("ios", hex(202)),
        ("ios", "g".repeat(64)),
        ("ios", format!("{} ", hex(64))),
        ("ios", format!("<{}>", hex(64))),
        ("watchos", "0x".repeat(32)),
        ("macos", fcm_token(1)),
        ("android", hex(99)),
        ("android", hex(4097)),
        ("android", format!("{}+", hex(120))),
        ("android", format!("{}/", hex(120))),
        ("android", format!("{}é", hex(120))),
        ("web", format!("{} {}", hex(60), hex(60))),
        ("web", String::new()),
    ];
    for (platform, token) in &cases {
        let (status, body) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": "u1", "token": token, "platform": platform}),
        )
        .await;
        assert_eq!(status, 400, "{platform} {token}: {body}");
        assert_eq!(body["code"], "invalid_token_format", "{platform} {token}");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`token`"));
    }
    assert!(
        !env.table_dump().await.contains("DEVICE#"),
        "nothing stored"
    );
}

#[tokio::test]
async fn an_unknown_platform_is_rejected_naming_platform() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    for platform in [json!("blackberry"), json!("IOS"), json!(""), json!(3)] {
        let (status, body) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": "u1", "token": ios_token(1), "platform": platform}),
        )
        .await;
        assert_eq!(status, 400, "{platform}: {body}");
        assert_eq!(body["code"], "invalid_request");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("`platform`"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn listing_and_unregistering_need_a_valid_user_id_parameter() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let long = "u".repeat(257);
    for user_id in [None, Some(""), Some(long.as_str()), Some("a\u{7}b")] {
        let (status, body) = list(&env, As::User(&owner), &tenant_id, user_id).await;
        assert_eq!(status, 400, "{user_id:?}: {body}");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`user_id`"));
        let (status, body) =
            unregister(&env, As::User(&owner), &tenant_id, &ios_token(1), user_id).await;
        assert_eq!(status, 400, "{user_id:?}: {body}");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`user_id`"));
    }
}

#[tokio::test]
async fn unregistering_an_unknown_device_is_not_found() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    for token in [ios_token(1), fcm_token(1)] {
        let (status, body) =
            unregister(&env, As::User(&owner), &tenant_id, &token, Some("u1")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["code"], "not_found");
    }
}

#[tokio::test]
async fn unregistering_a_token_no_platform_accepts_is_invalid_token_format() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    for token in ["not-a-token".to_owned(), "a".repeat(4097), "g".repeat(64)] {
        let (status, body) =
            unregister(&env, As::User(&owner), &tenant_id, &token, Some("u1")).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "invalid_token_format");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`token`"));
    }
}

#[tokio::test]
async fn an_api_key_with_the_devices_scope_registers_lists_and_unregisters() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let key = key_with(&env, &owner, &tenant_id, json!(["devices"])).await;
    let token = ios_token(3);
    let (status, device) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "u1", "token": token, "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{device}");
    let (status, listed) = list(&env, As::Key(&key), &tenant_id, Some("u1")).await;
    assert_eq!((status, listed), (200, json!({"devices": [device]})));
    let (status, deleted) = unregister(&env, As::Key(&key), &tenant_id, &token, Some("u1")).await;
    assert_eq!((status, deleted), (200, json!({"deleted": true})));
}

#[tokio::test]
async fn an_api_key_with_only_the_send_scope_is_forbidden_on_devices() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let key = key_with(&env, &owner, &tenant_id, json!(["send"])).await;
    let device = json!({"user_id": "u1", "token": ios_token(1), "platform": "ios"});
    let (status, body) = register(&env, As::Key(&key), &tenant_id, device.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`devices`"));
    let (status, _) = list(&env, As::Key(&key), &tenant_id, Some("u1")).await;
    assert_eq!(status, 403);
    // A device registered by the owner cannot be removed with this key.
    register(&env, As::User(&owner), &tenant_id, device).await;
    let (status, _) = unregister(&env, As::Key(&key), &tenant_id, &ios_token(1), Some("u1")).await;
    assert_eq!(status, 403);
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_api_key_with_only_the_devices_scope_is_forbidden_on_notify() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let key = key_with(&env, &owner, &tenant_id, json!(["devices"])).await;
    let (status, body) = notify(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "u1", "alert": {"title": "Hi"}}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`send`"));
}

#[tokio::test]
async fn an_api_key_of_another_tenant_can_neither_register_list_unregister_nor_send() {
    let env = TestEnv::new().await;
    let (tenant_a, owner_a) = tenant(&env, "alpha").await;
    let key_a = key_with(&env, &owner_a, &tenant_a, json!(["devices", "send"])).await;
    let owner_b = env.user_token("owner-bravo", &["bravo"]);
    let tenant_b = env
        .create_tenant(
            &owner_b,
            json!({"org_id": "bravo", "fcm_service_account": service_account("bravo-secret")}),
        )
        .await;
    let token = fcm_token(42);
    register(
        &env,
        As::User(&owner_b),
        &tenant_b,
        json!({"user_id": "bravo-user", "token": token, "platform": "android"}),
    )
    .await;
    let attempts = [
        register(
            &env,
            As::Key(&key_a),
            &tenant_b,
            json!({"user_id": "bravo-user", "token": fcm_token(43), "platform": "android"}),
        )
        .await,
        list(&env, As::Key(&key_a), &tenant_b, Some("bravo-user")).await,
        unregister(&env, As::Key(&key_a), &tenant_b, &token, Some("bravo-user")).await,
        notify(
            &env,
            As::Key(&key_a),
            &tenant_b,
            json!({"user_id": "bravo-user", "alert": {"title": "Hi"}}),
        )
        .await,
    ];
    for (status, body) in attempts {
        assert_eq!(status, 403, "{body}");
        let text = body.to_string();
        for secret in ["bravo", &tenant_b, &token] {
            assert!(!text.contains(secret), "leaked {secret}: {text}");
        }
    }
    let (_, listed) = list(&env, As::User(&owner_b), &tenant_b, Some("bravo-user")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_user_outside_the_tenants_org_gets_not_found_on_devices_and_notify() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(5), "platform": "ios"}),
    )
    .await;
    let stranger = env.user_token("mallory", &["evil"]);
    let attempts = [
        register(
            &env,
            As::User(&stranger),
            &tenant_id,
            json!({"user_id": "u1", "token": ios_token(6), "platform": "ios"}),
        )
        .await,
        list(&env, As::User(&stranger), &tenant_id, Some("u1")).await,
        unregister(
            &env,
            As::User(&stranger),
            &tenant_id,
            &ios_token(5),
            Some("u1"),
        )
        .await,
        notify(
            &env,
            As::User(&stranger),
            &tenant_id,
            json!({"user_id": "u1", "badge": 1}),
        )
        .await,
    ];
    for (status, body) in attempts {
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
        assert!(!body.to_string().contains(&ios_token(5)));
    }
    // A member of another org of the same user does get in.
    let member = env.user_token("mallory", &["evil", "acme"]);
    let (status, _) = list(&env, As::User(&member), &tenant_id, Some("u1")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_device_bodies_are_rejected_naming_the_problem_and_never_500() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let valid =
        json!({"user_id": "u1", "token": ios_token(1), "platform": "ios", "app_version": "1.0"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string().into_bytes()
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        if let Some(object) = body.as_object_mut() {
            object.remove(field);
        }
        body.to_string().into_bytes()
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{".to_vec(), 400, "malformed JSON"),
        (b"not json".to_vec(), 400, "JSON"),
        (b"[1]".to_vec(), 400, "must be a JSON object"),
        (b"".to_vec(), 400, "request body is required"),
        (b"null".to_vec(), 400, "must be a JSON object"),
        (with("user_id", json!(5)), 400, "`user_id`"),
        (with("user_id", json!("")), 400, "`user_id`"),
        (with("user_id", json!("u".repeat(257))), 400, "`user_id`"),
        (with("user_id", json!("line\nbreak")), 400, "`user_id`"),
        (with("token", json!(["a"])), 400, "`token`"),
        (with("app_version", json!(1.2)), 400, "`app_version`"),
        (
            with("app_version", json!("v".repeat(65))),
            400,
            "`app_version`",
        ),
        (
            with("device_name", json!("x")),
            400,
            "unknown field `device_name`",
        ),
        (without("user_id"), 400, "missing field `user_id`"),
        (without("token"), 400, "missing field `token`"),
        (without("platform"), 400, "missing field `platform`"),
        (vec![b' '; 1024 * 1024 + 1], 413, "1 MiB"),
    ];
    for (body, expected, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, answer) = register_raw(&env, As::User(&owner), &tenant_id, body).await;
        assert_eq!(status, expected, "{shown}: {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "{shown}: {detail:?} should mention {needle:?}"
        );
    }
    assert!(
        !env.table_dump().await.contains("DEVICE#"),
        "nothing stored"
    );
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_devices_and_index_items_and_spares_others() {
    let env = TestEnv::new().await;
    let (doomed, owner) = tenant(&env, "acme").await;
    let (survivor, other_owner) = tenant(&env, "other").await;
    for n in 0..6 {
        let (status, _) = register(
            &env,
            As::User(&owner),
            &doomed,
            json!({"user_id": format!("user-{}", n % 3), "token": fcm_token(n), "platform": "android"}),
        )
        .await;
        assert_eq!(status, 200);
    }
    // An idempotency record too (a send to a user without devices sends nothing).
    let send = who_sends(&env, &owner, &doomed).await;
    assert_eq!(send, 200);
    register(
        &env,
        As::User(&other_owner),
        &survivor,
        json!({"user_id": "user-0", "token": ios_token(77), "platform": "ios"}),
    )
    .await;
    assert!(env.table_dump().await.contains(&doomed));

    let response = tenant_delete::handle(
        &env.app,
        call("DELETE", "/tenants/{tenant_id}")
            .param("tenant_id", &doomed)
            .bearer(&owner)
            .build(),
    )
    .await;
    assert_eq!(parts(&response).0, 200);
    let dump = env.table_dump().await;
    assert!(
        !dump.contains(&doomed),
        "items of the deleted tenant remain: {dump}"
    );
    assert!(!dump.contains(&fcm_token(0)));
    let (_, listed) = list(&env, As::User(&other_owner), &survivor, Some("user-0")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

async fn who_sends(env: &TestEnv, owner: &str, tenant_id: &str) -> u16 {
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", tenant_id)
        .bearer(owner)
        .header("idempotency-key", "order-1")
        .json(json!({"user_id": "nobody", "badge": 1}))
        .build();
    parts(&notify_send::handle(&env.app, &env.delivery(), request).await).0
}

#[tokio::test]
async fn a_large_tenant_partition_is_purged_in_bounded_steps() {
    let env = TestEnv::new().await;
    let (tenant_id, _owner) = tenant(&env, "acme").await;
    for n in 0..110 {
        let registration = DeviceRegistration {
            user_id: format!("user-{}", n % 7),
            token: ios_token(n),
            platform: Platform::Ios,
            token_type: Default::default(),
            app_version: None,
            web_push_keys: None,
        };
        if let Err(err) = env
            .app
            .store
            .register_device(&tenant_id, &registration, TokenMoves::Allowed)
            .await
        {
            panic!("registering device {n}: {err}");
        }
    }
    let first = env
        .app
        .store
        .purge_tenant_partition(&tenant_id, 1)
        .await
        .unwrap_or_else(|err| panic!("purging: {err}"));
    assert!(!first.complete && first.deleted >= 1, "{first:?}");
    let mut total = first.deleted;
    for _ in 0..10 {
        let step = env
            .app
            .store
            .purge_tenant_partition(&tenant_id, 1)
            .await
            .unwrap_or_else(|err| panic!("purging: {err}"));
        total += step.deleted;
        if step.complete {
            break;
        }
    }
    // 110 devices and their index items and the 7 users' device counters;
    // the tenant item is left to the deletion, which removes it last
    // (`tenants::finish_deletion`).
    assert_eq!(total, 227);
    assert!(!env.table_dump().await.contains("DEVICE#"));
}

#[tokio::test]
async fn with_a_delivery_queue_a_small_tenant_is_purged_inline_and_a_purge_message_has_the_worker_shape(
) {
    let mut env = TestEnv::new().await;
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("purge-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("creating queue: {err}"))
        .queue_url
        .unwrap_or_default();
    env.app.config.delivery_queue_url = Some(queue_url.clone());
    env.app.config.tenant_purge = notify_shared::config::PurgeMode::Queued;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    for n in 0..3 {
        register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": "u1", "token": ios_token(n), "platform": "ios"}),
        )
        .await;
    }
    let response = tenant_delete::handle(
        &env.app,
        call("DELETE", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&owner)
            .build(),
    )
    .await;
    assert_eq!(parts(&response).0, 200);
    assert!(!env.table_dump().await.contains(&tenant_id));
    let receive = || {
        sqs.receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
    };
    let left = receive()
        .await
        .unwrap_or_else(|err| panic!("receiving: {err}"));
    assert!(left.messages().is_empty(), "nothing left for the worker");

    notify_shared::service::tenants::enqueue_purge(&env.app, &tenant_id)
        .await
        .unwrap_or_else(|err| panic!("enqueueing: {err}"));
    let received = receive()
        .await
        .unwrap_or_else(|err| panic!("receiving: {err}"));
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(
        bodies,
        vec![format!(r#"{{"kind":"purge_tenant","tenant_id":"{tenant_id}"}}"#).as_str()]
    );
    let schemas: Vec<Option<&str>> = received
        .messages()
        .iter()
        .map(|m| {
            m.message_attributes()
                .and_then(|attributes| attributes.get("notify_schema"))
                .and_then(|attribute| attribute.string_value())
        })
        .collect();
    assert_eq!(schemas, vec![Some("2")]);
}

/// Registers `count` devices (`ios_token(first..)`) for `user_id` through the
/// store, one after another: moto undoes concurrent transactions on one
/// table now and then, which setup must not suffer from.
async fn fill(env: &TestEnv, tenant_id: &str, user_id: &str, first: u32, count: u32) {
    for n in first..first + count {
        let registration = DeviceRegistration {
            user_id: user_id.to_owned(),
            token: ios_token(n),
            platform: Platform::Ios,
            token_type: Default::default(),
            app_version: None,
            web_push_keys: None,
        };
        if let Err(err) = env
            .app
            .store
            .register_device(tenant_id, &registration, TokenMoves::Allowed)
            .await
        {
            panic!("registering device {n}: {err}");
        }
    }
}

async fn device_count(env: &TestEnv, owner: &str, tenant_id: &str, user_id: &str) -> usize {
    let (status, listed) = list(env, As::User(owner), tenant_id, Some(user_id)).await;
    assert_eq!(status, 200, "{listed}");
    listed["devices"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default()
}

fn assert_too_many_devices(status: u16, body: &Value) {
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "too_many_devices", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("100") && detail.contains("`user_id`"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_user_cannot_register_a_101st_device() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "hoarder", 0, 100).await;
    for (token, platform) in [(ios_token(100), "ios"), (fcm_token(100), "android")] {
        let (status, body) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": "hoarder", "token": token, "platform": platform}),
        )
        .await;
        assert_too_many_devices(status, &body);
        assert!(!env.table_dump().await.contains(&token), "{token} stored");
    }
    assert_eq!(device_count(&env, &owner, &tenant_id, "hoarder").await, 100);
    // Another user of the tenant is not affected.
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "someone-else", "token": ios_token(100), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn re_registering_an_existing_token_at_the_cap_works() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "u1", 0, 100).await;
    let (status, device) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(42), "platform": "ios", "app_version": "2.0"}),
    )
    .await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["app_version"], "2.0");
    assert_eq!(device_count(&env, &owner, &tenant_id, "u1").await, 100);
}

#[tokio::test]
async fn unregistering_frees_a_slot() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "u1", 0, 100).await;
    let new_device = json!({"user_id": "u1", "token": ios_token(500), "platform": "ios"});
    let (status, body) = register(&env, As::User(&owner), &tenant_id, new_device.clone()).await;
    assert_too_many_devices(status, &body);
    let (status, _) = unregister(
        &env,
        As::User(&owner),
        &tenant_id,
        &ios_token(7),
        Some("u1"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = register(&env, As::User(&owner), &tenant_id, new_device).await;
    assert_eq!(status, 200, "{body}");
    // And exactly one slot.
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(501), "platform": "ios"}),
    )
    .await;
    assert_too_many_devices(status, &body);
}

#[tokio::test]
async fn a_dead_token_removed_by_a_send_frees_a_slot() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "u1", 0, 100).await;
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, Some("u1")).await;
    let dead: notify_shared::model::Device =
        serde_json::from_value(listed["devices"][3].clone()).unwrap_or_else(|err| panic!("{err}"));
    env.app
        .store
        .remove_dead_device(&tenant_id, &dead)
        .await
        .unwrap_or_else(|err| panic!("removing dead device: {err}"));
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(500), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(device_count(&env, &owner, &tenant_id, "u1").await, 100);
}

#[tokio::test]
async fn a_token_moving_counts_for_its_new_user_and_frees_a_slot_of_the_old_one() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "full", 0, 100).await;
    fill(&env, &tenant_id, "other", 100, 1).await;
    // A token of another user cannot move to a user at the cap...
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "full", "token": ios_token(100), "platform": "ios"}),
    )
    .await;
    assert_too_many_devices(status, &body);
    assert_eq!(device_count(&env, &owner, &tenant_id, "other").await, 1);
    // ...and a token moving away from that user frees a slot.
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "other", "token": ios_token(0), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "full", "token": ios_token(100), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(device_count(&env, &owner, &tenant_id, "full").await, 100);
    assert_eq!(device_count(&env, &owner, &tenant_id, "other").await, 1);
}

/// Sends an app's DynamoDB calls one at a time. moto serves concurrent
/// requests on threads without isolating transactions from each other (it
/// checks a condition, then applies the write, and undoes a failed one by
/// restoring a copy of the whole table), so two parallel transactions can
/// both pass a condition only one of them may pass; DynamoDB serializes
/// them. One call at a time keeps moto exact, while the requests still
/// interleave as concurrent ones do: they all read before any of them
/// writes. (Over reqwest: the SDK's own HTTP client is not reachable from
/// here.)
#[derive(Debug, Clone)]
struct OneAtATime {
    client: reqwest::Client,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl OneAtATime {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let _turn = self.turn.lock().await;
        let io = |err: reqwest::Error| ConnectorError::io(err.into());
        let method = reqwest::Method::from_bytes(request.method().as_bytes())
            .map_err(|err| ConnectorError::other(err.into(), None))?;
        let mut outgoing = self.client.request(method, request.uri());
        for (name, value) in request.headers() {
            outgoing = outgoing.header(name, value);
        }
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let response = outgoing.body(body).send().await.map_err(io)?;
        let status = StatusCode::try_from(response.status().as_u16())
            .map_err(|err| ConnectorError::other(err.into(), None))?;
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let bytes = response.bytes().await.map_err(io)?;
        let mut answer = HttpResponse::new(status, SdkBody::from(bytes.to_vec()));
        for (name, value) in headers {
            answer.headers_mut().insert(name, value);
        }
        Ok(answer)
    }
}

impl HttpConnector for OneAtATime {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.clone();
        HttpConnectorFuture::new(async move { connector.send(request).await })
    }
}

fn app_with_one_dynamodb_call_at_a_time(env: &TestEnv) -> App {
    // reqwest's TLS needs a process-wide provider, even for plain HTTP.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let connector = OneAtATime {
        client: reqwest::Client::new(),
        turn: Arc::new(tokio::sync::Mutex::new(())),
    };
    let client = http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone()));
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.sdk)
            .http_client(client)
            .build(),
    );
    App::with_clients(
        env.app.config.clone(),
        dynamodb,
        Secrets::new(env.secrets.clone(), env.tenant_secret_prefix.clone()),
        aws_sdk_sqs::Client::new(&env.sdk),
    )
}

#[tokio::test]
async fn concurrent_registrations_never_exceed_the_cap() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    fill(&env, &tenant_id, "u1", 0, 95).await;
    let app = app_with_one_dynamodb_call_at_a_time(&env);
    let attempts = (0..20).map(|n| {
        let request = call("POST", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &tenant_id)
            .bearer(&owner)
            .json(json!({"user_id": "u1", "token": ios_token(1000 + n), "platform": "ios"}))
            .build();
        let app = &app;
        async move { parts(&device_register::handle(app, request).await) }
    });
    let answers = futures::future::join_all(attempts).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_too_many_devices(*status, body);
    }
    assert_eq!(accepted, 5, "{answers:?}");
    assert_eq!(device_count(&env, &owner, &tenant_id, "u1").await, 100);
}

#[tokio::test]
async fn devices_from_before_the_cap_are_counted_and_listed_within_bounds() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    // 250 devices of one user written straight into the table, as data
    // from before the cap would be (the first, of another user, is the
    // template and goes through the store). A listing reads both caps (100
    // devices, 100 activity tokens) and a margin of 10.
    let mut devices = vec![("template-user".to_owned(), ios_token(9999), Platform::Ios)];
    devices.extend((0..250).map(|n| ("old-user".to_owned(), ios_token(n), Platform::Ios)));
    env.register_devices_fast_without_counts(&tenant_id, &devices)
        .await;
    assert_eq!(
        device_count(&env, &owner, &tenant_id, "old-user").await,
        210
    );
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "old-user", "token": ios_token(500), "platform": "ios"}),
    )
    .await;
    assert_too_many_devices(status, &body);
    // Re-registering one of them still works.
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "old-user", "token": ios_token(3), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn a_hashed_key_alias_cannot_unregister_a_long_fcm_token() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env, "acme").await;
    let token = format!("f:{}", "aZ09_-".repeat(300));
    assert!(token.len() > 1000);
    let (status, body) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "victim", "token": token, "platform": "android"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let alias = format!("sha256:{}", sha256_hex(&token));
    let (status, body) =
        unregister(&env, As::User(&owner), &tenant_id, &alias, Some("victim")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_token_format");
    assert_eq!(device_count(&env, &owner, &tenant_id, "victim").await, 1);
}
