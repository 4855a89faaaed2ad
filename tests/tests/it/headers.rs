//! Repeated headers (AWS audit finding 12). API Gateway's payload 2.0 joins
//! a repeated header's values with commas into one; `cargo lambda watch`
//! passes them as separate values. Credentials and idempotency keys are
//! sent once: both forms answer naming the header (401 for a credential,
//! as every endpoint documents for one it cannot use; 400 for an
//! `Idempotency-Key`), never a key that is two keys glued together.

use notify_tests::flows::tenant_with_key;
use notify_tests::{call, parts, Call, TestEnv};
use serde_json::{json, Value};

struct Tenant {
    env: TestEnv,
    owner: String,
    tenant_id: String,
    key: String,
}

impl Tenant {
    async fn new() -> Self {
        let env = TestEnv::new().await;
        let (tenant_id, owner, created) =
            tenant_with_key(&env, "owner-headers", "headers", "backend").await;
        let key = created["key"].as_str().unwrap_or_default().to_owned();
        Self {
            env,
            owner,
            tenant_id,
            key,
        }
    }

    fn list_devices(&self) -> Call {
        call("GET", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &self.tenant_id)
            .query("user_id", "u1")
    }

    async fn list(&self, request: Call) -> (u16, Value) {
        parts(&device_list::handle(&self.env.app, request.build()).await)
    }
}

fn assert_names_the_header(status: u16, body: &Value, header: &str) {
    let (expected_status, code) = if header == "Idempotency-Key" {
        (400, "invalid_request")
    } else {
        (401, "unauthorized")
    };
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("`{header}`")), "{detail}");
}

#[tokio::test]
async fn an_api_key_sent_twice_is_401_naming_x_api_key_joined_or_repeated() {
    let t = Tenant::new().await;
    let (status, body) = t.list(t.list_devices().api_key(&t.key)).await;
    assert_eq!(status, 200, "{body}");
    // As API Gateway hands it over.
    let joined = format!("{},{}", t.key, t.key);
    let (status, body) = t.list(t.list_devices().api_key(&joined)).await;
    assert_names_the_header(status, &body, "X-API-Key");
    // As the local router hands it over.
    let (status, body) = t
        .list(t.list_devices().api_key(&t.key).api_key(&t.key))
        .await;
    assert_names_the_header(status, &body, "X-API-Key");
}

#[tokio::test]
async fn a_bearer_token_sent_twice_is_401_naming_authorization() {
    let t = Tenant::new().await;
    let joined = format!("Bearer {}, Bearer {}", t.owner, t.owner);
    let request = t.list_devices().header("authorization", &joined);
    let (status, body) = t.list(request).await;
    assert_names_the_header(status, &body, "Authorization");
}

#[tokio::test]
async fn a_comma_joined_idempotency_key_is_400_and_sends_nothing() {
    let t = Tenant::new().await;
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", &t.tenant_id)
        .api_key(&t.key)
        .header("idempotency-key", "order-1,order-2")
        .json(json!({"user_id": "nobody", "alert": {"title": "Hi"}}))
        .build();
    let (status, body) = parts(&notify_send::handle(&t.env.app, &t.env.delivery(), request).await);
    assert_names_the_header(status, &body, "Idempotency-Key");
}
