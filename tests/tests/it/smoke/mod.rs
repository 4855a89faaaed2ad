//! Smoke test through the real local stack: HTTP at the API Gateway paths of
//! `cargo lambda watch`, the push simulator, the SQS trigger and the worker.
//! `scripts/test` runs it between `scripts/dev up --detach` and
//! `scripts/dev down`, with the exports of `scripts/dev env`.

mod audiences;
mod faults;
mod load;
mod webpush;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Stack {
    http: reqwest::Client,
    api: String,
    simulator: String,
    user_token: String,
}

fn variable(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run through scripts/test (or eval \"$(scripts/dev env)\")")
    })
}

impl Stack {
    fn from_env() -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_else(|err| panic!("HTTP client: {err}")),
            api: variable("NOTIFY_API_URL"),
            simulator: variable("NOTIFY_SIMULATOR_URL"),
            user_token: variable("NOTIFY_USER_TOKEN"),
        }
    }

    /// Sends a request and returns status and JSON body.
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("request failed: {err}"));
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    fn as_user(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.user_token)
    }

    fn with_key(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api))
            .header("x-api-key", key)
    }

    async fn deliveries(&self, token: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                self.http
                    .get(format!("{}/deliveries", self.simulator))
                    .query(&[("token", token)]),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }
}

fn hex_token() -> String {
    let mut token = uuid::Uuid::new_v4().simple().to_string();
    token.push_str(&uuid::Uuid::new_v4().simple().to_string());
    token
}

fn fcm_token() -> String {
    format!(
        "smoke{}:APA91b{}",
        uuid::Uuid::new_v4().simple(),
        "x".repeat(120)
    )
}

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn the_walkthrough_works_end_to_end_through_the_local_stack() {
    use reqwest::Method;
    let stack = Stack::from_env();

    let (status, health) = stack
        .send(stack.http.get(format!("{}/health", stack.api)))
        .await;
    assert_eq!(
        (status, health["status"].as_str()),
        (200, Some("ok")),
        "{health}"
    );
    let (status, who) = stack
        .send(stack.as_user(Method::GET, "/auth/validate"))
        .await;
    assert_eq!(status, 200, "{who}");
    let org = who["orgs"][0].as_str().unwrap_or_default().to_owned();
    assert!(!org.is_empty(), "the dev token has an org: {who}");

    // A tenant whose APNs and FCM credentials point at the simulator.
    let (status, mut credentials) = stack
        .send(
            stack
                .http
                .post(format!("{}/admin/credentials", stack.simulator))
                .json(&json!({"bundle_id": "com.example.smoke"})),
        )
        .await;
    assert_eq!(status, 200, "{credentials}");
    credentials["org_id"] = json!(org);
    credentials["use_sandbox"] = json!(true);
    let (status, tenant) = stack
        .send(stack.as_user(Method::POST, "/tenants").json(&credentials))
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(
        (
            tenant["apns_configured"].as_bool(),
            tenant["fcm_configured"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let tenant_id = tenant["tenant_id"].as_str().unwrap_or_default().to_owned();
    let base = format!("/tenants/{tenant_id}");

    let (status, created) = stack
        .send(
            stack
                .as_user(Method::POST, &format!("{base}/api-keys"))
                .json(&json!({"name": "smoke"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    let (status, keys) = stack
        .send(stack.as_user(Method::GET, &format!("{base}/api-keys")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys["keys"][0]["prefix"], created["prefix"]);
    assert!(!keys.to_string().contains(&key), "a listing showed the key");

    // Devices, registered by the backend with its API key.
    let (ios, android) = (hex_token(), fcm_token());
    for (token, platform) in [(&ios, "ios"), (&android, "android")] {
        let body = json!({"user_id": "smoke-user", "token": token, "platform": platform, "app_version": "1.0.0"});
        let (status, device) = stack
            .send(
                stack
                    .with_key(Method::POST, &format!("{base}/devices"), &key)
                    .json(&body),
            )
            .await;
        assert_eq!(status, 200, "{device}");
    }

    // One user, inline.
    let push = json!({"user_id": "smoke-user", "alert": {"title": "Hello", "body": "from the smoke test"}, "data": {"n": "1"}});
    let (status, sent) = stack
        .send(
            stack
                .with_key(Method::POST, &format!("{base}/notify"), &key)
                .json(&push),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        (sent["success"].as_bool(), sent["delivered"].as_u64()),
        (Some(true), Some(2)),
        "{sent}"
    );
    assert_eq!(stack.deliveries(&ios).await.len(), 1);
    assert_eq!(stack.deliveries(&android).await.len(), 1);

    // Bulk, through SQS, the trigger and the worker.
    let bulk = json!({"user_ids": ["smoke-user", "nobody"], "alert": {"title": "Bulk"}});
    let (status, batch) = stack
        .send(
            stack
                .with_key(Method::POST, &format!("{base}/notify/bulk"), &key)
                .json(&bulk),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["status"], "queued");
    let batch_id = batch["batch_id"].as_str().unwrap_or_default().to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    let progress = loop {
        let (status, progress) = stack
            .send(stack.with_key(Method::GET, &format!("{base}/notify/bulk/{batch_id}"), &key))
            .await;
        assert_eq!(status, 200, "{progress}");
        if progress["status"] == "done" || Instant::now() > deadline {
            break progress;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(progress["status"], "done", "{progress}");
    assert_eq!(
        (
            progress["delivered"].as_u64(),
            progress["no_devices"].as_u64()
        ),
        (Some(1), Some(1)),
        "{progress}"
    );
    assert_eq!(stack.deliveries(&ios).await.len(), 2);
    assert_eq!(stack.deliveries(&android).await.len(), 2);

    // A deleted key fails on the very next request; the tenant goes.
    let key_id = created["key_id"].as_str().unwrap_or_default();
    let (status, _) = stack
        .send(stack.as_user(Method::DELETE, &format!("{base}/api-keys/{key_id}")))
        .await;
    assert_eq!(status, 200);
    let (status, _) = stack
        .send(stack.with_key(
            Method::GET,
            &format!("{base}/devices?user_id=smoke-user"),
            &key,
        ))
        .await;
    assert_eq!(status, 401);
    let (status, deleted) = stack.send(stack.as_user(Method::DELETE, &base)).await;
    assert_eq!((status, deleted["deleted"].as_bool()), (200, Some(true)));
    let (status, _) = stack.send(stack.as_user(Method::GET, &base)).await;
    assert_eq!(status, 404);
}
