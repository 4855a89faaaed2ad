//! Changes racing each other and a deletion.

use super::*;

#[tokio::test]
async fn a_patch_racing_a_delete_does_not_recreate_the_secret() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    // No credentials yet: no secret; the PATCH would create it.
    let tenant_id = env.create_tenant(&alice, json!({"org_id": "acme"})).await;
    assert_eq!(env.tenant_secret_count().await, 0);
    // The PATCH read the tenant, then the DELETE ran to its end.
    let read_before_delete = read_tenant(&env, &tenant_id).await;
    let (status, body) = delete_tenant_on(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 200, "{body}");

    let patched = update_tenant(&env.app, read_before_delete, fcm_patch("late-project")).await;
    assert!(matches!(patched, Err(Error::NotFound(_))), "{patched:?}");
    assert_eq!(
        env.tenant_secret_count().await,
        0,
        "the deleted tenant's secret came back"
    );
    assert_nothing_left_of(&env, &tenant_id).await;
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
    let (status, body) = delete_tenant_on(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(env.tenant_secret_count().await, 0);
    assert_nothing_left_of(&env, &tenant_id).await;
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
    let shown = stored.shown(env.app.config.tenant_limits);
    assert_eq!(serde_json::to_value(&shown).unwrap_or_default(), winner);
}

#[tokio::test]
async fn a_patch_from_a_stale_read_gets_409_and_changes_nothing() {
    let env = TestEnv::new().await;
    let (tenant_id, _) = tenant_of(&env, "alice", "acme").await;
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
