//! Create, list, get, update and delete, as the contract says.

use super::*;

#[tokio::test]
async fn a_user_creates_a_tenant_with_apns_credentials_and_gets_the_contract_object() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme"]);
    let (status, body) = create_tenant_as(&env.app, &token, tenant_with_apns("acme")).await;
    assert_eq!(status, 200, "{body}");
    let tenant_id = body["tenant_id"].as_str().unwrap_or_default();
    assert!(
        tenant_id.starts_with("tnt_") && tenant_id.len() == 24,
        "{tenant_id}"
    );
    assert_eq!(body["org_id"], "acme");
    assert_eq!(body["bundle_id"], "com.acme.app");
    assert_eq!(body["team_id"], "ABCDE12345");
    assert_eq!(body["key_id"], "KEY1234567");
    assert_eq!(body["use_sandbox"], true);
    assert_eq!(body["apns_configured"], true);
    assert_eq!(body["fcm_configured"], false);
    assert_eq!(body["fcm_project_id"], serde_json::Value::Null);
    assert_eq!(body["created_by"], "alice");
    assert!(body["created_at"]
        .as_str()
        .unwrap_or_default()
        .ends_with('Z'));
    assert!(body.get("private_key").is_none());
    assert_eq!(body["web_push_configured"], false);
    assert_eq!(body["vapid_public_key"], serde_json::Value::Null);
    assert_eq!(body["user_verification"], false);
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        body["limits"],
        serde_json::json!({"requests_per_second": 1000, "pushes_per_day": 10_000_000, "devices": 10_000_000}),
        "the deployment's defaults"
    );
    assert_eq!(keys.len(), 16, "unexpected fields: {keys:?}");
}

#[tokio::test]
async fn org_defaults_to_the_personal_org_of_the_caller() {
    let env = TestEnv::new().await;
    let token = env.user_token("bob", &[]);
    let (status, body) = create_tenant_as(
        &env.app,
        &token,
        json!({"fcm_service_account": service_account("bob-app")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["org_id"], "bob");
    assert_eq!(body["fcm_configured"], true);
    assert_eq!(body["fcm_project_id"], "bob-app");
    assert_eq!(body["apns_configured"], false);
}

#[tokio::test]
async fn creating_a_tenant_in_an_org_the_user_is_not_in_is_forbidden() {
    let env = TestEnv::new().await;
    let token = env.user_token("mallory", &["evil"]);
    let (status, body) = create_tenant_as(&env.app, &token, tenant_with_apns("acme")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    assert!(
        !env.table_dump().await.contains("TENANT#"),
        "a tenant was stored"
    );
}

#[tokio::test]
async fn tenants_are_listed_per_org_and_across_the_callers_orgs() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme", "globex"]);
    let acme = env.create_tenant(&alice, tenant_with_apns("acme")).await;
    let globex = env.create_tenant(&alice, tenant_with_apns("globex")).await;
    let carol = env.user_token("carol", &["initech"]);
    env.create_tenant(&carol, tenant_with_apns("initech")).await;

    let list = |token: &str, org: Option<&str>| {
        let mut request = call("GET", "/tenants").bearer(token);
        if let Some(org) = org {
            request = request.query("org_id", org);
        }
        request.build()
    };
    // The list reads an eventually consistent index: polled until it shows
    // the new tenants.
    let listed = |org: Option<&'static str>, expected: Vec<String>| {
        let (env, alice, list) = (&env, &alice, &list);
        notify_tests::eventually("the tenant list", move || {
            let expected = expected.clone();
            async move {
                let (status, body) = parts(&tenant_list::handle(&env.app, list(alice, org)).await);
                let mut ids: Vec<String> = body["tenants"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|t| t["tenant_id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                ids.sort_unstable();
                if status == 200 && ids == expected {
                    Ok(())
                } else {
                    Err(format!("{status} {body}"))
                }
            }
        })
    };
    listed(Some("acme"), vec![acme.clone()]).await;
    let mut expected = vec![acme.clone(), globex.clone()];
    expected.sort_unstable();
    listed(None, expected).await;

    let (status, body) = parts(&tenant_list::handle(&env.app, list(&carol, Some("acme"))).await);
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn a_tenant_outside_the_users_orgs_is_not_found_and_not_revealed() {
    let env = TestEnv::new().await;
    let (tenant_id, alice) = tenant_of(&env, "alice", "acme").await;
    let mallory = env.user_token("mallory", &["evil"]);
    let (status, body) = get_tenant_as(&env.app, &mallory, &tenant_id).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("acme"));
    let (status, _) = get_tenant_as(&env.app, &alice, "tnt_AAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn patch_changes_settings_and_adds_fcm_credentials() {
    let env = TestEnv::new().await;
    let (tenant_id, alice) = tenant_of(&env, "alice", "acme").await;
    let patch = json!({"use_sandbox": false, "bundle_id": "com.acme.app2", "fcm_service_account": service_account("acme-prod")});
    let (status, body) = patch_tenant(&env, &alice, &tenant_id, patch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["use_sandbox"], false);
    assert_eq!(body["bundle_id"], "com.acme.app2");
    assert_eq!(body["fcm_configured"], true);
    assert_eq!(body["fcm_project_id"], "acme-prod");
    assert_eq!(body["apns_configured"], true);

    let (_, fetched) = get_tenant_as(&env.app, &alice, &tenant_id).await;
    assert_eq!(fetched, body);
    // The secret holds both providers' credentials now.
    let stored = stored_credentials(&env, &tenant_id).await;
    assert!(stored.apns.is_some() && stored.fcm.is_some());
}

#[tokio::test]
async fn patch_replacing_the_apns_key_needs_all_its_fields() {
    let env = TestEnv::new().await;
    let (tenant_id, alice) = tenant_of(&env, "alice", "acme").await;
    let patch = |body| {
        call("PATCH", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&alice)
            .json(body)
            .build()
    };
    let (status, body) =
        parts(&tenant_update::handle(&env.app, patch(json!({"private_key": apns_p8()}))).await);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`team_id`"),
        "{body}"
    );

    let (status, body) = parts(
        &tenant_update::handle(
            &env.app,
            patch(
                json!({"team_id": "ZYXWV98765", "key_id": "NEWKEY0001", "private_key": apns_p8()}),
            ),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["team_id"], "ZYXWV98765");
    assert_eq!(body["bundle_id"], "com.acme.app");
}

#[tokio::test]
async fn deleting_a_tenant_removes_it_its_keys_and_its_secret() {
    let env = TestEnv::new().await;
    let (tenant_id, alice, key) = tenant_with_key(&env, "alice", "acme", "backend").await;
    let secret_name = tenant_secret_id(&env, &tenant_id);

    let delete = || {
        call("DELETE", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&alice)
            .build()
    };
    let (status, body) = parts(&tenant_delete::handle(&env.app, delete()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": true, "tenant_id": tenant_id}));

    // The key fails at once.
    let key = key["key"].as_str().unwrap_or_default();
    let (status, _) = list_keys(&env.app, As::Key(key), &tenant_id).await;
    assert_eq!(status, 401);
    // Nothing of the tenant is left in the table or in Secrets Manager.
    let dump = env.table_dump().await;
    assert!(!dump.contains(&tenant_id), "left behind: {dump}");
    let secret = env
        .secrets
        .describe_secret()
        .secret_id(&secret_name)
        .send()
        .await;
    assert!(secret.is_err(), "tenant secret still exists");
    // A second delete finds nothing.
    let (status, _) = parts(&tenant_delete::handle(&env.app, delete()).await);
    assert_eq!(status, 404);
}
