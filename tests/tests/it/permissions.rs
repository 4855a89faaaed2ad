//! The contract's permission table for tenants, API keys, user verification
//! and auth: every row.

use base64::Engine as _;
use lambda_http::{Body, Request, Response};
use notify_shared::App;
use notify_tests::flows::{get_tenant_as, get_tenant_by, list_keys, tenant_of, As};
use notify_tests::keys::tenant_with_apns;
use notify_tests::{call, parts, Call, TestEnv};
use serde_json::{json, Value};

/// Every management endpoint, as (name, request on `tenant_id`).
fn management_calls(tenant_id: &str) -> Vec<(&'static str, Call)> {
    vec![
        (
            "POST /tenants",
            call("POST", "/tenants").json(tenant_with_apns("acme")),
        ),
        ("GET /tenants", call("GET", "/tenants")),
        (
            "GET /tenants/{id}",
            call("GET", "/tenants/{tenant_id}").param("tenant_id", tenant_id),
        ),
        (
            "PATCH /tenants/{id}",
            call("PATCH", "/tenants/{tenant_id}")
                .param("tenant_id", tenant_id)
                .json(json!({"use_sandbox": false})),
        ),
        (
            "DELETE /tenants/{id}",
            call("DELETE", "/tenants/{tenant_id}").param("tenant_id", tenant_id),
        ),
        (
            "POST api-keys",
            call("POST", "/tenants/{tenant_id}/api-keys")
                .param("tenant_id", tenant_id)
                .json(json!({"name": "x"})),
        ),
        (
            "GET api-keys",
            call("GET", "/tenants/{tenant_id}/api-keys").param("tenant_id", tenant_id),
        ),
        (
            "POST user-verification",
            call("POST", "/tenants/{tenant_id}/user-verification").param("tenant_id", tenant_id),
        ),
        (
            "DELETE user-verification",
            call("DELETE", "/tenants/{tenant_id}/user-verification").param("tenant_id", tenant_id),
        ),
        (
            "DELETE api-keys/{id}",
            call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
                .param("tenant_id", tenant_id)
                .param("key_id", "key_AAAAAAAAAAAAAAAAAAAA"),
        ),
    ]
}

async fn dispatch(app: &App, name: &str, request: Request) -> Response<Body> {
    match name {
        "POST /tenants" => tenant_create::handle(app, request).await,
        "GET /tenants" => tenant_list::handle(app, request).await,
        "GET /tenants/{id}" => tenant_get::handle(app, request).await,
        "PATCH /tenants/{id}" => tenant_update::handle(app, request).await,
        "DELETE /tenants/{id}" => tenant_delete::handle(app, request).await,
        "POST api-keys" => api_key_create::handle(app, request).await,
        "GET api-keys" => api_key_list::handle(app, request).await,
        "DELETE api-keys/{id}" => api_key_delete::handle(app, request).await,
        "POST user-verification" => user_verification_create::handle(app, request).await,
        "DELETE user-verification" => user_verification_delete::handle(app, request).await,
        other => panic!("no handler for {other}"),
    }
}

/// `GET /auth/validate` with credentials set by `auth`.
async fn validate(env: &TestEnv, auth: impl FnOnce(Call) -> Call) -> (u16, Value) {
    let request = auth(call("GET", "/auth/validate"));
    parts(&auth_validate::handle(&env.app, request.build()).await)
}

