//! How refusals of a tenant's credentials come out of the engine (the one
//! predicate `DeliveryOutcome::is_credential_failure` that the
//! `CredentialFailures` metric and the `credentials.failed` webhook use),
//! and the provider latency `deliver_timed` reports beside each result.

use serde_json::json;

use super::harness::{android, ios, start};
use crate::credentials::ApnsKey;
use crate::model::{Alert, Notification};
use crate::push::{DeliveryOutcome, EncodedNotification, TenantPush};

fn hello() -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Hello".into()),
            ..Alert::default()
        }),
        ..Notification::default()
    }
}

fn encoded() -> EncodedNotification {
    EncodedNotification::new(&hello()).unwrap_or_else(|err| panic!("{err}"))
}

/// An APNs key Apple (the simulator) has never seen.
fn unknown_apns_key() -> ApnsKey {
    let pair = crate::web_push_protocol::VapidKey::generate("mailto:ops@example.com")
        .unwrap_or_else(|err| panic!("generating a P-256 key: {err}"));
    ApnsKey {
        team_id: "TEAMUNKNWN".into(),
        key_id: "KEYUNKNOWN".into(),
        private_key: pair.private_key,
    }
}

#[tokio::test]
async fn a_refused_apns_key_and_a_refused_service_account_are_credential_failures() {
    let h = start().await;
    let mut tenant: TenantPush = h.tenant.clone();
    tenant.tenant_id = "tnt_revoked".into();
    tenant.apns = Some(unknown_apns_key());
    if let Some(account) = tenant.fcm.as_mut() {
        account.client_email = "deleted@example.iam.gserviceaccount.com".into();
    }
    let (results, latencies) = h
        .providers
        .deliver_timed(&tenant, &encoded(), &[ios(1), android(1)], None)
        .await;
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::Failed("InvalidProviderToken".into())
    );
    assert!(
        matches!(&results[1].outcome, DeliveryOutcome::Failed(reason) if reason.starts_with("fcm credentials rejected")),
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| r.outcome.is_credential_failure()),
        "{results:?}"
    );
    // Apple answered the push; Google refused before any push was sent.
    assert!(latencies[0].is_some(), "{latencies:?}");
    assert_eq!(latencies[1], None);
}

#[tokio::test]
async fn firebase_refusing_its_own_apns_credential_is_one_and_a_dead_token_is_not() {
    let h = start().await;
    h.fault(json!({"fault": "third_party_auth_error", "count": 1}))
        .await;
    let dead = ios(2);
    h.fault(json!({"fault": "unregistered", "token": dead.token}))
        .await;
    let (results, latencies) = h
        .providers
        .deliver_timed(&h.tenant, &encoded(), &[android(1), dead, ios(3)], None)
        .await;
    let credential: Vec<bool> = results
        .iter()
        .map(|r| r.outcome.is_credential_failure())
        .collect();
    assert_eq!(credential, [true, false, false], "{results:?}");
    assert!(results[1].outcome.is_dead_token() && results[2].outcome.is_delivered());
    // Every one of them was a request the provider answered.
    assert!(latencies.iter().all(Option::is_some), "{latencies:?}");
}

#[tokio::test]
async fn a_provider_the_tenant_has_not_configured_is_no_credential_failure_and_sends_nothing() {
    let h = start().await;
    let tenant = TenantPush {
        apns: None,
        ..h.tenant.clone()
    };
    let (results, latencies) = h
        .providers
        .deliver_timed(&tenant, &encoded(), &[ios(1)], None)
        .await;
    assert_eq!(
        results[0].outcome.error(),
        Some("apns not configured for tenant")
    );
    assert!(!results[0].outcome.is_credential_failure());
    assert_eq!(latencies, [None]);
}
