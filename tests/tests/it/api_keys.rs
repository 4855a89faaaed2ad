//! API keys: shown once, listed by prefix, scoped, revoked at once.

use notify_tests::flows::tenant_with_key;
use notify_tests::flows::{create_key, list_keys, tenant_of, As};
use notify_tests::{call, parts, TestEnv};
use serde_json::{json, Value};

#[tokio::test]
async fn a_created_key_is_shown_once_then_listed_by_prefix_only() {
    let env = TestEnv::new().await;
    let (tenant_id, alice, created) =
        tenant_with_key(&env, "alice", "acme", "backend-server").await;

    let key = created["key"].as_str().unwrap_or_default();
    assert!(key.starts_with("msk_live_") && key.len() == 45, "{key}");
    assert!(created["key_id"]
        .as_str()
        .unwrap_or_default()
        .starts_with("key_"));
    assert_eq!(created["name"], "backend-server");
    assert_eq!(created["prefix"], &key[..13]);
    assert_eq!(created["scopes"], json!(["devices", "send"]));

    let (status, body) = list_keys(&env.app, As::User(&alice), &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    let keys = body["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["key_id"], created["key_id"]);
    assert_eq!(keys[0]["prefix"], created["prefix"]);
    assert_eq!(keys[0]["last_used_at"], Value::Null);
    assert!(keys[0].get("key").is_none() && keys[0].get("key_hash").is_none());
    assert!(!body.to_string().contains(key));
}

#[tokio::test]
async fn a_deleted_key_fails_on_the_very_next_request() {
    let env = TestEnv::new().await;
    let (tenant_id, alice, created) = tenant_with_key(&env, "alice", "acme", "doomed").await;
    let key = created["key"].as_str().unwrap_or_default();
    let key_id = created["key_id"].as_str().unwrap_or_default();

    // Used once: the key works (a management endpoint answers 403, not 401).
    let probe = || {
        call("GET", "/tenants/{tenant_id}/api-keys")
            .param("tenant_id", &tenant_id)
            .api_key(key)
            .build()
    };
    assert_eq!(parts(&api_key_list::handle(&env.app, probe()).await).0, 403);

    let delete = || {
        call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
            .param("tenant_id", &tenant_id)
            .param("key_id", key_id)
            .bearer(&alice)
            .build()
    };
    let (status, body) = parts(&api_key_delete::handle(&env.app, delete()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": true, "key_id": key_id}));

    let (status, body) = parts(&api_key_list::handle(&env.app, probe()).await);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthorized");
    let (_, listed) = list_keys(&env.app, As::User(&alice), &tenant_id).await;
    assert_eq!(listed["keys"], json!([]));
    assert_eq!(
        parts(&api_key_delete::handle(&env.app, delete()).await).0,
        404
    );
}

#[tokio::test]
async fn scopes_default_to_both_and_can_be_narrowed() {
    let env = TestEnv::new().await;
    let (tenant_id, alice) = tenant_of(&env, "alice", "acme").await;
    let narrowed = env
        .create_api_key(
            &alice,
            &tenant_id,
            json!({"name": "ios-app", "scopes": ["devices", "devices"]}),
        )
        .await;
    assert_eq!(narrowed["scopes"], json!(["devices"]));
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["admin"]}), "scopes"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({}), "name"),
    ] {
        let (status, error) =
            create_key(&env.app, As::User(&alice), &tenant_id, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {error}");
        assert!(
            error["detail"].as_str().unwrap_or_default().contains(field),
            "{body} -> {error}"
        );
    }
    let hundred = env
        .create_api_key(&alice, &tenant_id, json!({"name": "é".repeat(100)}))
        .await;
    assert_eq!(
        hundred["name"].as_str().map(|n| n.chars().count()),
        Some(100)
    );
}

#[tokio::test]
async fn any_number_of_keys_can_be_created_and_all_are_listed() {
    let env = TestEnv::new().await;
    let (tenant_id, alice) = tenant_of(&env, "alice", "acme").await;
    for n in 0..12 {
        env.create_api_key(&alice, &tenant_id, json!({"name": format!("key-{n}")}))
            .await;
    }
    let (_, body) = list_keys(&env.app, As::User(&alice), &tenant_id).await;
    assert_eq!(body["keys"].as_array().map(Vec::len), Some(12));
}

/// Found by contract fuzzing: the emulator failed a transaction's answer
/// after applying it, the SDK retried, and the retry's conditions failed on
/// the items the first attempt had written: a 500 for a key that existed.
#[tokio::test]
async fn a_key_creation_retried_after_its_answer_was_lost_succeeds_once() {
    let env = TestEnv::new().await;
    let (tenant_id, token) = tenant_of(&env, "alice", "acme").await;
    let material = notify_shared::auth::api_key::generate();
    let key = notify_shared::model::ApiKey {
        key_id: notify_shared::ids::new_key_id(),
        name: "retried".to_owned(),
        prefix: material.display_prefix.clone(),
        scopes: vec![notify_shared::model::Scope::Send],
        rate_limit: None,
        created_at: "2026-12-03T09:00:00Z".to_owned(),
        last_used_at: None,
        requests_24h: None,
        unusual_activity: None,
    };
    for attempt in 0..2 {
        let written = env
            .app
            .store
            .insert_api_key(&tenant_id, &key, &material.hash, 1000)
            .await;
        assert!(written.is_ok(), "attempt {attempt}: {written:?}");
    }
    let (status, listed) = list_keys(&env.app, As::User(&token), &tenant_id).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(1), "{listed}");
}
