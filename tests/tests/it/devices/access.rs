//! Who may call the device endpoints: API key scopes, another tenant's
//! key, and users outside the tenant's org.

use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{
    apns_tenant, assert_detail_names, assert_error, device, key_with, Devices, OwnedTenant,
};
use notify_tests::keys::service_account;
use notify_tests::TestEnv;
use serde_json::json;

#[tokio::test]
async fn an_api_key_with_the_devices_scope_registers_lists_and_unregisters() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["devices"])).await;
    let by_key = Devices::key(&acme.env, &key, &acme.tenant_id);
    let token = ios_token(3);
    let (status, device) = by_key.register(device("u1", &token, "ios")).await;
    assert_eq!(status, 200, "{device}");
    let listed = by_key.list(Some("u1")).await;
    assert_eq!(listed, (200, json!({"devices": [device]})));
    let deleted = by_key.unregister(&token, Some("u1")).await;
    assert_eq!(deleted, (200, json!({"deleted": true})));
}

#[tokio::test]
async fn an_api_key_with_only_the_send_scope_is_forbidden_on_devices() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["send"])).await;
    let (by_key, by_owner) = (
        Devices::key(&acme.env, &key, &acme.tenant_id),
        Devices::user(&acme.env, &acme.owner, &acme.tenant_id),
    );
    let device = device("u1", &ios_token(1), "ios");
    let (status, body) = by_key.register(device.clone()).await;
    assert_error((status, &body), 403, "forbidden");
    assert_detail_names(&body, "`devices`");
    let (status, _) = by_key.list(Some("u1")).await;
    assert_eq!(status, 403);
    // A device registered by the owner cannot be removed with this key.
    by_owner.register(device).await;
    let (status, _) = by_key.unregister(&ios_token(1), Some("u1")).await;
    assert_eq!(status, 403);
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_api_key_with_only_the_devices_scope_is_forbidden_on_notify() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["devices"])).await;
    let (status, body) = Devices::key(&acme.env, &key, &acme.tenant_id)
        .notify(json!({"user_id": "u1", "alert": {"title": "Hi"}}))
        .await;
    assert_error((status, &body), 403, "forbidden");
    assert_detail_names(&body, "`send`");
}

#[tokio::test]
async fn an_api_key_of_another_tenant_can_neither_register_list_unregister_nor_send() {
    let env = TestEnv::new().await;
    let (tenant_a, owner_a) = apns_tenant(&env, "alpha").await;
    let key_a = key_with(&env, &owner_a, &tenant_a, json!(["devices", "send"])).await;
    let owner_b = env.user_token("owner-bravo", &["bravo"]);
    let tenant_b = env
        .create_tenant(
            &owner_b,
            json!({"org_id": "bravo", "fcm_service_account": service_account("bravo-secret")}),
        )
        .await;
    let token = fcm_token(42);
    let by_owner_b = Devices::user(&env, &owner_b, &tenant_b);
    by_owner_b
        .register(device("bravo-user", &token, "android"))
        .await;
    let by_key_a = Devices::key(&env, &key_a, &tenant_b);
    let attempts = [
        by_key_a
            .register(device("bravo-user", &fcm_token(43), "android"))
            .await,
        by_key_a.list(Some("bravo-user")).await,
        by_key_a.unregister(&token, Some("bravo-user")).await,
        by_key_a
            .notify(json!({"user_id": "bravo-user", "alert": {"title": "Hi"}}))
            .await,
    ];
    for (status, body) in attempts {
        assert_eq!(status, 403, "{body}");
        let text = body.to_string();
        for secret in ["bravo", &tenant_b, &token] {
            assert!(!text.contains(secret), "leaked {secret}: {text}");
        }
    }
    let (_, listed) = by_owner_b.list(Some("bravo-user")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_user_outside_the_tenants_org_gets_not_found_on_devices_and_notify() {
    let acme = OwnedTenant::new("acme").await;
    Devices::user(&acme.env, &acme.owner, &acme.tenant_id)
        .register(device("u1", &ios_token(5), "ios"))
        .await;
    let stranger = acme.env.user_token("mallory", &["evil"]);
    let by_stranger = Devices::user(&acme.env, &stranger, &acme.tenant_id);
    let attempts = [
        by_stranger
            .register(device("u1", &ios_token(6), "ios"))
            .await,
        by_stranger.list(Some("u1")).await,
        by_stranger.unregister(&ios_token(5), Some("u1")).await,
        by_stranger
            .notify(json!({"user_id": "u1", "badge": 1}))
            .await,
    ];
    for (status, body) in attempts {
        assert_error((status, &body), 404, "not_found");
        assert!(!body.to_string().contains(&ios_token(5)));
    }
    // A member of another org of the same user does get in.
    let member = acme.env.user_token("mallory", &["evil", "acme"]);
    let (status, _) = Devices::user(&acme.env, &member, &acme.tenant_id)
        .list(Some("u1"))
        .await;
    assert_eq!(status, 200);
}
