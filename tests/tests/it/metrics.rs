//! The operators' metrics (CloudWatch embedded metric format lines) that a
//! real single send and a real bulk delivery write, read back the way
//! `notifyctl metrics` reads a log: counts by provider and outcome,
//! credential failures, provider latency, queue dwell, and the tenant as a
//! property of each line, never a dimension.

use std::time::Duration;

use notify_shared::metrics::{EmfLine, DEFAULT_NAMESPACE, TENANT_PROPERTY};
use notify_shared::model::Platform;
use notify_shared::service::delivery::Delivery;
use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{metric_lines, BulkRig};
use notifyctl::metrics::{summarize, Selection, Summary};
use serde_json::json;

/// What `delivery` wrote, checked line by line for what every line must
/// be, and summed up by `notifyctl metrics`' reader.
fn written(delivery: &Delivery, tenant_id: &str) -> (Summary, Vec<EmfLine>) {
    let lines = metric_lines(delivery);
    for (text, line) in &lines {
        assert!(!text.contains('\n'), "{text}");
        for directive in &line.directives {
            assert_eq!(directive.namespace, DEFAULT_NAMESPACE, "{text}");
            // The tenant id appears once: as the property.
            assert!(!directive.keys(TENANT_PROPERTY), "{text}");
        }
        assert_eq!(
            text.matches(tenant_id).count(),
            usize::from(line.properties.contains_key(TENANT_PROPERTY)),
            "{text}"
        );
        assert!(
            !line.dimensions.values().any(|value| value == tenant_id),
            "{text}"
        );
    }
    let log: Vec<&str> = lines.iter().map(|(text, _)| text.as_str()).collect();
    let summary = summarize(log.join("\n").as_bytes(), &Selection::default())
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(summary.invalid, 0);
    (summary, lines.into_iter().map(|(_, line)| line).collect())
}

#[tokio::test]
async fn a_single_send_writes_its_pushes_by_provider_and_outcome_with_the_tenant_as_a_property() {
    let s = SimTenant::start().await;
    let dead = fcm_token(7);
    s.register("u1", &ios_token(1), "ios").await;
    s.register("u1", &ios_token(2), "ios").await;
    s.register("u1", &dead, "android").await;
    s.sim
        .fault(json!({"fault": "unregistered", "token": dead}))
        .await;

    let (status, answer) = s
        .send(json!({"user_id": "u1", "alert": {"title": "Order shipped"}}))
        .await;
    assert_eq!(status, 200, "{answer}");

    let (summary, lines) = written(&s.delivery, &s.tenant_id);
    assert_eq!(
        lines.len(),
        2,
        "one line per provider and outcome: {lines:?}"
    );
    assert!(lines
        .iter()
        .all(|line| line.properties[TENANT_PROPERTY] == s.tenant_id.as_str()));
    let pushes = |dimensions| summary.sum("Pushes", dimensions);
    assert_eq!(pushes("Provider=apns Outcome=delivered"), Some(2.0));
    assert_eq!(pushes("Provider=fcm Outcome=removed"), Some(1.0));
    assert_eq!(pushes("Provider=fcm Outcome=delivered"), None);
    // Each push's request was timed, by provider alone.
    let apns = lines
        .iter()
        .find(|line| line.dimensions["Provider"] == "apns")
        .map(|line| line.values["ProviderLatency"].clone())
        .unwrap_or_default();
    assert_eq!(apns.len(), 2, "{apns:?}");
    assert!(
        apns.iter().all(|ms| *ms >= 0.0 && *ms < 10_000.0),
        "{apns:?}"
    );
    assert_eq!(summary.sum("CredentialFailures", "Provider=fcm"), None);
}

#[tokio::test]
async fn a_bulk_delivery_counts_credential_failures_and_the_queue_dwell() {
    let rig = BulkRig::start().await;
    let users: Vec<String> = (0..3).map(|n| format!("user-{n}")).collect();
    let mut devices = Vec::new();
    for (n, user) in users.iter().enumerate() {
        devices.push((user.clone(), ios_token(n), Platform::Ios));
        devices.push((user.clone(), fcm_token(n), Platform::Android));
    }
    rig.register(&devices).await;
    // The Firebase project's own APNs/Web Push credential is refused.
    rig.sim
        .fault(json!({"fault": "third_party_auth_error"}))
        .await;

    let (status, body) = rig
        .bulk(json!({"user_ids": users, "alert": {"title": "Flash sale"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let batch_id = body["batch_id"].as_str().unwrap_or_default().to_owned();
    rig.drain_until_done(&batch_id, Duration::from_secs(60))
        .await;

    let (summary, lines) = written(&rig.worker.delivery, &rig.tenant_id);
    assert_eq!(
        summary.sum("Pushes", "Provider=apns Outcome=delivered"),
        Some(3.0)
    );
    assert_eq!(
        summary.sum("Pushes", "Provider=fcm Outcome=failed"),
        Some(3.0)
    );
    assert_eq!(summary.sum("CredentialFailures", "Provider=fcm"), Some(3.0));
    assert_eq!(summary.sum("CredentialFailures", "Provider=apns"), None);
    // One dwell per record received; the message waited at least 0 ms
    // and less than the test.
    let dwell: Vec<f64> = lines
        .iter()
        .filter(|line| line.dimensions.get("Queue").map(String::as_str) == Some("delivery"))
        .flat_map(|line| line.values["QueueDwell"].clone())
        .collect();
    assert!(!dwell.is_empty(), "{lines:?}");
    assert!(
        dwell.iter().all(|ms| *ms >= 0.0 && *ms < 60_000.0),
        "{dwell:?}"
    );
    // The dwell line is the invocation's, not a tenant's.
    assert!(lines
        .iter()
        .filter(|line| line.dimensions.contains_key("Queue"))
        .all(|line| line.properties.is_empty()));
}
