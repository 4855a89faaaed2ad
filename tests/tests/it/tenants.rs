//! Tenants end to end: create, list, get, update, delete, as the contract
//! says; and their lifecycle under hostile timing: deletions interrupted
//! and resumed, tombstoned tenants, changes racing each other and a deletion.

use notify_shared::error::Error;
use notify_shared::model::device::TokenMoves;
use notify_shared::model::tenant::SecretJson;
use notify_shared::model::{RegisterDeviceRequest, Tenant, UpdateTenantRequest};
use notify_shared::service::tenants::update_tenant;
use notify_shared::App;
use notify_tests::delivery::ios_token;
use notify_tests::faults::Gate;
use notify_tests::keys::{apns_p8, service_account, tenant_with_apns};
use notify_tests::{call, parts, BulkRig, Faults, TestEnv};
use serde_json::{json, Value};

#[tokio::test]
async fn a_user_creates_a_tenant_with_apns_credentials_and_gets_the_contract_object() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme"]);
    let response = tenant_create::handle(
        &env.app,
        call("POST", "/tenants")
            .bearer(&token)
            .json(tenant_with_apns("acme"))
            .build(),
    )
    .await;
    let (status, body) = parts(&response);
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
    assert_eq!(keys.len(), 15, "unexpected fields: {keys:?}");
}

#[tokio::test]
async fn org_defaults_to_the_personal_org_of_the_caller() {
    let env = TestEnv::new().await;
    let token = env.user_token("bob", &[]);
    let response = tenant_create::handle(
        &env.app,
        call("POST", "/tenants")
            .bearer(&token)
            .json(json!({"fcm_service_account": service_account("bob-app")}))
            .build(),
    )
    .await;
    let (status, body) = parts(&response);
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
    let response = tenant_create::handle(
        &env.app,
        call("POST", "/tenants")
            .bearer(&token)
            .json(tenant_with_apns("acme"))
            .build(),
    )
    .await;
    let (status, body) = parts(&response);
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
    let alice = env.user_token("alice", &["acme"]);
    let tenant_id = env.create_tenant(&alice, tenant_with_apns("acme")).await;
    let mallory = env.user_token("mallory", &["evil"]);
    let (status, body) = parts(
        &tenant_get::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}")
                .param("tenant_id", &tenant_id)
                .bearer(&mallory)
                .build(),
        )
        .await,
    );
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("acme"));
    let (status, _) = parts(
        &tenant_get::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}")
                .param("tenant_id", "tnt_AAAAAAAAAAAAAAAAAAAA")
                .bearer(&alice)
                .build(),
        )
        .await,
    );
    assert_eq!(status, 404);
}

#[tokio::test]
async fn patch_changes_settings_and_adds_fcm_credentials() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let tenant_id = env.create_tenant(&alice, tenant_with_apns("acme")).await;
    let (status, body) = parts(
        &tenant_update::handle(
            &env.app,
            call("PATCH", "/tenants/{tenant_id}")
                .param("tenant_id", &tenant_id)
                .bearer(&alice)
                .json(json!({"use_sandbox": false, "bundle_id": "com.acme.app2", "fcm_service_account": service_account("acme-prod")}))
                .build(),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["use_sandbox"], false);
    assert_eq!(body["bundle_id"], "com.acme.app2");
    assert_eq!(body["fcm_configured"], true);
    assert_eq!(body["fcm_project_id"], "acme-prod");
    assert_eq!(body["apns_configured"], true);

    let (_, fetched) = parts(
        &tenant_get::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}")
                .param("tenant_id", &tenant_id)
                .bearer(&alice)
                .build(),
        )
        .await,
    );
    assert_eq!(fetched, body);
    // The secret holds both providers' credentials now.
    let stored = env
        .app
        .secrets
        .tenant_credentials(&tenant_id)
        .await
        .ok()
        .unwrap_or_default();
    assert!(stored.apns.is_some() && stored.fcm.is_some());
}