async fn tenant_with_key(env: &TestEnv, org: &str) -> (String, String) {
    let token = env.user_token(&format!("owner-{org}"), &[org]);
    let tenant_id = env.create_tenant(&token, tenant_with_apns(org)).await;
    let key = env
        .create_api_key(&token, &tenant_id, json!({"name": "backend"}))
        .await;
    (
        tenant_id,
        key["key"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_api_key_on_any_management_endpoint_is_forbidden() {
    let env = TestEnv::new().await;
    let (tenant_id, key) = tenant_with_key(&env, "acme").await;
    for (name, request) in management_calls(&tenant_id) {
        let (status, body) = parts(&dispatch(&env.app, name, request.api_key(&key).build()).await);
        assert_eq!(status, 403, "{name}: {body}");
        assert_eq!(body["code"], "forbidden", "{name}");
    }
    // Nothing was deleted or changed by those attempts.
    let owner = env.user_token("owner-acme", &["acme"]);
    let (status, tenant) = get_tenant_as(&env.app, &owner, &tenant_id).await;
    assert_eq!(status, 200);
    assert_eq!(tenant["use_sandbox"], true);
}

#[tokio::test]
async fn api_key_of_another_tenant_is_forbidden_and_reveals_nothing() {
    let env = TestEnv::new().await;
    let (_tenant_a, key_a) = tenant_with_key(&env, "alpha").await;
    let owner_b = env.user_token("owner-bravo", &["bravo"]);
    let tenant_b = env
        .create_tenant(&owner_b, json!({"org_id": "bravo", "bundle_id": "com.bravo.secret", "team_id": "BRAVO12345", "key_id": "BRAVOKEY01", "private_key": notify_tests::keys::apns_p8()}))
        .await;
    for (name, request) in management_calls(&tenant_b) {
        let (status, body) =
            parts(&dispatch(&env.app, name, request.api_key(&key_a).build()).await);
        assert_eq!(status, 403, "{name}: {body}");
        let text = body.to_string();
        for secret in ["bravo", "BRAVO", &tenant_b] {
            assert!(!text.contains(secret), "{name} leaked {secret}: {text}");
        }
    }
    // Same answer for a tenant that does not exist.
    let (status, body) = get_tenant_by(&env.app, As::Key(&key_a), "tnt_ZZZZZZZZZZZZZZZZZZZZ").await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn malformed_keys_and_bad_checksums_are_401_without_a_database_read() {
    let env = TestEnv::new().await;
    let (tenant_id, key) = tenant_with_key(&env, "acme").await;
    let mut tampered: Vec<char> = key.chars().collect();
    tampered[12] = if tampered[12] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let candidates = [
        "garbage".to_owned(),
        "msk_live_".to_owned(),
        format!("{key}x"),
        key.replace("msk_live_", "msk_test_"),
        tampered,
        "msk_live_ÄÖÜ".to_owned(),
    ];
    for candidate in &candidates {
        for (name, request) in management_calls(&tenant_id) {
            let before = env.dynamodb_calls();
            let response = dispatch(
                &env.app,
                name,
                request.header("x-api-key", candidate).build(),
            )
            .await;
            let (status, body) = parts(&response);
            assert_eq!(status, 401, "{name} with {candidate:?}: {body}");
            assert_eq!(
                env.dynamodb_calls(),
                before,
                "{name} read DynamoDB for {candidate:?}"
            );
        }
    }
}

fn forged(header: Value, claims: Value, signature: &str) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{signature}",
        engine.encode(header.to_string()),
        engine.encode(claims.to_string())
    )
}

#[tokio::test]
async fn expired_wrongly_signed_unsigned_and_garbage_tokens_are_401() {
    let env = TestEnv::new().await;
    let (tenant_id, _) = tenant_of(&env, "owner", "acme").await;
    let exp = chrono::Utc::now().timestamp() + 3600;
    let tokens = [
        ("expired", env.expired_token("owner", &["acme"], 600)),
        (
            "wrong secret",
            env.token_with("owner", &["acme"], 3600, b"not-the-signing-secret"),
        ),
        (
            "alg none",
            forged(
                json!({"alg": "none", "typ": "JWT"}),
                json!({"sub": "owner", "orgs": ["acme"], "exp": exp}),
                "",
            ),
        ),
        (
            "alg HS512",
            forged(
                json!({"alg": "HS512", "typ": "JWT"}),
                json!({"sub": "owner", "exp": exp}),
                "c2ln",
            ),
        ),
        (
            "empty sub",
            env.token_with("", &["acme"], 3600, env.signing_secret()),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (label, token) in &tokens {
        for (name, request) in management_calls(&tenant_id) {
            let (status, body) =
                parts(&dispatch(&env.app, name, request.bearer(token).build()).await);
            assert_eq!(status, 401, "{label} on {name}: {body}");
        }
        let (status, _) = validate(&env, |call| call.bearer(token)).await;
        assert_eq!(status, 401, "{label} on /auth/validate");
    }
    let basic = call("GET", "/tenants/{tenant_id}")
        .param("tenant_id", &tenant_id)
        .header("authorization", "Basic abc");
    let (status, body) = parts(&tenant_get::handle(&env.app, basic.build()).await);
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn requests_without_credentials_are_401() {
    let env = TestEnv::new().await;
    for (name, request) in management_calls("tnt_AAAAAAAAAAAAAAAAAAAA") {
        let (status, body) = parts(&dispatch(&env.app, name, request.build()).await);
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-API-Key"));
    }
    let (status, _) = validate(&env, |call| call).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn auth_validate_describes_a_user_and_refuses_api_keys() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme", "globex"]);
    let (status, body) = validate(&env, |call| call.bearer(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"valid": true, "user_id": "alice", "email": "alice@example.com", "orgs": ["acme", "globex"]})
    );

    let (_, key) = tenant_with_key(&env, "acme").await;
    let (status, _) = validate(&env, |call| call.api_key(&key)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn health_needs_no_credential() {
    let (status, body) = parts(&health::handle(call("GET", "/health").build()).await);
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "notify");
}

#[tokio::test]
async fn a_key_of_a_deleted_tenant_stops_working_at_once() {
    let env = TestEnv::new().await;
    let (tenant_id, key) = tenant_with_key(&env, "acme").await;
    let owner = env.user_token("owner-acme", &["acme"]);
    // Drop only the tenant item, as the first step of a deletion does.
    assert!(env
        .app
        .store
        .delete_tenant(&tenant_id)
        .await
        .unwrap_or(false));
    let (status, _) = get_tenant_by(&env.app, As::Key(&key), &tenant_id).await;
    assert_eq!(status, 401);
    let (status, _) = get_tenant_as(&env.app, &owner, &tenant_id).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn last_used_at_is_recorded_without_a_write_on_every_request() {
    let env = TestEnv::new().await;
    let (tenant_id, key) = tenant_with_key(&env, "acme").await;
    let owner = env.user_token("owner-acme", &["acme"]);
    let use_key = || {
        call("GET", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .api_key(&key)
            .build()
    };

    let before = env.dynamodb_calls();
    tenant_get::handle(&env.app, use_key()).await;
    let first = env.dynamodb_calls() - before;
    let before = env.dynamodb_calls();
    tenant_get::handle(&env.app, use_key()).await;
    let second = env.dynamodb_calls() - before;
    // One read (key, tenant and its key rates) and one write: the key's
    // usage window, which counts the request and enforces its rate (the
    // tenant's one key cannot exceed the tenant's rate: no lease);
    // last_used_at is not written again.
    assert_eq!(second, 2, "a recent use must cost one read and one write");
    assert!(first > second, "the first use records last_used_at");

    let (_, listed) = list_keys(&env.app, As::User(&owner), &tenant_id).await;
    let last_used = listed["keys"][0]["last_used_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(last_used.ends_with('Z'), "{listed}");
}
