//! Tenants end to end: create, list, get, update, delete, as the contract
//! says; and their lifecycle under hostile timing: deletions interrupted
//! and resumed, tombstoned tenants, changes racing each other and a deletion.

mod crud;
mod lifecycle;
mod races;

use notify_shared::error::Error;
use notify_shared::model::device::TokenMoves;
use notify_shared::model::tenant::SecretJson;
use notify_shared::model::{RegisterDeviceRequest, Tenant, UpdateTenantRequest};
use notify_shared::service::tenants::update_tenant;
use notify_tests::delivery::ios_token;
use notify_tests::faults::Gate;
use notify_tests::flows::{
    assert_nothing_left_of, create_key, create_tenant_as, delete_tenant_on, device, get_tenant_as,
    ios_users, list_keys, patch_tenant, stored_credentials, tenant_of, tenant_secret_id,
    tenant_with_key, As, Devices,
};
use notify_tests::keys::{apns_p8, service_account, tenant_with_apns};
use notify_tests::{call, parts, BulkRig, Faults, TestEnv};
use serde_json::{json, Value};

fn delete_request(tenant_id: &str, token: &str) -> lambda_http::Request {
    call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", tenant_id)
        .bearer(token)
        .build()
}

/// Registers an iOS device of `user_id` through the endpoint; the status.
async fn register(env: &TestEnv, tenant_id: &str, auth: As<'_>, user_id: &str, n: usize) -> u16 {
    let devices = Devices::new(env, auth, tenant_id);
    devices
        .register(device(user_id, &ios_token(n), "ios"))
        .await
        .0
}

/// Whether the tenant's secret exists in Secrets Manager.
async fn secret_exists(env: &TestEnv, tenant_id: &str) -> bool {
    env.secrets
        .describe_secret()
        .secret_id(tenant_secret_id(env, tenant_id))
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
            register(env, &tenant_id, As::User(owner), "u1", n).await,
            200
        );
    }
    (tenant_id, key)
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