#[tokio::test]
async fn patch_replacing_the_apns_key_needs_all_its_fields() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let tenant_id = env.create_tenant(&alice, tenant_with_apns("acme")).await;
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
    let alice = env.user_token("alice", &["acme"]);
    let tenant_id = env.create_tenant(&alice, tenant_with_apns("acme")).await;
    let key = env
        .create_api_key(&alice, &tenant_id, json!({"name": "backend"}))
        .await;
    let secret_name = format!("{}{tenant_id}", env.tenant_secret_prefix);

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
    let (status, _) = parts(
        &api_key_list::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}/api-keys")
                .param("tenant_id", &tenant_id)
                .api_key(key["key"].as_str().unwrap_or_default())
                .build(),
        )
        .await,
    );
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

fn delete_request(tenant_id: &str, token: &str) -> lambda_http::Request {
    call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", tenant_id)
        .bearer(token)
        .build()
}

/// Registers an iOS device of `user_id` through the endpoint; the status.
async fn register(app: &App, tenant_id: &str, auth: Auth<'_>, user_id: &str, n: usize) -> u16 {
    let request = call("POST", "/tenants/{tenant_id}/devices")
        .param("tenant_id", tenant_id)
        .json(json!({"user_id": user_id, "token": ios_token(n), "platform": "ios"}));
    parts(&device_register::handle(app, auth.on(request).build()).await).0
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    User(&'a str),
    Key(&'a str),
}

impl Auth<'_> {
    fn on(self, request: notify_tests::Call) -> notify_tests::Call {
        match self {
            Auth::User(token) => request.bearer(token),
            Auth::Key(key) => request.api_key(key),
        }
    }
}

/// Whether the tenant's secret exists in Secrets Manager.
async fn secret_exists(env: &TestEnv, tenant_id: &str) -> bool {
    env.secrets
        .describe_secret()
        .secret_id(format!("{}{tenant_id}", env.tenant_secret_prefix))
        .send()
        .await
        .is_ok()
}

/// A tenant with APNs credentials, an API key (`devices` and `send`) and two
/// devices of `u1`.
async fn tenant_with_key_and_devices(env: &TestEnv, owner: &str) -> (String, String) {
    let tenant_id = env.create_tenant(owner, tenant_with_apns("acme")).await;
    let key = env
        .create_api_key(owner, &tenant_id, json!({"name": "backend"}))
        .await["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for n in 0..2 {
        assert_eq!(
            register(&env.app, &tenant_id, Auth::User(owner), "u1", n).await,
            200
        );
    }
    (tenant_id, key)
}

/// Items of the tenant left anywhere in the table (its partition, user
/// index items, key lookup items all name it).
async fn leftovers(env: &TestEnv, tenant_id: &str) -> bool {
    env.table_dump().await.contains(tenant_id)
}

#[tokio::test]
async fn a_tenant_deletion_interrupted_after_the_tombstone_is_finished_by_a_retried_delete() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let (tenant_id, key) = tenant_with_key_and_devices(&env, &alice).await;
    let faults = Faults::default();
    let faulty = faults.app(&env);
    // DynamoDB fails the deletion's first batch of deletes (the keys).
    faults.fail("BatchWriteItem", 1);
    let (status, body) =
        parts(&tenant_delete::handle(&faulty, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 503, "{body}");
    assert_eq!(faults.pending("BatchWriteItem"), 0);

    // Half deleted: its key already fails, its devices and secret remain.
    let (status, _) = parts(
        &device_list::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}/devices")
                .param("tenant_id", &tenant_id)
                .query("user_id", "u1")
                .api_key(&key)
                .build(),
        )
        .await,
    );
    assert_eq!(status, 401);
    assert!(env.table_dump().await.contains("DEVICE#"));
    assert!(secret_exists(&env, &tenant_id).await);

    let (status, body) =
        parts(&tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": true, "tenant_id": tenant_id}));
    assert!(
        !leftovers(&env, &tenant_id).await,
        "{}",
        env.table_dump().await
    );
    assert!(!secret_exists(&env, &tenant_id).await);
    let (status, _) =
        parts(&tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_tenant_deletion_interrupted_at_its_secret_is_finished_by_a_retried_delete() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let (tenant_id, _) = tenant_with_key_and_devices(&env, &alice).await;
    let faults = Faults::default();
    faults.fail("DeleteSecret", 1);
    let (status, body) =
        parts(&tenant_delete::handle(&faults.app(&env), delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 503, "{body}");
    assert!(secret_exists(&env, &tenant_id).await);
    // Not served while the deletion is unfinished.
    let (status, _) = parts(
        &tenant_get::handle(
            &env.app,
            call("GET", "/tenants/{tenant_id}")
                .param("tenant_id", &tenant_id)
                .bearer(&alice)
                .build(),
        )
        .await,
    );
    assert_eq!(status, 404);

    let (status, body) =
        parts(&tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 200, "{body}");
    assert!(!secret_exists(&env, &tenant_id).await);
    assert!(
        !leftovers(&env, &tenant_id).await,
        "{}",
        env.table_dump().await
    );
}

#[tokio::test]
async fn a_tombstoned_tenant_serves_nothing() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let (tenant_id, key) = tenant_with_key_and_devices(&env, &alice).await;
    // The first step of a deletion, and nothing after it.
    let tombstoned = env
        .app
        .store
        .tombstone_tenant(&tenant_id, "2026-01-01T00:00:00Z")
        .await;
    assert!(matches!(tombstoned, Ok(Some(_))), "{tombstoned:?}");

    let user = Auth::User(&alice);
    let api_key = Auth::Key(&key);
    let delivery = env.delivery();
    // Keys: 401 like a deleted key; users: 404.
    for (auth, expected) in [(api_key, 401), (user, 404)] {
        assert_eq!(
            register(&env.app, &tenant_id, auth, "u2", 7).await,
            expected
        );
        let send = call("POST", "/tenants/{tenant_id}/notify")
            .param("tenant_id", &tenant_id)
            .json(json!({"user_id": "u1", "alert": {"title": "hi"}}));
        let (status, body) =
            parts(&notify_send::handle(&env.app, &delivery, auth.on(send).build()).await);
        assert_eq!(status, expected, "{body}");
        let bulk = call("POST", "/tenants/{tenant_id}/notify/bulk")
            .param("tenant_id", &tenant_id)
            .json(json!({"user_ids": ["u1"], "alert": {"title": "hi"}}));
        let (status, body) = parts(&notify_bulk::handle(&env.app, auth.on(bulk).build()).await);
        assert_eq!(status, expected, "{body}");
    }
    for request in [
        call("GET", "/tenants/{tenant_id}"),
        call("PATCH", "/tenants/{tenant_id}").json(json!({"use_sandbox": false})),
    ] {
        let request = request
            .param("tenant_id", &tenant_id)
            .bearer(&alice)
            .build();
        let response = if request.method() == "GET" {
            tenant_get::handle(&env.app, request).await
        } else {
            tenant_update::handle(&env.app, request).await
        };
        assert_eq!(parts(&response).0, 404);
    }
    let (status, _) = parts(
        &api_key_create::handle(
            &env.app,
            call("POST", "/tenants/{tenant_id}/api-keys")
                .param("tenant_id", &tenant_id)
                .bearer(&alice)
                .json(json!({"name": "late"}))
                .build(),
        )
        .await,
    );
    assert_eq!(status, 404);
    // An eventually consistent index: polled until the deletion shows.
    notify_tests::eventually("the tenant list after the deletion", || async {
        let (status, body) = parts(
            &tenant_list::handle(&env.app, call("GET", "/tenants").bearer(&alice).build()).await,
        );
        if status == 200 && body["tenants"] == json!([]) {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    // A request authorised a moment before the tombstone cannot write either.
    let registration = serde_json::from_value::<RegisterDeviceRequest>(
        json!({"user_id": "u3", "token": ios_token(9), "platform": "ios"}),
    )
    .map_err(|err| err.to_string())
    .and_then(|request| request.validate().map_err(|err| err.to_string()))
    .unwrap_or_else(|err| panic!("registration: {err}"));
    let mut late = env
        .app
        .store
        .register_device(&tenant_id, &registration, TokenMoves::Allowed)
        .await;
    // moto now and then cancels a transaction for a conflict of its own.
    for _ in 0..3 {
        if matches!(late, Err(Error::NotFound(_))) {
            break;
        }
        late = env
            .app
            .store
            .register_device(&tenant_id, &registration, TokenMoves::Allowed)
            .await;
    }
    assert!(matches!(late, Err(Error::NotFound(_))), "{late:?}");
    assert!(!env.table_dump().await.contains("u3"));
}

#[tokio::test]
async fn the_worker_finishes_purging_a_tombstoned_tenant() {
    let rig = BulkRig::start().await;
    let users: Vec<String> = (0..5).map(|n| format!("user-{n}")).collect();
    let devices: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(n, user)| {
            (
                user.clone(),
                ios_token(n),
                notify_shared::model::Platform::Ios,
            )
        })
        .collect();
    rig.register(&devices).await;
    assert!(secret_exists(&rig.env, &rig.tenant_id).await);
    let tombstoned = rig
        .env
        .app
        .store
        .tombstone_tenant(&rig.tenant_id, "2026-01-01T00:00:00Z")
        .await;
    assert!(matches!(tombstoned, Ok(Some(_))), "{tombstoned:?}");
    rig.send_raw(&format!(
        r#"{{"kind":"purge_tenant","tenant_id":"{}"}}"#,
        rig.tenant_id
    ))
    .await;
    let rounds = rig.drain().await;
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert!(
        !leftovers(&rig.env, &rig.tenant_id).await,
        "{}",
        rig.env.table_dump().await
    );
    assert!(!secret_exists(&rig.env, &rig.tenant_id).await);
    // Its tombstone went last: the tenant is gone for a DELETE too.
    let (status, _) = parts(
        &tenant_delete::handle(&rig.env.app, delete_request(&rig.tenant_id, &rig.owner)).await,
    );
    assert_eq!(status, 404);
}

fn fcm_patch(project_id: &str) -> UpdateTenantRequest {
    UpdateTenantRequest {
        fcm_service_account: Some(SecretJson::new(service_account(project_id))),
        ..UpdateTenantRequest::default()
    }
}

async fn read_tenant(env: &TestEnv, tenant_id: &str) -> Tenant {
    env.app
        .store
        .get_tenant(tenant_id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("tenant {tenant_id} not found"))
}

#[tokio::test]
async fn a_patch_racing_a_delete_does_not_recreate_the_secret() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    // No credentials yet: no secret; the PATCH would create it.
    let tenant_id = env.create_tenant(&alice, json!({"org_id": "acme"})).await;
    assert_eq!(env.tenant_secret_count().await, 0);
    // The PATCH read the tenant, then the DELETE ran to its end.
    let read_before_delete = read_tenant(&env, &tenant_id).await;
    let (status, body) =
        parts(&tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 200, "{body}");

    let patched = update_tenant(&env.app, read_before_delete, fcm_patch("late-project")).await;
    assert!(matches!(patched, Err(Error::NotFound(_))), "{patched:?}");
    assert_eq!(
        env.tenant_secret_count().await,
        0,
        "the deleted tenant's secret came back"
    );
    assert!(
        !leftovers(&env, &tenant_id).await,
        "{}",
        env.table_dump().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_a_patch_in_flight_leaves_no_secret_once_the_patch_ends() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    // No credentials yet: the PATCH will create the secret.
    let tenant_id = env.create_tenant(&alice, json!({"org_id": "acme"})).await;
    let read = read_tenant(&env, &tenant_id).await;
    // The PATCH claims the tenant, then stops at its first secret call...
    let gate = Gate::new("GetSecretValue");
    let gated = gate.app(&env);
    let patch = tokio::spawn(async move { update_tenant(&gated, read, fcm_patch("acme-b")).await });
    gate.reached().await;
    // ...when the DELETE runs: the tenant stops serving at once, but the
    // deletion cannot end while the PATCH may still write the secret.
    let response = tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await;
    let retry_after = response.headers().get("retry-after").cloned();
    let (status, body) = parts(&response);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "tenant_changing");
    assert!(retry_after.is_some());
    // The PATCH goes on, writes the secret, finds the tenant deleted, and
    // takes the secret back.
    gate.open();
    let patched = patch.await.unwrap_or_else(|err| panic!("{err}"));
    assert!(matches!(patched, Err(Error::NotFound(_))), "{patched:?}");
    assert_eq!(env.tenant_secret_count().await, 0);
    // The retried DELETE need not wait for the claim to lapse.
    let (status, body) =
        parts(&tenant_delete::handle(&env.app, delete_request(&tenant_id, &alice)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(env.tenant_secret_count().await, 0);
    assert!(
        !leftovers(&env, &tenant_id).await,
        "{}",
        env.table_dump().await
    );
}

#[tokio::test]
async fn concurrent_patches_leave_the_tenant_and_its_secret_in_agreement() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let mut body = tenant_with_apns("acme");
    body["fcm_service_account"] = service_account("acme-a");
    let tenant_id = env.create_tenant(&alice, body).await;
    // Both PATCHes read the tenant before either wrote.
    let read = read_tenant(&env, &tenant_id).await;
    let new_key = UpdateTenantRequest {
        team_id: Some("ZYXWV98765".to_owned()),
        key_id: Some("NEWKEY0001".to_owned()),
        private_key: Some(apns_p8().into()),
        ..UpdateTenantRequest::default()
    };
    let (first, second) = tokio::join!(
        update_tenant(&env.app, read.clone(), new_key),
        update_tenant(&env.app, read, fcm_patch("acme-b")),
    );
    let outcomes = [&first, &second];
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        1,
        "{first:?} {second:?}"
    );
    let lost = outcomes
        .iter()
        .find_map(|outcome| outcome.as_ref().err())
        .unwrap_or_else(|| panic!("one PATCH must lose"));
    assert_eq!(
        (lost.status().as_u16(), lost.code()),
        (409, "tenant_changed")
    );

    let stored = read_tenant(&env, &tenant_id).await;
    let secret = env
        .app
        .secrets
        .tenant_credentials(&tenant_id)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let apns = secret.apns.as_ref();
    let fcm = secret.fcm.as_ref();
    assert_eq!(stored.apns_configured, apns.is_some());
    assert_eq!(
        stored.team_id.as_deref(),
        apns.map(|key| key.team_id.as_str())
    );
    assert_eq!(
        stored.key_id.as_deref(),
        apns.map(|key| key.key_id.as_str())
    );
    assert_eq!(stored.fcm_configured, fcm.is_some());
    assert_eq!(
        stored.fcm_project_id.as_deref(),
        fcm.map(|account| account.project_id.as_str())
    );
    // The winner's change is what both hold.
    let winner: Value =
        serde_json::to_value(first.as_ref().or(second.as_ref()).ok()).unwrap_or_default();
    assert_eq!(serde_json::to_value(&stored).unwrap_or_default(), winner);
}

#[tokio::test]
async fn a_patch_from_a_stale_read_gets_409_and_changes_nothing() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let tenant_id = env.create_tenant(&alice, tenant_with_apns("acme")).await;
    let stale = read_tenant(&env, &tenant_id).await;
    let fresh = update_tenant(&env.app, stale.clone(), fcm_patch("acme-a")).await;
    assert!(fresh.is_ok(), "{fresh:?}");
    let late = update_tenant(&env.app, stale, fcm_patch("acme-late")).await;
    assert!(
        matches!(
            &late,
            Err(Error::Busy {
                code: "tenant_changed",
                ..
            })
        ),
        "{late:?}"
    );
    let secret = env.app.secrets.tenant_credentials(&tenant_id).await;
    assert_eq!(
        secret
            .ok()
            .and_then(|s| s.fcm)
            .map(|account| account.project_id),
        Some("acme-a".to_owned())
    );
    assert_eq!(
        read_tenant(&env, &tenant_id)
            .await
            .fcm_project_id
            .as_deref(),
        Some("acme-a")
    );
}
