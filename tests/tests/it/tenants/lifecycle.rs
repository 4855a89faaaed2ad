//! Deletions interrupted and resumed, and tombstoned tenants.

use super::*;

#[tokio::test]
async fn a_tenant_deletion_interrupted_after_the_tombstone_is_finished_by_a_retried_delete() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let (tenant_id, key) = tenant_with_key_and_devices(&env, &alice).await;
    let faults = Faults::default();
    let faulty = faults.app(&env);
    // DynamoDB fails the deletion's first batch of deletes (the keys).
    faults.fail("BatchWriteItem", 1);
    let (status, body) = delete_tenant_on(&faulty, &alice, &tenant_id).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(faults.pending("BatchWriteItem"), 0);

    // Half deleted: its key already fails, its devices and secret remain.
    let (status, _) = Devices::key(&env, &key, &tenant_id).list(Some("u1")).await;
    assert_eq!(status, 401);
    assert!(env.table_dump().await.contains("DEVICE#"));
    assert!(secret_exists(&env, &tenant_id).await);

    let (status, body) = delete_tenant_on(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": true, "tenant_id": tenant_id}));
    assert_nothing_left_of(&env, &tenant_id).await;
    assert!(!secret_exists(&env, &tenant_id).await);
    let (status, _) = delete_tenant_on(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_tenant_deletion_interrupted_at_its_secret_is_finished_by_a_retried_delete() {
    let env = TestEnv::new().await;
    let alice = env.user_token("alice", &["acme"]);
    let (tenant_id, _) = tenant_with_key_and_devices(&env, &alice).await;
    let faults = Faults::default();
    faults.fail("DeleteSecret", 1);
    let (status, body) = delete_tenant_on(&faults.app(&env), &alice, &tenant_id).await;
    assert_eq!(status, 503, "{body}");
    assert!(secret_exists(&env, &tenant_id).await);
    // Not served while the deletion is unfinished.
    let (status, _) = get_tenant_as(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 404);

    let (status, body) = delete_tenant_on(&env.app, &alice, &tenant_id).await;
    assert_eq!(status, 200, "{body}");
    assert!(!secret_exists(&env, &tenant_id).await);
    assert_nothing_left_of(&env, &tenant_id).await;
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

    let user = As::User(&alice);
    let api_key = As::Key(&key);
    // Keys: 401 like a deleted key; users: 404.
    for (auth, expected) in [(api_key, 401), (user, 404)] {
        assert_eq!(register(&env, &tenant_id, auth, "u2", 7).await, expected);
        let by = Devices::new(&env, auth, &tenant_id);
        let send = json!({"user_id": "u1", "alert": {"title": "hi"}});
        let (status, body) = by.notify(send).await;
        assert_eq!(status, expected, "{body}");
        let bulk = json!({"user_ids": ["u1"], "alert": {"title": "hi"}});
        let (status, body) = by.bulk(bulk).await;
        assert_eq!(status, expected, "{body}");
    }
    // (GET and PATCH through the handlers themselves.)
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
    let (status, _) = create_key(
        &env.app,
        As::User(&alice),
        &tenant_id,
        json!({"name": "late"}),
    )
    .await;
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
        .register_device(&tenant_id, &registration, TokenMoves::Allowed, None)
        .await;
    // moto now and then cancels a transaction for a conflict of its own.
    for _ in 0..3 {
        if matches!(late, Err(Error::NotFound(_))) {
            break;
        }
        late = env
            .app
            .store
            .register_device(&tenant_id, &registration, TokenMoves::Allowed, None)
            .await;
    }
    assert!(matches!(late, Err(Error::NotFound(_))), "{late:?}");
    assert!(!env.table_dump().await.contains("u3"));
}

#[tokio::test]
async fn the_worker_finishes_purging_a_tombstoned_tenant() {
    let rig = BulkRig::start().await;
    let (_, devices) = ios_users(5);
    rig.register(&devices).await;
    assert!(secret_exists(&rig.env, &rig.tenant_id).await);
    let tombstoned = rig
        .env
        .app
        .store
        .tombstone_tenant(&rig.tenant_id, "2026-01-01T00:00:00Z")
        .await;
    assert!(matches!(tombstoned, Ok(Some(_))), "{tombstoned:?}");
    rig.queue_purge().await;
    let rounds = rig.drain().await;
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert_nothing_left_of(&rig.env, &rig.tenant_id).await;
    assert!(!secret_exists(&rig.env, &rig.tenant_id).await);
    // Its tombstone went last: the tenant is gone for a DELETE too.
    let (status, _) = delete_tenant_on(&rig.env.app, &rig.owner, &rig.tenant_id).await;
    assert_eq!(status, 404);
}
