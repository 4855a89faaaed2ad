//! Web Push to subscriptions that play Apple's, Mozilla's, FCM's and
//! Windows' push services, and to one without HTTP/2: the engine sends what
//! each accepts and reads each one's answers.

use serde_json::{json, Value};

use super::harness::{quick_config, start_with, Harness};
use crate::model::{Alert, Notification, Platform};
use crate::push::{DeliveryOutcome, PushEngine, Target, TargetResult, TenantPush};
use crate::web_push_protocol::{VapidKey, WebPushHosts, WebPushKeys};

async fn start() -> Harness {
    start_with(quick_config(), |endpoints| {
        endpoints.web_push_hosts = WebPushHosts::parse(&endpoints.apns_sandbox).unwrap();
    })
    .await
}

/// A subscription the simulator makes (and decrypts for), bound to `key`.
async fn subscribe(h: &Harness, key: &VapidKey, request: Value) -> Target {
    let mut request = request;
    request["application_server_key"] = json!(key.public_key);
    if request.get("http1_only").is_none() {
        request["origin"] = json!(h.sim.tls_url());
    }
    let made: Value = h
        .admin
        .post(format!("{}/admin/web-push-subscriptions", h.sim.http_url()))
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = |value: &Value| value.as_str().unwrap().to_owned();
    Target {
        token: text(&made["endpoint"]),
        platform: Platform::Webpush,
        web_push_keys: Some(WebPushKeys {
            p256dh: text(&made["keys"]["p256dh"]),
            auth: text(&made["keys"]["auth"]),
        }),
    }
}

fn tenant(h: &Harness, key: &VapidKey) -> TenantPush {
    TenantPush {
        tenant_id: "tnt_web".to_owned(),
        web_push: Some(key.clone()),
        ..h.tenant.clone()
    }
}

fn alert(collapse_id: Option<&str>) -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Order".to_owned()),
            body: Some("shipped".to_owned()),
            ..Alert::default()
        }),
        collapse_id: collapse_id.map(str::to_owned),
        ..Notification::default()
    }
}

async fn send(
    engine: &PushEngine,
    tenant: &TenantPush,
    notification: &Notification,
    target: &Target,
) -> TargetResult {
    let mut results = engine
        .deliver_notification(tenant, notification, std::slice::from_ref(target))
        .await
        .unwrap();
    results.remove(0)
}

