use std::time::{Duration, Instant};

use serde_json::json;

use super::harness::{android, ios, quick_config, start, start_with};
use crate::model::{Alert, Notification};
use crate::push::{DeliveryOutcome, EncodedNotification, TenantPush};

fn hello() -> Notification {
    Notification {
        alert: Some(Alert {
            body: Some("hi".into()),
            ..Alert::default()
        }),
        ..Notification::default()
    }
}

#[tokio::test]
async fn mixed_platforms_are_delivered_and_results_keep_target_order() {
    let h = start().await;
    let targets = vec![ios(1), android(1), ios(2), android(2)];
    let results = h
        .providers
        .deliver_notification(&h.tenant, &hello(), &targets)
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    assert!(results
        .iter()
        .all(|r| r.outcome.is_delivered() && r.attempts == 1));
    let stats = h.stats().await;
    assert_eq!(
        stats["accepted_by_provider"],
        json!({"apns": 2, "fcm": 2, "webpush": 0})
    );
}

#[tokio::test]
async fn a_tenant_without_credentials_fails_its_targets_without_a_request() {
    let h = start().await;
    let bare = TenantPush {
        apns: None,
        fcm: None,
        ..h.tenant.clone()
    };
    let results = h
        .providers
        .deliver_notification(&bare, &hello(), &[ios(1), android(1)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::Failed("apns not configured for tenant".into())
    );
    assert_eq!(
        results[1].outcome,
        DeliveryOutcome::Failed("fcm not configured for tenant".into())
    );
    assert!(results.iter().all(|r| r.attempts == 0));
    let stats = h.stats().await;
    assert_eq!(
        (
            &stats["accepted"],
            &stats["rejected"],
            &stats["token_requests"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_transient_and_bounded_in_time() {
    let h = start_with(quick_config(), |endpoints| {
        endpoints.apns_sandbox = "https://127.0.0.1:1".to_owned();
    })
    .await;
    let started = Instant::now();
    let results = h
        .providers
        .deliver_notification(&h.tenant, &hello(), &[ios(1), ios(2)])
        .await
        .unwrap();
    for result in &results {
        assert!(
            matches!(result.outcome, DeliveryOutcome::Transient(_)),
            "{result:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_invalid_notification_is_refused_before_anything_is_sent() {
    let h = start().await;
    let empty = Notification::default();
    let err = h
        .providers
        .deliver_notification(&h.tenant, &empty, &[ios(1)])
        .await
        .err();
    assert!(
        matches!(&err, Some(e) if e.code() == "invalid_request"),
        "{err:?}"
    );
}

#[tokio::test]
async fn delivery_futures_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let h = start().await;
    let targets = [ios(1)];
    let encoded = EncodedNotification::new(&hello()).unwrap();
    let delivery = h.providers.deliver(&h.tenant, &encoded, &targets, None);
    assert_send(&delivery);
    assert!(delivery.await[0].outcome.is_delivered());
}

/// The benchmark's second client: the same engine over hyper-util must
/// deliver the same pushes, or its figure in bench/README.md means nothing.
#[cfg(feature = "hyper-util-client")]
#[tokio::test]
async fn the_hyper_util_client_delivers_and_reads_errors_like_ours() {
    let h = start_with(
        crate::push::PushConfig {
            http_client: crate::push::HttpClient::HyperUtil,
            ..quick_config()
        },
        |_| {},
    )
    .await;
    h.fault(json!({"fault": "unregistered", "token": ios(2).token}))
        .await;
    let targets = vec![ios(1), ios(2), android(1)];
    let results = h
        .providers
        .deliver_notification(&h.tenant, &hello(), &targets)
        .await
        .unwrap();
    assert!(results[0].outcome.is_delivered());
    assert_eq!(
        results[1].outcome,
        DeliveryOutcome::DeadToken("Unregistered".into())
    );
    assert!(results[2].outcome.is_delivered());
    let stats = h.stats().await;
    assert_eq!(
        stats["accepted_by_provider"],
        json!({"apns": 1, "fcm": 1, "webpush": 0})
    );
}
