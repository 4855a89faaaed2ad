//! The `register` scope and user verification: what an app's key, extracted
//! by a hostile user, can and cannot do.

use notify_tests::delivery::ios_token;
use notify_tests::flows::tenant_secret_id;
use notify_tests::flows::{
    assert_detail_names, assert_error, assert_nothing_left_of, delete_tenant, device,
    signed_device, As, Devices, OwnedTenant,
};
use notify_tests::{call, parts, TestEnv};
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

/// A device of `user_id` signed with `secret`, as the tenant's backend signs.
pub(crate) fn signed_for(secret: &str, user_id: &str, token: &str) -> Value {
    signed_device(user_id, token, &signature(secret, user_id))
}

pub(crate) async fn key_with(env: &TestEnv, owner: &str, tenant_id: &str, scopes: Value) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": "app", "scopes": scopes}))
        .await;
    assert_eq!(created["scopes"], scopes);
    created["key"].as_str().unwrap_or_default().to_owned()
}

/// The tokens of `user_id`'s devices, as the owner lists them.
pub(crate) async fn owner_of(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    user_id: &str,
) -> Vec<String> {
    Devices::user(env, owner, tenant_id)
        .tokens_of(user_id)
        .await
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
        .secret_id(tenant_secret_id(env, tenant_id))
        .send()
        .await
        .ok()
        .and_then(|output| output.secret_string)
        .unwrap_or_default()
}

fn assert_signature_refused(status: u16, body: &Value) {
    assert_error((status, body), 403, "user_signature_invalid");
    assert_detail_names(body, "`user_signature`");
}

/// The register and owner clients of the test's tenant, and its key.
struct Clients<'a> {
    by_key: Devices<'a>,
    by_owner: Devices<'a>,
}

fn clients<'a>(env: &'a TestEnv, key: &'a str, owner: &'a str, tenant_id: &'a str) -> Clients<'a> {
    Clients {
        by_key: Devices::key(env, key, tenant_id),
        by_owner: Devices::user(env, owner, tenant_id),
    }
}

#[tokio::test]
async fn a_register_key_registers_a_device() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let c = clients(&acme.env, &key, &acme.owner, &acme.tenant_id);
    let (status, device) = c
        .by_key
        .register(signed_for(&secret, "u1", &ios_token(1)))
        .await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["user_id"], "u1");
    assert_eq!(c.by_owner.tokens_of("u1").await, vec![ios_token(1)]);
}

