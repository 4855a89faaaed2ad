//! The `register` scope and user verification: what an app's key, extracted
//! by a hostile user, can and cannot do.

use notify_tests::keys::tenant_with_apns;
use notify_tests::{call, parts, TestEnv};

use crate::devices::{ios_token, As};
use serde_json::{json, Value};

/// What the tenant's backend computes, with another HMAC implementation.
pub(crate) fn signature(secret: &str, user_id: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    aws_lc_rs::hmac::sign(&key, user_id.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

pub(crate) async fn tenant(env: &TestEnv) -> (String, String) {
    let owner = env.user_token("owner-acme", &["acme"]);
    let tenant_id = env.create_tenant(&owner, tenant_with_apns("acme")).await;
    (tenant_id, owner)
}

pub(crate) async fn key_with(env: &TestEnv, owner: &str, tenant_id: &str, scopes: Value) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": "app", "scopes": scopes}))
        .await;
    assert_eq!(created["scopes"], scopes);
    created["key"].as_str().unwrap_or_default().to_owned()
}

pub(crate) async fn register(
    env: &TestEnv,
    who: As<'_>,
    tenant_id: &str,
    body: Value,
) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/devices").param("tenant_id", tenant_id))
        .json(body)
        .build();
    parts(&device_register::handle(&env.app, request).await)
}

async fn list(env: &TestEnv, who: As<'_>, tenant_id: &str, user_id: &str) -> (u16, Value) {
    let request = who.on(call("GET", "/tenants/{tenant_id}/devices")
        .param("tenant_id", tenant_id)
        .query("user_id", user_id));
    parts(&device_list::handle(&env.app, request.build()).await)
}

pub(crate) async fn owner_of(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    user_id: &str,
) -> Vec<String> {
    let (status, listed) = list(env, As::User(owner), tenant_id, user_id).await;
    assert_eq!(status, 200, "{listed}");
    listed["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|device| device["token"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) async fn turn_on(env: &TestEnv, who: As<'_>, tenant_id: &str) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/user-verification").param("tenant_id", tenant_id))
        .build();
    parts(&user_verification_create::handle(&env.app, request).await)
}

pub(crate) async fn turn_off(env: &TestEnv, who: As<'_>, tenant_id: &str) -> (u16, Value) {
    let request = who
        .on(call("DELETE", "/tenants/{tenant_id}/user-verification").param("tenant_id", tenant_id))
        .build();
    parts(&user_verification_delete::handle(&env.app, request).await)
}

/// Turns user verification on and returns the secret.
pub(crate) async fn secret_of(env: &TestEnv, owner: &str, tenant_id: &str) -> String {
    let (status, body) = turn_on(env, As::User(owner), tenant_id).await;
    assert_eq!(status, 200, "{body}");
    body["secret"].as_str().unwrap_or_default().to_owned()
}

pub(crate) async fn tenant_secret_text(env: &TestEnv, tenant_id: &str) -> String {
    env.secrets
        .get_secret_value()
        .secret_id(format!("{}{tenant_id}", env.tenant_secret_prefix))
        .send()
        .await
        .ok()
        .and_then(|output| output.secret_string)
        .unwrap_or_default()
}

fn assert_signature_refused(status: u16, body: &Value) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "user_signature_invalid", "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`user_signature`"));
}

#[tokio::test]
async fn a_register_key_registers_a_device() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    let secret = secret_of(&env, &owner, &tenant_id).await;
    let (status, device) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(1), "platform": "ios",
               "user_signature": signature(&secret, "u1")}),
    )
    .await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["user_id"], "u1");
    assert_eq!(
        owner_of(&env, &owner, &tenant_id, "u1").await,
        vec![ios_token(1)]
    );
}

#[tokio::test]
async fn a_register_key_cannot_list_or_unregister_devices_nor_send() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "victim", "token": ios_token(1), "platform": "ios"}),
    )
    .await;
    let (status, body) = list(&env, As::Key(&key), &tenant_id, "victim").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`devices`"));
    assert!(!body.to_string().contains(&ios_token(1)));

    let request = call("DELETE", "/tenants/{tenant_id}/devices/{token}")
        .param("tenant_id", &tenant_id)
        .param("token", &ios_token(1))
        .query("user_id", "victim")
        .api_key(&key)
        .build();
    let (status, body) = parts(&device_unregister::handle(&env.app, request).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );

    let send = |path: &str, body: Value| {
        call("POST", path)
            .param("tenant_id", &tenant_id)
            .api_key(&key)
            .json(body)
            .build()
    };
    let (status, body) = parts(
        &notify_send::handle(
            &env.app,
            &env.delivery(),
            send(
                "/tenants/{tenant_id}/notify",
                json!({"user_id": "victim", "alert": {"title": "Pwned"}}),
            ),
        )
        .await,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`send`"));
    let (status, body) = parts(
        &notify_bulk::handle(
            &env.app,
            send(
                "/tenants/{tenant_id}/notify/bulk",
                json!({"user_ids": ["victim"], "alert": {"title": "Pwned"}}),
            ),
        )
        .await,
    );
    assert_eq!(status, 403, "{body}");

    assert_eq!(
        owner_of(&env, &owner, &tenant_id, "victim").await,
        vec![ios_token(1)]
    );
}

