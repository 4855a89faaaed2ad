//! Web Push through the local stack: a browser subscription made by the
//! simulator gets a decrypted push, and `DELETE .../devices?token=` takes
//! its URL-encoded endpoint in the query string (API Gateway would split a
//! path segment at its `%2F`).

use reqwest::Method;
use serde_json::{json, Value};

use notify_tests::webpush::url_encoded;

use super::Stack;

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn a_browser_subscription_gets_a_decrypted_push_and_unregisters_by_its_encoded_endpoint() {
    let stack = Stack::from_env();
    let (status, who) = stack
        .send(stack.as_user(Method::GET, "/auth/validate"))
        .await;
    assert_eq!(status, 200, "{who}");
    let org = who["orgs"][0].as_str().unwrap_or_default().to_owned();
    let (status, tenant) = stack
        .send(
            stack
                .as_user(Method::POST, "/tenants")
                .json(&json!({"org_id": org, "web_push": {"subject": "mailto:smoke@example.com"}})),
        )
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["web_push_configured"], true, "{tenant}");
    let base = format!(
        "/tenants/{}",
        tenant["tenant_id"].as_str().unwrap_or_default()
    );

    let (status, subscription) = stack
        .send(
            stack
                .http
                .post(format!("{}/admin/web-push-subscriptions", stack.simulator))
                .json(&json!({"application_server_key": tenant["vapid_public_key"]})),
        )
        .await;
    assert_eq!(status, 201, "{subscription}");
    let endpoint = subscription["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, device) = stack
        .send(
            stack
                .as_user(Method::POST, &format!("{base}/devices"))
                .json(&json!({"user_id": "web-user", "platform": "webpush", "subscription": subscription})),
        )
        .await;
    assert_eq!(status, 200, "{device}");

    let (status, sent) = stack
        .send(
            stack
                .as_user(Method::POST, &format!("{base}/notify"))
                .json(&json!({"user_id": "web-user", "alert": {"title": "Hi", "body": "browser"}})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["delivered"], 1, "{sent}");
    let deliveries = stack.deliveries(&endpoint).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(
        deliveries[0]["plaintext"],
        json!({"title": "Hi", "body": "browser", "message_id": sent["message_id"]})
    );

    let path = format!(
        "{base}/devices?token={}&user_id=web-user",
        url_encoded(&endpoint)
    );
    let (status, deleted) = stack.send(stack.as_user(Method::DELETE, &path)).await;
    assert_eq!((status, &deleted), (200, &json!({"deleted": true})));
    let (status, listed) = stack
        .send(stack.as_user(Method::GET, &format!("{base}/devices?user_id=web-user")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["devices"], Value::Array(Vec::new()));
}
