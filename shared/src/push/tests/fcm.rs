use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use super::harness::{android, quick_config, start, start_with};
use crate::credentials::parse_service_account;
use crate::model::{Alert, Notification, Platform, Priority};
use crate::push::{DeliveryOutcome, PushConfig, Target, TenantPush};

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
        .deliver_notification(&h.tenant, &alert(), &[android(1)])
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
            .deliver_notification(&h.tenant, &alert(), &targets)
            .await
            .unwrap();
        assert!(results.iter().all(|r| r.outcome.is_delivered()));
    }
    let stats = h.stats().await;
    assert_eq!(stats["token_requests"], json!(1));
    assert_eq!(stats["accepted_by_provider"]["fcm"], json!(120));
    assert_eq!(h.providers.fcm.tokens.fetched.load(Ordering::Relaxed), 1);
}

/// The simulator answers a bad token as FCM does: 400 `INVALID_ARGUMENT`
/// with only an `FcmError` detail, no field violation.
#[tokio::test]
async fn unregistered_and_malformed_tokens_are_dead() {
    let h = start().await;
    h.fault(json!({"fault": "unregistered", "token": android(1).token}))
        .await;
    h.fault(json!({"fault": "bad_device_token", "token": android(2).token}))
        .await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[android(1), android(2), android(3)])
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
async fn server_errors_are_retried_after_a_backoff_of_a_second_or_the_retry_after() {
    let h = start().await;
    h.fault(json!({"fault": "status", "status": 503, "count": 1, "provider": "fcm"}))
        .await;
    let started = Instant::now();
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[android(9)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(results[0].attempts, 2);
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn quota_exceeded_is_not_retried_sooner_than_a_minute_even_with_a_shorter_retry_after() {
    let h = start().await;
    h.fault(json!({"fault": "status", "status": 429, "count": 1, "retry_after_secs": 1, "provider": "fcm"}))
        .await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[android(9)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::Transient("QUOTA_EXCEEDED".into())
    );
    assert_eq!(results[0].attempts, 1);
    assert_eq!(
        results[0].retry_after,
        Some(crate::push::retry::FCM_QUOTA_WAIT)
    );
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
        .deliver_notification(&h.tenant, &too_big, &[android(1)])
        .await
        .err();
    assert!(
        matches!(err, Some(crate::error::Error::PayloadTooLarge(_))),
        "{err:?}"
    );
    assert_eq!(h.stats().await["token_requests"], json!(0));
}

#[tokio::test]
async fn third_party_auth_error_is_a_configuration_failure_by_name_and_no_token_refetch() {
    let h = start().await;
    h.fault(json!({"fault": "third_party_auth_error"})).await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[android(1), android(2)])
        .await
        .unwrap();
    for result in &results {
        assert!(
            matches!(&result.outcome, DeliveryOutcome::Failed(reason) if reason.starts_with("THIRD_PARTY_AUTH_ERROR")),
            "{result:?}"
        );
        assert_eq!(result.attempts, 1, "{result:?}");
    }
    assert_eq!(h.stats().await["token_requests"], json!(1));
}

#[tokio::test]
async fn a_project_over_quota_is_not_hammered_and_another_projects_sends_are_not_slowed() {
    let h = start_with(
        PushConfig {
            max_in_flight: 4,
            ..quick_config()
        },
        |_| {},
    )
    .await;
    let other: serde_json::Value = h
        .admin
        .post(format!("{}/admin/credentials", h.sim.http_url()))
        .json(&json!({"project_id": "proj-other"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_b = TenantPush {
        tenant_id: "tnt_b".to_owned(),
        fcm: Some(parse_service_account(&other["fcm_service_account"], &h.endpoints).unwrap()),
        ..h.tenant.clone()
    };
    let project_a = h.tenant.fcm.as_ref().unwrap().project_id.clone();
    h.fault(json!({"fault": "quota", "requests": 5, "window_secs": 60, "project_id": project_a}))
        .await;
    let a_targets: Vec<Target> = (0..40).map(android).collect();
    let b_targets: Vec<Target> = (100..110).map(android).collect();
    let notification = alert();
    let (a, b) = tokio::join!(
        h.providers
            .deliver_notification(&h.tenant, &notification, &a_targets),
        async {
            let started = Instant::now();
            let results = h
                .providers
                .deliver_notification(&tenant_b, &notification, &b_targets)
                .await;
            (results, started.elapsed())
        }
    );
    let a = a.unwrap();
    let (b, b_took) = (b.0.unwrap(), b.1);
    assert_eq!(a.iter().filter(|r| r.outcome.is_delivered()).count(), 5);
    for result in a.iter().filter(|r| !r.outcome.is_delivered()) {
        assert!(
            matches!(&result.outcome, DeliveryOutcome::Transient(reason) if reason.starts_with("QUOTA_EXCEEDED")),
            "{result:?}"
        );
        assert!(
            result
                .retry_after
                .is_some_and(|wait| wait >= Duration::from_secs(50)),
            "{result:?}"
        );
    }
    let faults = h.get("/admin/faults").await;
    let throttled = faults["faults"]["quota"]["throttled"][&project_a]
        .as_u64()
        .unwrap_or(0);
    assert!(
        throttled <= 4,
        "at most the sends already in flight meet the spent quota: {faults}"
    );
    assert!(b.iter().all(|r| r.outcome.is_delivered()), "{b:?}");
    assert!(b_took < Duration::from_secs(5), "{b_took:?}");
}
