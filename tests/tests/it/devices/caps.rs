//! The cap of 100 devices per user: at the cap, freeing slots, moving
//! tokens, races, and devices stored before the cap.

use notify_shared::model::Platform;
use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{apns_tenant, device, register_one_by_one, Devices, OwnedTenant};
use notify_tests::{call, parts, TestEnv};
use serde_json::{json, Value};

use super::one_at_a_time::app_with_one_dynamodb_call_at_a_time;

/// Registers `count` devices (`ios_token(first..)`) for `user_id` through
/// the store, one after another.
async fn fill(env: &TestEnv, tenant_id: &str, user_id: &str, first: usize, count: usize) {
    let devices: Vec<_> = (first..first + count)
        .map(|n| (user_id.to_owned(), ios_token(n), Platform::Ios))
        .collect();
    register_one_by_one(env, tenant_id, &devices).await;
}

pub(super) async fn device_count(devices: &Devices<'_>, user_id: &str) -> usize {
    devices.devices_of(user_id).await.len()
}

fn assert_too_many_devices(status: u16, body: &Value) {
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "too_many_devices", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("100") && detail.contains("`user_id`"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_user_cannot_register_a_101st_device() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    fill(&acme.env, &acme.tenant_id, "hoarder", 0, 100).await;
    for (token, platform) in [(ios_token(100), "ios"), (fcm_token(100), "android")] {
        let (status, body) = by_owner.register(device("hoarder", &token, platform)).await;
        assert_too_many_devices(status, &body);
        assert!(
            !acme.env.table_dump().await.contains(&token),
            "{token} stored"
        );
    }
    assert_eq!(device_count(&by_owner, "hoarder").await, 100);
    // Another user of the tenant is not affected.
    by_owner
        .register_ok(device("someone-else", &ios_token(100), "ios"))
        .await;
}

#[tokio::test]
async fn re_registering_an_existing_token_at_the_cap_works() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    fill(&acme.env, &acme.tenant_id, "u1", 0, 100).await;
    let (status, device) = by_owner
        .register(json!({"user_id": "u1", "token": ios_token(42), "platform": "ios", "app_version": "2.0"}))
        .await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["app_version"], "2.0");
    assert_eq!(device_count(&by_owner, "u1").await, 100);
}

#[tokio::test]
async fn unregistering_frees_a_slot() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    fill(&acme.env, &acme.tenant_id, "u1", 0, 100).await;
    let new_device = device("u1", &ios_token(500), "ios");
    let (status, body) = by_owner.register(new_device.clone()).await;
    assert_too_many_devices(status, &body);
    let (status, _) = by_owner.unregister(&ios_token(7), Some("u1")).await;
    assert_eq!(status, 200);
    let (status, body) = by_owner.register(new_device).await;
    assert_eq!(status, 200, "{body}");
    // And exactly one slot.
    let (status, body) = by_owner
        .register(device("u1", &ios_token(501), "ios"))
        .await;
    assert_too_many_devices(status, &body);
}

#[tokio::test]
async fn a_dead_token_removed_by_a_send_frees_a_slot() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    fill(&acme.env, &acme.tenant_id, "u1", 0, 100).await;
    let (_, listed) = by_owner.list(Some("u1")).await;
    let dead: notify_shared::model::Device =
        serde_json::from_value(listed["devices"][3].clone()).unwrap_or_else(|err| panic!("{err}"));
    acme.env
        .app
        .store
        .remove_dead_device(&acme.tenant_id, &dead)
        .await
        .unwrap_or_else(|err| panic!("removing dead device: {err}"));
    by_owner
        .register_ok(device("u1", &ios_token(500), "ios"))
        .await;
    assert_eq!(device_count(&by_owner, "u1").await, 100);
}

#[tokio::test]
async fn a_token_moving_counts_for_its_new_user_and_frees_a_slot_of_the_old_one() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    fill(&acme.env, &acme.tenant_id, "full", 0, 100).await;
    fill(&acme.env, &acme.tenant_id, "other", 100, 1).await;
    // A token of another user cannot move to a user at the cap...
    let (status, body) = by_owner
        .register(device("full", &ios_token(100), "ios"))
        .await;
    assert_too_many_devices(status, &body);
    assert_eq!(device_count(&by_owner, "other").await, 1);
    // ...and a token moving away from that user frees a slot.
    by_owner
        .register_ok(device("other", &ios_token(0), "ios"))
        .await;
    by_owner
        .register_ok(device("full", &ios_token(100), "ios"))
        .await;
    assert_eq!(device_count(&by_owner, "full").await, 100);
    assert_eq!(device_count(&by_owner, "other").await, 1);
}

#[tokio::test]
async fn concurrent_registrations_never_exceed_the_cap() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = apns_tenant(&env, "acme").await;
    fill(&env, &tenant_id, "u1", 0, 95).await;
    let app = app_with_one_dynamodb_call_at_a_time(&env);
    let attempts = (0..20).map(|n| {
        let request = call("POST", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &tenant_id)
            .bearer(&owner)
            .json(device("u1", &ios_token(1000 + n), "ios"))
            .build();
        let app = &app;
        async move { parts(&device_register::handle(app, request).await) }
    });
    let answers = futures::future::join_all(attempts).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_too_many_devices(*status, body);
    }
    assert_eq!(accepted, 5, "{answers:?}");
    let by_owner = Devices::user(&env, &owner, &tenant_id);
    assert_eq!(device_count(&by_owner, "u1").await, 100);
}

#[tokio::test]
async fn devices_from_before_the_cap_are_counted_and_listed_within_bounds() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    // 250 devices of one user written straight into the table, as data
    // from before the cap would be (the first, of another user, is the
    // template and goes through the store). A listing reads both caps (100
    // devices, 100 activity tokens) and a margin of 10.
    let mut devices = vec![("template-user".to_owned(), ios_token(9999), Platform::Ios)];
    devices.extend((0..250).map(|n| ("old-user".to_owned(), ios_token(n), Platform::Ios)));
    acme.env
        .register_devices_fast_without_counts(&acme.tenant_id, &devices)
        .await;
    assert_eq!(device_count(&by_owner, "old-user").await, 210);
    let (status, body) = by_owner
        .register(device("old-user", &ios_token(500), "ios"))
        .await;
    assert_too_many_devices(status, &body);
    // Re-registering one of them still works.
    by_owner
        .register_ok(device("old-user", &ios_token(3), "ios"))
        .await;
}