#[tokio::test]
async fn a_register_key_cannot_list_or_unregister_devices_nor_send() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let c = clients(&acme.env, &key, &acme.owner, &acme.tenant_id);
    c.by_owner
        .register(device("victim", &ios_token(1), "ios"))
        .await;
    let (status, body) = c.by_key.list(Some("victim")).await;
    assert_error((status, &body), 403, "forbidden");
    assert_detail_names(&body, "`devices`");
    assert!(!body.to_string().contains(&ios_token(1)));

    let (status, body) = c.by_key.unregister(&ios_token(1), Some("victim")).await;
    assert_error((status, &body), 403, "forbidden");

    let (status, body) = c
        .by_key
        .notify(json!({"user_id": "victim", "alert": {"title": "Pwned"}}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_detail_names(&body, "`send`");
    let (status, body) = c
        .by_key
        .bulk(json!({"user_ids": ["victim"], "alert": {"title": "Pwned"}}))
        .await;
    assert_eq!(status, 403, "{body}");

    assert_eq!(c.by_owner.tokens_of("victim").await, vec![ios_token(1)]);
}

#[tokio::test]
async fn a_register_key_cannot_move_another_users_token() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(
        &acme.env,
        &acme.owner,
        &acme.tenant_id,
        json!(["register", "send"]),
    )
    .await;
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let c = clients(&acme.env, &key, &acme.owner, &acme.tenant_id);
    let (status, victim_device) = c
        .by_owner
        .register(device("victim", &ios_token(1), "ios"))
        .await;
    assert_eq!(status, 200);
    let (status, body) = c
        .by_key
        .register(json!({"user_id": "attacker", "token": ios_token(1), "platform": "ios", "app_version": "6.6.6"}))
        .await;
    assert_signature_refused(status, &body);
    // Nothing changed.
    let (_, listed) = c.by_owner.list(Some("victim")).await;
    assert_eq!(listed, json!({"devices": [victim_device]}));
    assert!(c.by_owner.tokens_of("attacker").await.is_empty());
    // The same key re-registers the victim's token for the victim (no move).
    let (status, _) = c
        .by_key
        .register(signed_for(&secret, "victim", &ios_token(1)))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_backend_key_and_a_user_still_move_tokens_without_a_signature() {
    let acme = OwnedTenant::new("acme").await;
    secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let backend = key_with(
        &acme.env,
        &acme.owner,
        &acme.tenant_id,
        json!(["devices", "send"]),
    )
    .await;
    let c = clients(&acme.env, &backend, &acme.owner, &acme.tenant_id);
    let token = ios_token(1);
    for (who, user) in [
        (c.by_owner, "alice"),
        (c.by_key, "bob"),
        (c.by_owner, "carol"),
    ] {
        let (status, body) = who.register(device(user, &token, "ios")).await;
        assert_eq!(status, 200, "{user}: {body}");
    }
    assert_eq!(c.by_owner.tokens_of("carol").await, vec![token]);
    assert!(c.by_owner.tokens_of("alice").await.is_empty());
}

#[tokio::test]
async fn with_user_verification_a_register_key_needs_the_users_signature() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let c = clients(&acme.env, &key, &acme.owner, &acme.tenant_id);
    c.by_owner
        .register(device("alice", &ios_token(1), "ios"))
        .await;
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;

    let unsigned = device("bob", &ios_token(2), "ios");
    let (status, body) = c.by_key.register(unsigned).await;
    assert_signature_refused(status, &body);
    assert!(c.by_owner.tokens_of("bob").await.is_empty());

    let bob = signature(&secret, "bob");
    let (status, body) = c
        .by_key
        .register(signed_device("bob", &ios_token(2), &bob))
        .await;
    assert_eq!(status, 200, "{body}");
    // A proved user may take over a token (the phone changed hands).
    let (status, body) = c
        .by_key
        .register(signed_device("bob", &ios_token(1), &bob))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        c.by_owner.tokens_of("bob").await,
        vec![ios_token(1), ios_token(2)]
    );
    assert!(c.by_owner.tokens_of("alice").await.is_empty());
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_changes_nothing() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let c = clients(&acme.env, &key, &acme.owner, &acme.tenant_id);
    let (_, victim_device) = c
        .by_owner
        .register(device("victim", &ios_token(1), "ios"))
        .await;
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let before = acme.env.table_dump().await;
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
            let body = signed_device("attacker", &token, user_signature);
            let (status, body) = c.by_key.register(body).await;
            assert_signature_refused(status, &body);
        }
    }
    // Only the key's last-use time may have changed.
    let (_, listed) = c.by_owner.list(Some("victim")).await;
    assert_eq!(listed, json!({"devices": [victim_device]}));
    assert!(c.by_owner.tokens_of("attacker").await.is_empty());
    let after = acme.env.table_dump().await;
    assert!(!after.contains(&ios_token(2)));
    assert_eq!(
        before.matches("DEVICE#").count(),
        after.matches("DEVICE#").count()
    );
}