async fn recorded(h: &Harness, target: &Target) -> Vec<Value> {
    let answer = h
        .admin
        .get(format!("{}/deliveries", h.sim.http_url()))
        .query(&[("token", target.token.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    answer["deliveries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn collapse_ids_of_length_one_mod_four_reach_safari_and_map_to_one_topic_everywhere() {
    let h = start().await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let tenant = tenant(&h, &key);
    let apple = subscribe(&h, &key, json!({"service": "apple"})).await;
    let mozilla = subscribe(&h, &key, json!({"service": "mozilla"})).await;
    for collapse_id in ["spike", "mail-batch-10", "order-123"] {
        let result = send(&h.providers, &tenant, &alert(Some(collapse_id)), &apple).await;
        assert!(result.outcome.is_delivered(), "{collapse_id}: {result:?}");
        let result = send(&h.providers, &tenant, &alert(Some(collapse_id)), &mozilla).await;
        assert!(result.outcome.is_delivered(), "{collapse_id}: {result:?}");
    }
    let topics = |deliveries: Vec<Value>| -> Vec<String> {
        deliveries
            .iter()
            .map(|d| d["headers"]["topic"].as_str().unwrap().to_owned())
            .collect()
    };
    let at_apple = topics(recorded(&h, &apple).await);
    assert_eq!(at_apple, topics(recorded(&h, &mozilla).await));
    assert!(at_apple.iter().all(|t| t.len() % 4 != 1 && t.len() <= 32));
}

#[tokio::test]
async fn a_subscription_made_with_a_rotated_out_key_is_removed_at_apple_and_fcm() {
    let h = start().await;
    let old = VapidKey::generate("mailto:ops@example.com").unwrap();
    let new = VapidKey::generate("mailto:ops@example.com").unwrap();
    let tenant = tenant(&h, &new);
    for service in ["apple", "fcm"] {
        let stale = subscribe(&h, &old, json!({ "service": service })).await;
        let result = send(&h.providers, &tenant, &alert(None), &stale).await;
        assert!(
            matches!(&result.outcome, DeliveryOutcome::DeadToken(reason) if reason.contains("another VAPID key")),
            "{service}: {result:?}"
        );
        assert_eq!(result.attempts, 1, "{service}: not retried");
        let fresh = subscribe(&h, &new, json!({ "service": service })).await;
        let result = send(&h.providers, &tenant, &alert(None), &fresh).await;
        assert!(result.outcome.is_delivered(), "{service}: {result:?}");
    }
}

#[tokio::test]
async fn wns_throttling_406_is_retried_later_and_the_device_kept() {
    let h = start().await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let throttled = subscribe(&h, &key, json!({"service": "wns", "id": "busy-edge"})).await;
    let result = send(&h.providers, &tenant(&h, &key), &alert(None), &throttled).await;
    assert!(
        matches!(&result.outcome, DeliveryOutcome::Transient(reason) if reason.contains("406")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_push_service_without_http2_is_reached_over_http1_and_the_connection_reused() {
    let h = start().await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let first = subscribe(&h, &key, json!({"http1_only": true})).await;
    let origin = crate::web_push_protocol::hosts::endpoint_origin(&first.token)
        .unwrap()
        .audience();
    let mut endpoints = h.endpoints.clone();
    endpoints.web_push_hosts = WebPushHosts::parse(&origin).unwrap();
    let engine = PushEngine::with_config(&endpoints, quick_config()).unwrap();
    let tenant = tenant(&h, &key);
    let second = subscribe(&h, &key, json!({"http1_only": true})).await;
    for target in [&first, &second, &first] {
        let result = send(&engine, &tenant, &alert(Some("a")), target).await;
        assert!(result.outcome.is_delivered(), "{result:?}");
    }
    let delivered = recorded(&h, &first).await;
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0]["plaintext"]["title"], "Order");
}

#[tokio::test]
async fn a_firefox_message_over_the_bridged_limit_fails_naming_it_without_a_request() {
    let h = start().await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let bridged = subscribe(&h, &key, json!({"service": "mozilla", "bridged": true})).await;
    let standard = subscribe(&h, &key, json!({})).await;
    let big = Notification {
        data: serde_json::from_value(json!({"blob": "x".repeat(2900)})).ok(),
        ..alert(None)
    };
    let result = send(&h.providers, &tenant(&h, &key), &big, &bridged).await;
    assert!(
        matches!(&result.outcome, DeliveryOutcome::Failed(reason) if reason.contains("Firefox")),
        "{result:?}"
    );
    assert!(recorded(&h, &bridged).await.is_empty());
    let result = send(&h.providers, &tenant(&h, &key), &big, &standard).await;
    assert!(result.outcome.is_delivered(), "{result:?}");
}

#[tokio::test]
async fn a_silent_push_to_safari_is_refused_without_a_request() {
    // The default allow-list: `web.push.apple.com` is on it.
    let h = start_with(quick_config(), |_| {}).await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let mut safari = subscribe(&h, &key, json!({})).await;
    safari.token = "https://web.push.apple.com/QGuQyavXutnMHNmAbc".to_owned();
    let silent = Notification {
        content_available: true,
        data: serde_json::from_value(json!({"sync": "inbox"})).ok(),
        ..Notification::default()
    };
    let result = send(&h.providers, &tenant(&h, &key), &silent, &safari).await;
    assert!(
        matches!(&result.outcome, DeliveryOutcome::Failed(reason) if reason.contains("Safari")),
        "{result:?}"
    );
}
