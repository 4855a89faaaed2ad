//! User tokens from an identity provider: a Cognito user pool in the
//! emulator (moto signs RS256 and serves its JWKS on loopback), configured
//! with the pool's groups as orgs (`cognito:groups`), beside the
//! deployment's own HS256 tokens in the same app.

use notify_tests::cognito::UserPool;
use notify_tests::flows::{create_tenant_as, get_tenant_as, patch_tenant};
use notify_tests::keys::tenant_with_apns;
use notify_tests::{call, eventually, parts, TestEnv};
use serde_json::{json, Value};

/// `GET /auth/validate`, its `orgs` sorted (a user's groups come in no
/// particular order).
async fn validate(env: &TestEnv, token: &str) -> (u16, Value) {
    let request = call("GET", "/auth/validate").bearer(token).build();
    let (status, mut body) = parts(&auth_validate::handle(&env.app, request).await);
    if let Some(orgs) = body.get_mut("orgs").and_then(Value::as_array_mut) {
        orgs.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    (status, body)
}

/// The ids `GET /tenants?org_id=` lists for `token`, once it lists `expected`.
async fn listed(env: &TestEnv, token: &str, org: &str, expected: &[&str]) {
    eventually("the tenant list", || async {
        let request = call("GET", "/tenants")
            .bearer(token)
            .query("org_id", org)
            .build();
        let (status, body) = parts(&tenant_list::handle(&env.app, request).await);
        let mut ids: Vec<&str> = body["tenants"]
            .as_array()
            .map(|tenants| {
                tenants
                    .iter()
                    .filter_map(|t| t["tenant_id"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        let mut wanted = expected.to_vec();
        wanted.sort_unstable();
        if status == 200 && ids == wanted {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
}

#[tokio::test]
async fn a_cognito_user_manages_the_tenants_of_its_group_and_no_others() {
    let pool = UserPool::create().await;
    let env = TestEnv::with_oidc(pool.oidc_settings()).await;
    let (alice, _) = pool.user("alice", &["acme"]).await;
    let (bob, _) = pool.user("bob", &["other"]).await;

    let (status, created) = create_tenant_as(&env.app, &alice.id, tenant_with_apns("acme")).await;
    assert_eq!(status, 200, "{created}");
    let acme = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    listed(&env, &alice.id, "acme", &[&acme]).await;
    let (status, body) = patch_tenant(&env, &alice.id, &acme, json!({"use_sandbox": false})).await;
    assert_eq!(
        (status, &body["use_sandbox"]),
        (200, &json!(false)),
        "{body}"
    );

    let (status, created) = create_tenant_as(&env.app, &bob.id, tenant_with_apns("other")).await;
    assert_eq!(status, 200, "{created}");
    let other = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    // Another org's tenant is not found for alice, as for any user outside it.
    let (status, body) = get_tenant_as(&env.app, &alice.id, &other).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = patch_tenant(&env, &alice.id, &other, json!({"use_sandbox": false})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = create_tenant_as(&env.app, &alice.id, tenant_with_apns("other")).await;
    assert_eq!(status, 403, "{body}");
    let request = call("GET", "/tenants")
        .bearer(&alice.id)
        .query("org_id", "other");
    let (status, body) = parts(&tenant_list::handle(&env.app, request.build()).await);
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn auth_validate_answers_a_cognito_user_with_its_groups_by_id_and_access_token() {
    let pool = UserPool::create().await;
    let env = TestEnv::with_oidc(pool.oidc_settings()).await;
    let (alice, sub) = pool.user("alice", &["acme", "beta"]).await;

    let (status, body) = validate(&env, &alice.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"valid": true, "user_id": sub, "email": "alice@example.com", "orgs": ["acme", "beta"]})
    );
    // The access token has no `aud` (its `client_id` is the audience) and no email.
    let (status, body) = validate(&env, &alice.access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], json!(sub));
    assert_eq!(body["orgs"], json!(["acme", "beta"]));
}

#[tokio::test]
async fn the_access_token_manages_tenants_like_the_id_token() {
    let pool = UserPool::create().await;
    let env = TestEnv::with_oidc(pool.oidc_settings()).await;
    let (alice, _) = pool.user("alice", &["acme"]).await;
    let (status, created) =
        create_tenant_as(&env.app, &alice.access, tenant_with_apns("acme")).await;
    assert_eq!(status, 200, "{created}");
    let tenant_id = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = get_tenant_as(&env.app, &alice.id, &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    listed(&env, &alice.access, "acme", &[&tenant_id]).await;
}

#[tokio::test]
async fn tokens_of_another_pool_client_are_refused_and_hs256_tokens_still_work() {
    let pool = UserPool::create().await;
    let elsewhere = UserPool::create().await;
    let env = TestEnv::with_oidc(pool.oidc_settings()).await;

    // Same signing key in the emulator, but another issuer and client.
    let (stranger, _) = elsewhere.user("mallory", &["acme"]).await;
    let (status, body) = validate(&env, &stranger.id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("`iss`")),
        "{body}"
    );

    let hs256 = env.user_token("carol", &["acme"]);
    let (status, body) = validate(&env, &hs256).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["orgs"], json!(["acme"]));
    let (status, body) = create_tenant_as(&env.app, &hs256, tenant_with_apns("acme")).await;
    assert_eq!(status, 200, "{body}");
}