#[tokio::test]
async fn a_register_key_cannot_move_another_users_token() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register", "send"])).await;
    let secret = secret_of(&env, &owner, &tenant_id).await;
    let (status, victim_device) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "victim", "token": ios_token(1), "platform": "ios"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "attacker", "token": ios_token(1), "platform": "ios", "app_version": "6.6.6"}),
    )
    .await;
    assert_signature_refused(status, &body);
    // Nothing changed.
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, "victim").await;
    assert_eq!(listed, json!({"devices": [victim_device]}));
    assert!(owner_of(&env, &owner, &tenant_id, "attacker")
        .await
        .is_empty());
    // The same key re-registers the victim's token for the victim (no move).
    let (status, _) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "victim", "token": ios_token(1), "platform": "ios",
               "user_signature": signature(&secret, "victim")}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_backend_key_and_a_user_still_move_tokens_without_a_signature() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    secret_of(&env, &owner, &tenant_id).await;
    let backend = key_with(&env, &owner, &tenant_id, json!(["devices", "send"])).await;
    let token = ios_token(1);
    for (who, user) in [
        (As::User(&owner), "alice"),
        (As::Key(&backend), "bob"),
        (As::User(&owner), "carol"),
    ] {
        let (status, body) = register(
            &env,
            who,
            &tenant_id,
            json!({"user_id": user, "token": token, "platform": "ios"}),
        )
        .await;
        assert_eq!(status, 200, "{user}: {body}");
    }
    assert_eq!(
        owner_of(&env, &owner, &tenant_id, "carol").await,
        vec![token]
    );
    assert!(owner_of(&env, &owner, &tenant_id, "alice").await.is_empty());
}

#[tokio::test]
async fn with_user_verification_a_register_key_needs_the_users_signature() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "alice", "token": ios_token(1), "platform": "ios"}),
    )
    .await;
    let secret = secret_of(&env, &owner, &tenant_id).await;

    let unsigned = json!({"user_id": "bob", "token": ios_token(2), "platform": "ios"});
    let (status, body) = register(&env, As::Key(&key), &tenant_id, unsigned).await;
    assert_signature_refused(status, &body);
    assert!(owner_of(&env, &owner, &tenant_id, "bob").await.is_empty());

    let (status, body) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "bob", "token": ios_token(2), "platform": "ios",
               "user_signature": signature(&secret, "bob")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A proved user may take over a token (the phone changed hands).
    let (status, body) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "bob", "token": ios_token(1), "platform": "ios",
               "user_signature": signature(&secret, "bob")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        owner_of(&env, &owner, &tenant_id, "bob").await,
        vec![ios_token(1), ios_token(2)]
    );
    assert!(owner_of(&env, &owner, &tenant_id, "alice").await.is_empty());
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_changes_nothing() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    let (_, victim_device) = register(
        &env,
        As::User(&owner),
        &tenant_id,
        json!({"user_id": "victim", "token": ios_token(1), "platform": "ios"}),
    )
    .await;
    let secret = secret_of(&env, &owner, &tenant_id).await;
    let before = env.table_dump().await;
    let right = signature(&secret, "attacker");
    let wrong = [
        signature(&secret, "victim"),
        right.to_uppercase(),
        signature("not-the-secret", "attacker"),
        right[..63].to_owned(),
        format!("{right}00"),
        String::new(),
        "zz".repeat(32),
    ];
    for user_signature in &wrong {
        for token in [ios_token(1), ios_token(2)] {
            let (status, body) = register(
                &env,
                As::Key(&key),
                &tenant_id,
                json!({"user_id": "attacker", "token": token, "platform": "ios",
                       "user_signature": user_signature}),
            )
            .await;
            assert_signature_refused(status, &body);
        }
    }
    // Only the key's last-use time may have changed.
    let (_, listed) = list(&env, As::User(&owner), &tenant_id, "victim").await;
    assert_eq!(listed, json!({"devices": [victim_device]}));
    assert!(owner_of(&env, &owner, &tenant_id, "attacker")
        .await
        .is_empty());
    let after = env.table_dump().await;
    assert!(!after.contains(&ios_token(2)));
    assert_eq!(
        before.matches("DEVICE#").count(),
        after.matches("DEVICE#").count()
    );
}

