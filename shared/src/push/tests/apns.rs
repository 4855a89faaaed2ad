use std::sync::atomic::Ordering;

use serde_json::json;

use super::harness::{ios, quick_config, start, start_with, BUNDLE_ID};
use crate::model::{Alert, Notification, Priority};
use crate::push::DeliveryOutcome;

fn alert() -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Order shipped".into()),
            subtitle: None,
            body: Some("Arrives Tuesday".into()),
        }),
        badge: Some(2),
        sound: Some("default".into()),
        data: Some(
            json!({"order_id": 42})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        thread_id: Some("orders".into()),
        collapse_id: Some("order-42".into()),
        ttl_seconds: Some(3600),
        ..Notification::default()
    }
}

fn now() -> i64 {
    crate::clock::now_epoch_seconds()
}

#[tokio::test]
async fn an_ios_push_reaches_apns_with_the_exact_headers_and_payload() {
    let h = start().await;
    let before = now();
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(1)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(results[0].attempts, 1);

    let deliveries = h.deliveries("apns").await;
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d["token"], json!(ios(1).token));
    assert_eq!(d["topic"], json!(BUNDLE_ID));
    assert_eq!(d["push_type"], json!("alert"));
    assert_eq!(d["priority"], json!(10));
    assert_eq!(d["collapse_id"], json!("order-42"));
    let expiration = d["expiration"].as_i64().unwrap_or_default();
    assert!(
        (before + 3600..=now() + 3600).contains(&expiration),
        "{expiration}"
    );
    assert_eq!(d["listener"], json!("tls"));
    assert_eq!(d["http_version"], json!("HTTP/2.0"));
    assert_eq!(
        d["payload"],
        json!({
            "aps": {
                "alert": {"title": "Order shipped", "body": "Arrives Tuesday"},
                "badge": 2,
                "sound": "default",
                "thread-id": "orders"
            },
            "order_id": 42
        })
    );
}

#[tokio::test]
async fn a_silent_push_is_background_at_priority_5_without_expiration() {
    let h = start().await;
    let silent = Notification {
        content_available: true,
        priority: Some(Priority::High),
        ..Notification::default()
    };
    let results = h
        .providers
        .deliver_notification(&h.tenant, &silent, &[ios(7)])
        .await
        .unwrap();
    assert!(results[0].outcome.is_delivered());
    let d = &h.deliveries("apns").await[0];
    assert_eq!(
        (
            &d["push_type"],
            &d["priority"],
            &d["expiration"],
            &d["collapse_id"]
        ),
        (&json!("background"), &json!(5), &json!(null), &json!(null))
    );
    assert_eq!(d["payload"], json!({"aps": {"content-available": 1}}));
}

#[tokio::test]
async fn one_provider_token_signs_every_push_of_many_deliveries() {
    let h = start().await;
    let targets: Vec<_> = (0..50).map(ios).collect();
    for _ in 0..3 {
        let results = h
            .providers
            .deliver_notification(&h.tenant, &alert(), &targets)
            .await
            .unwrap();
        assert!(results.iter().all(|r| r.outcome.is_delivered()));
    }
    assert_eq!(h.providers.apns.tokens.signed.load(Ordering::Relaxed), 1);
    assert_eq!(h.stats().await["accepted_by_provider"]["apns"], json!(150));
}

#[tokio::test]
async fn unregistered_and_bad_tokens_are_dead_and_the_others_delivered() {
    let h = start().await;
    h.fault(json!({"fault": "unregistered", "token": ios(1).token}))
        .await;
    h.fault(json!({"fault": "bad_device_token", "token": ios(2).token}))
        .await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(1), ios(2), ios(3)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::DeadToken("Unregistered".into())
    );
    assert_eq!(
        results[1].outcome,
        DeliveryOutcome::DeadToken("BadDeviceToken".into())
    );
    assert_eq!(results[2].outcome, DeliveryOutcome::Delivered);
    // Dead tokens are final: never retried.
    assert_eq!((results[0].attempts, results[1].attempts), (1, 1));
}

#[tokio::test]
async fn an_apns_server_error_is_not_retried_sooner_than_the_15_minutes_apple_asks() {
    let h = start().await;
    h.fault(json!({"fault": "status", "status": 503, "provider": "apns"}))
        .await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(5)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::Transient("ServiceUnavailable".into())
    );
    assert_eq!(results[0].attempts, 1, "not retried within the delivery");
    assert_eq!(
        results[0].retry_after,
        Some(crate::push::retry::APNS_SERVER_ERROR_WAIT)
    );
}

#[tokio::test]
async fn a_4097_byte_payload_is_refused_before_anything_is_sent() {
    let h = start().await;
    let envelope = br#"{"aps":{"badge":1},"k":""}"#.len();
    let too_big = Notification {
        badge: Some(1),
        data: Some(
            json!({"k": "x".repeat(4097 - envelope)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        ..Notification::default()
    };
    let err = h
        .providers
        .deliver_notification(&h.tenant, &too_big, &[ios(1)])
        .await
        .err();
    assert!(
        matches!(err, Some(crate::error::Error::PayloadTooLarge(_))),
        "{err:?}"
    );
    let stats = h.stats().await;
    assert_eq!(
        (&stats["accepted"], &stats["rejected"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(stats["token_requests"], json!(0));
}

#[tokio::test]
async fn cleartext_http2_endpoints_work_the_same() {
    let h = start_with(quick_config(), |_| {}).await;
    let http_url = h.sim.http_url();
    let h2c = crate::push::PushEngine::with_config(
        &crate::config::ProviderEndpoints {
            apns_sandbox: http_url.clone(),
            fcm: http_url,
            ..crate::config::ProviderEndpoints::default()
        },
        quick_config(),
    )
    .unwrap();
    let results = h2c
        .deliver_notification(&h.tenant, &alert(), &[ios(3)])
        .await
        .unwrap();
    assert!(results[0].outcome.is_delivered());
    let d = &h.deliveries("apns").await[0];
    assert_eq!(
        (&d["listener"], &d["http_version"]),
        (&json!("http"), &json!("HTTP/2.0"))
    );
}
