//! Tenants per org are capped (operator-configurable): each tenant with
//! credentials is a Secrets Manager secret the operator pays for (N12).

use notify_tests::flows::create_tenant_as;
use notify_tests::keys::tenant_with_apns;
use notify_tests::{call, parts, TestEnv};
use serde_json::Value;

async fn create(env: &TestEnv, token: &str, body: Value) -> (u16, Value) {
    create_tenant_as(&env.app, token, body).await
}

#[tokio::test]
async fn one_user_cannot_create_more_tenants_than_the_org_cap_and_the_answer_names_it() {
    let mut env = TestEnv::new().await;
    env.app.config.max_tenants_per_org = 3;
    let owner = env.user_token("owner", &["acme"]);
    let mut created = Vec::new();
    for _ in 0..3 {
        let (status, body) = create(&env, &owner, tenant_with_apns("acme")).await;
        assert_eq!(status, 200, "{body}");
        created.push(body["tenant_id"].as_str().unwrap_or_default().to_owned());
    }
    let secrets_before = env.tenant_secret_count().await;
    let (status, body) = create(&env, &owner, tenant_with_apns("acme")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "too_many_tenants", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("(3, `NOTIFY_MAX_TENANTS_PER_ORG`)"),
        "{detail}"
    );
    assert_eq!(
        env.tenant_secret_count().await,
        secrets_before,
        "no secret made"
    );

    // Another org of the same user has its own count.
    let (status, body) = create(&env, &owner, tenant_with_apns("owner")).await;
    assert_eq!(status, 200, "{body}");

    // A deleted tenant frees its place.
    let response = tenant_delete::handle(
        &env.app,
        call("DELETE", "/tenants/{tenant_id}")
            .param("tenant_id", &created[0])
            .bearer(&owner)
            .build(),
    )
    .await;
    assert_eq!(parts(&response).0, 200);
    let (status, body) = create(&env, &owner, tenant_with_apns("acme")).await;
    assert_eq!(status, 200, "{body}");
}
