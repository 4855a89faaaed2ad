//! API keys of a tenant: created and listed through their endpoints.

use aws_sdk_dynamodb::types::AttributeValue;
use notify_shared::App;
use serde_json::{json, Value};

use super::As;
use crate::calls::{call, parts};
use crate::env::TestEnv;

/// A new API key of the tenant with `scopes`: the key itself.
pub async fn key_with(env: &TestEnv, owner: &str, tenant_id: &str, scopes: Value) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": "app", "scopes": scopes}))
        .await;
    created["key"].as_str().unwrap_or_default().to_owned()
}

/// `GET /tenants/{tenant_id}/api-keys` by `who`.
pub async fn list_keys(app: &App, who: As<'_>, tenant_id: &str) -> (u16, Value) {
    let request =
        who.on(call("GET", "/tenants/{tenant_id}/api-keys").param("tenant_id", tenant_id));
    parts(&api_key_list::handle(app, request.build()).await)
}

/// `POST /tenants/{tenant_id}/api-keys` by `who` with `body`.
pub async fn create_key(app: &App, who: As<'_>, tenant_id: &str, body: Value) -> (u16, Value) {
    let request = who
        .on(call("POST", "/tenants/{tenant_id}/api-keys").param("tenant_id", tenant_id))
        .json(body);
    parts(&api_key_create::handle(app, request.build()).await)
}

/// A new API key of the tenant named `name` with `scopes`: the key itself.
pub async fn key_named(
    env: &TestEnv,
    owner: &str,
    tenant_id: &str,
    name: &str,
    scopes: Value,
) -> String {
    let created = env
        .create_api_key(owner, tenant_id, json!({"name": name, "scopes": scopes}))
        .await;
    created["key"].as_str().unwrap_or_default().to_owned()
}

/// The tenant's key rates item (`store::key_rates`): the sum of its keys'
/// rate limits, as stored.
pub async fn key_rate_sum(env: &TestEnv, tenant_id: &str) -> Option<u64> {
    let item = env
        .dynamodb
        .get_item()
        .table_name(&env.table)
        .key("PK", AttributeValue::S(format!("TENANT#{tenant_id}")))
        .key("SK", AttributeValue::S("KEY_RATES".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|err| panic!("reading key rates: {err}"));
    item.item?.get("rate_sum")?.as_n().ok()?.parse().ok()
}