#[tokio::test]
async fn the_verification_secret_is_shown_once_and_stored_only_in_secrets_manager() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let (status, body) = turn_on(&env, As::User(&owner), &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    let secret = body["secret"].as_str().unwrap_or_default().to_owned();
    assert!(
        secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    assert!(body["created_at"]
        .as_str()
        .unwrap_or_default()
        .ends_with('Z'));
    assert_eq!(body.as_object().map(|fields| fields.len()), Some(2));
    // Kept in the tenant's secret, next to the provider credentials...
    let stored = tenant_secret_text(&env, &tenant_id).await;
    assert!(stored.contains(&secret));
    assert!(stored.contains("BEGIN PRIVATE KEY"), "APNs key kept");
    // ...never in the table, never shown again.
    assert!(!env.table_dump().await.contains(&secret));
    let (_, tenant) = parts(
        &tenant_get::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}")
                .param("tenant_id", &tenant_id)
                .bearer(&owner)
                .build(),
        )
        .await,
    );
    assert!(!tenant.to_string().contains(&secret));

    // Posting again rotates it: the old secret's signatures stop working.
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    let rotated = secret_of(&env, &owner, &tenant_id).await;
    assert_ne!(rotated, secret);
    let device = |secret: &str| {
        json!({"user_id": "u1", "token": ios_token(1), "platform": "ios",
               "user_signature": signature(secret, "u1")})
    };
    let (status, body) = register(&env, As::Key(&key), &tenant_id, device(&secret)).await;
    assert_signature_refused(status, &body);
    let (status, body) = register(&env, As::Key(&key), &tenant_id, device(&rotated)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!tenant_secret_text(&env, &tenant_id).await.contains(&secret));
}

#[tokio::test]
async fn turning_user_verification_off_forgets_the_secret_and_stops_register_keys() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["register"])).await;
    let (status, body) = turn_off(&env, As::User(&owner), &tenant_id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let secret = secret_of(&env, &owner, &tenant_id).await;
    let (status, body) = turn_off(&env, As::User(&owner), &tenant_id).await;
    assert_eq!((status, body), (200, json!({"deleted": true})));
    let stored = tenant_secret_text(&env, &tenant_id).await;
    assert!(!stored.contains(&secret) && stored.contains("BEGIN PRIVATE KEY"));
    let (status, body) = register(
        &env,
        As::Key(&key),
        &tenant_id,
        json!({"user_id": "u1", "token": ios_token(1), "platform": "ios",
               "user_signature": signature(&secret, "u1")}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "user_verification_required", "{body}");
    let (status, _) = turn_off(&env, As::User(&owner), &tenant_id).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_api_key_cannot_turn_user_verification_on() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    for scopes in [
        json!(["register"]),
        json!(["devices", "send"]),
        json!(["register", "devices", "send"]),
    ] {
        let key = key_with(&env, &owner, &tenant_id, scopes).await;
        let (status, body) = turn_on(&env, As::Key(&key), &tenant_id).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        assert!(body.get("secret").is_none());
    }
    assert!(!tenant_secret_text(&env, &tenant_id)
        .await
        .contains("user_verification"));
    // Not off either, once on.
    let secret = secret_of(&env, &owner, &tenant_id).await;
    let key = key_with(&env, &owner, &tenant_id, json!(["devices", "send"])).await;
    let (status, _) = turn_off(&env, As::Key(&key), &tenant_id).await;
    assert_eq!(status, 403);
    assert!(tenant_secret_text(&env, &tenant_id).await.contains(&secret));
    // A user outside the tenant's org learns nothing.
    let stranger = env.user_token("mallory", &["evil"]);
    let (status, body) = turn_on(&env, As::User(&stranger), &tenant_id).await;
    assert_eq!(status, 404, "{body}");
    assert!(tenant_secret_text(&env, &tenant_id).await.contains(&secret));
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_device_counters_and_verification() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant(&env).await;
    secret_of(&env, &owner, &tenant_id).await;
    for (n, user) in ["u1", "u2", "u3"].iter().enumerate() {
        let (status, _) = register(
            &env,
            As::User(&owner),
            &tenant_id,
            json!({"user_id": user, "token": ios_token(n as u32), "platform": "ios"}),
        )
        .await;
        assert_eq!(status, 200);
    }
    // u1's only device goes: its counter stays, at zero.
    let request = call("DELETE", "/tenants/{tenant_id}/devices/{token}")
        .param("tenant_id", &tenant_id)
        .param("token", &ios_token(0))
        .query("user_id", "u1")
        .bearer(&owner)
        .build();
    assert_eq!(
        parts(&device_unregister::handle(&env.app, request).await).0,
        200
    );
    let response = tenant_delete::handle(
        &env.app,
        call("DELETE", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&owner)
            .build(),
    )
    .await;
    assert_eq!(parts(&response).0, 200);
    let dump = env.table_dump().await;
    assert!(
        !dump.contains(&tenant_id),
        "items of the deleted tenant remain: {dump}"
    );
    assert_eq!(env.tenant_secret_count().await, 0);
}
