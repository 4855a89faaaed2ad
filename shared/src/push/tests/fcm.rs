use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use super::harness::{android, start};
use crate::model::{Alert, Notification, Platform, Priority};
use crate::push::{DeliveryOutcome, Target};

fn alert() -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Hello".into()),
            subtitle: Some("not on Android".into()),
            body: Some("World".into()),
        }),
        sound: Some("default".into()),
        data: Some(
            json!({"count": 3, "kind": "greeting"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        collapse_id: Some("hello".into()),
        priority: Some(Priority::Normal),
        ttl_seconds: Some(600),
        ..Notification::default()
    }
}

#[tokio::test]
async fn an_android_push_reaches_fcm_as_the_exact_message() {
    let h = start().await;
    let results = h
        .providers
        .deliver(&h.tenant, &alert(), &[android(1)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, DeliveryOutcome::Delivered);
    let deliveries = h.deliveries("fcm").await;
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    let project_id = h.tenant.fcm.as_ref().map(|a| a.project_id.clone());
    assert_eq!(d["project_id"].as_str(), project_id.as_deref());
    assert_eq!(d["listener"], json!("tls"));
    assert_eq!(
        d["message"],
        json!({
            "token": android(1).token,
            "notification": {"title": "Hello", "body": "World"},
            "data": {"count": "3", "kind": "greeting"},
            "android": {
                "priority": "NORMAL",
                "ttl": "600s",
                "collapse_key": "hello",
                "notification": {"sound": "default", "tag": "hello"}
            },
            "webpush": {"headers": {"TTL": "600", "Urgency": "normal"}}
        })
    );
}

#[tokio::test]
async fn one_access_token_serves_many_pushes_and_deliveries() {
    let h = start().await;
    let targets: Vec<_> = (0..40)
        .map(|n| match n % 2 {
            0 => android(n),
            _ => Target {
                platform: Platform::Web,
                ..android(n)
            },
        })
        .collect();
    for _ in 0..3 {
        let results = h
            .providers
            .deliver(&h.tenant, &alert(), &targets)
            .await
            .unwrap();
        assert!(results.iter().all(|r| r.outcome.is_delivered()));
    }
    let stats = h.stats().await;
    assert_eq!(stats["token_requests"], json!(1));
    assert_eq!(stats["accepted_by_provider"]["fcm"], json!(120));
    assert_eq!(h.providers.fcm.tokens.fetched.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn unregistered_and_malformed_tokens_are_dead() {
    let h = start().await;
    h.fault(json!({"fault": "unregistered", "token": android(1).token}))
        .await;
    h.fault(json!({"fault": "bad_device_token", "token": android(2).token}))
        .await;
    let results = h
        .providers
        .deliver(&h.tenant, &alert(), &[android(1), android(2), android(3)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::DeadToken("UNREGISTERED".into())
    );
    assert_eq!(
        results[1].outcome,
        DeliveryOutcome::DeadToken("INVALID_ARGUMENT: message.token".into())
    );
    assert_eq!(results[2].outcome, DeliveryOutcome::Delivered);
}

#[tokio::test]
async fn throttling_is_retried_after_the_retry_after_delay() {
    let h = start().await;
    h.fault(json!({"fault": "status", "status": 429, "count": 1, "retry_after_secs": 1, "provider": "fcm"}))
        .await;
    let started = Instant::now();
    let results = h
        .providers
        .deliver(&h.tenant, &alert(), &[android(9)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(results[0].attempts, 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn fcm_data_over_4096_bytes_is_refused_before_anything_is_sent() {
    let h = start().await;
    let too_big = Notification {
        data: Some(
            json!({"k": "x".repeat(4096)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        ..Notification::default()
    };
    let err = h
        .providers
        .deliver(&h.tenant, &too_big, &[android(1)])
        .await
        .err();
    assert!(
        matches!(err, Some(crate::Error::PayloadTooLarge(_))),
        "{err:?}"
    );
    assert_eq!(h.stats().await["token_requests"], json!(0));
}