#[tokio::test]
async fn the_verification_secret_is_shown_once_and_stored_only_in_secrets_manager() {
    let acme = OwnedTenant::new("acme").await;
    let (status, body) = turn_on(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
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
    let stored = tenant_secret_text(&acme.env, &acme.tenant_id).await;
    assert!(stored.contains(&secret));
    assert!(stored.contains("BEGIN PRIVATE KEY"), "APNs key kept");
    // ...never in the table, never shown again.
    assert!(!acme.env.table_dump().await.contains(&secret));
    let (_, tenant) =
        notify_tests::flows::get_tenant_as(&acme.env.app, &acme.owner, &acme.tenant_id).await;
    assert!(!tenant.to_string().contains(&secret));

    // Posting again rotates it: the old secret's signatures stop working.
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let rotated = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    assert_ne!(rotated, secret);
    let device = |secret: &str| signed_for(secret, "u1", &ios_token(1));
    let by_key = Devices::key(&acme.env, &key, &acme.tenant_id);
    let (status, body) = by_key.register(device(&secret)).await;
    assert_signature_refused(status, &body);
    let (status, body) = by_key.register(device(&rotated)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!tenant_secret_text(&acme.env, &acme.tenant_id)
        .await
        .contains(&secret));
}

#[tokio::test]
async fn turning_user_verification_off_forgets_the_secret_and_stops_register_keys() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let (status, body) = turn_off(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
    assert_error((status, &body), 404, "not_found");
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let (status, body) = turn_off(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
    assert_eq!((status, body), (200, json!({"deleted": true})));
    let stored = tenant_secret_text(&acme.env, &acme.tenant_id).await;
    assert!(!stored.contains(&secret) && stored.contains("BEGIN PRIVATE KEY"));
    let (status, body) = Devices::key(&acme.env, &key, &acme.tenant_id)
        .register(signed_for(&secret, "u1", &ios_token(1)))
        .await;
    assert_error((status, &body), 403, "user_verification_required");
    let (status, _) = turn_off(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_api_key_cannot_turn_user_verification_on() {
    let acme = OwnedTenant::new("acme").await;
    for scopes in [
        json!(["register"]),
        json!(["devices", "send"]),
        json!(["register", "devices", "send"]),
    ] {
        let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, scopes).await;
        let (status, body) = turn_on(&acme.env, As::Key(&key), &acme.tenant_id).await;
        assert_error((status, &body), 403, "forbidden");
        assert!(body.get("secret").is_none());
    }
    assert!(!tenant_secret_text(&acme.env, &acme.tenant_id)
        .await
        .contains("user_verification"));
    // Not off either, once on.
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let key = key_with(
        &acme.env,
        &acme.owner,
        &acme.tenant_id,
        json!(["devices", "send"]),
    )
    .await;
    let (status, _) = turn_off(&acme.env, As::Key(&key), &acme.tenant_id).await;
    assert_eq!(status, 403);
    assert!(tenant_secret_text(&acme.env, &acme.tenant_id)
        .await
        .contains(&secret));
    // A user outside the tenant's org learns nothing.
    let stranger = acme.env.user_token("mallory", &["evil"]);
    let (status, body) = turn_on(&acme.env, As::User(&stranger), &acme.tenant_id).await;
    assert_eq!(status, 404, "{body}");
    assert!(tenant_secret_text(&acme.env, &acme.tenant_id)
        .await
        .contains(&secret));
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_device_counters_and_verification() {
    let acme = OwnedTenant::new("acme").await;
    secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let by_owner = Devices::user(&acme.env, &acme.owner, &acme.tenant_id);
    for (n, user) in ["u1", "u2", "u3"].iter().enumerate() {
        let (status, _) = by_owner.register(device(user, &ios_token(n), "ios")).await;
        assert_eq!(status, 200);
    }
    // u1's only device goes: its counter stays, at zero.
    assert_eq!(by_owner.unregister(&ios_token(0), Some("u1")).await.0, 200);
    delete_tenant(&acme.env, &acme.owner, &acme.tenant_id).await;
    assert_nothing_left_of(&acme.env, &acme.tenant_id).await;
    assert_eq!(acme.env.tenant_secret_count().await, 0);
}
