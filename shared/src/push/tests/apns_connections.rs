//! Apple's connection rules against the simulator, which plays them: one
//! team, key and token per connection, a new token at most every 20
//! minutes, token ages on Apple's clock, and connections Lambda dropped
//! while frozen.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use super::harness::{ios, quick_config, start, start_clocked, Harness};
use crate::clock::Clock;
use crate::model::{Alert, Notification};
use crate::push::{DeliveryOutcome, PushConfig, TenantPush};

fn alert() -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Hello".into()),
            subtitle: None,
            body: None,
        }),
        ..Notification::default()
    }
}

/// A clock that tests move, starting `minutes` before now.
fn minutes_ago(minutes: u64) -> Clock {
    Clock::manual(crate::clock::now_unix_secs().saturating_sub(minutes * 60))
}

/// Single and batch deliveries of each tenant in turn, twice over, on one
/// engine: every push delivered.
async fn send_in_turn(h: &Harness, tenants: &[&TenantPush]) {
    let batch: Vec<_> = (100..140).map(ios).collect();
    for round in 0..2 {
        for (n, tenant) in tenants.iter().enumerate() {
            let single = h
                .providers
                .deliver_notification(tenant, &alert(), &[ios(round * 10 + n)])
                .await
                .unwrap();
            assert_eq!(
                single[0].outcome,
                DeliveryOutcome::Delivered,
                "tenant {}",
                tenant.tenant_id
            );
            let results = h
                .providers
                .deliver_notification(tenant, &alert(), &batch)
                .await
                .unwrap();
            assert!(
                results.iter().all(|r| r.outcome.is_delivered()),
                "tenant {}: {:?}",
                tenant.tenant_id,
                results.iter().find(|r| !r.outcome.is_delivered())
            );
        }
    }
}

#[tokio::test]
async fn tenants_of_two_teams_on_one_engine_each_get_every_push_delivered() {
    let h = start().await;
    let other_team = h.apns_tenant("tnt_other_team", json!({})).await;
    send_in_turn(&h, &[&h.tenant, &other_team]).await;
}

#[tokio::test]
async fn tenants_with_two_keys_of_one_team_each_get_every_push_delivered() {
    let h = start().await;
    let team = h.tenant.apns.as_ref().map(|key| key.team_id.clone());
    let second_key = h
        .apns_tenant("tnt_second_key", json!({"team_id": team}))
        .await;
    send_in_turn(&h, &[&h.tenant, &second_key]).await;
}

#[tokio::test]
async fn tenants_sharing_one_key_send_one_token_and_every_push_is_delivered() {
    let h = start().await;
    let same_key = TenantPush {
        tenant_id: "tnt_same_key".into(),
        ..h.tenant.clone()
    };
    send_in_turn(&h, &[&h.tenant, &same_key]).await;
    assert_eq!(h.providers.apns.tokens.signed.load(Ordering::Relaxed), 1);
}

/// The engine's clock 51 minutes on (a renewal due), the simulator's
/// window still running on its own: Apple calls the connection's second
/// token too soon, and the engine moves to a new connection.
#[tokio::test]
async fn a_connection_apple_calls_unusable_after_a_token_update_is_replaced_and_the_push_delivered()
{
    // 51 minutes behind: the second token is Apple's now.
    let clock = minutes_ago(51);
    let config = PushConfig {
        idle_timeout: Duration::from_secs(24 * 3600),
        connections_per_host: 1,
        ..quick_config()
    };
    let h = start_clocked(config, |_| {}, clock.clone()).await;
    let first = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(1)])
        .await
        .unwrap();
    assert!(first[0].outcome.is_delivered());
    clock.advance(Duration::from_secs(51 * 60));
    let second = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(2)])
        .await
        .unwrap();
    assert_eq!(second[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(second[0].attempts, 2, "one refusal, then a new connection");
    let stats = h.stats().await;
    assert_eq!(
        stats["rejected_by_reason"]["apns"]["TooManyProviderTokenUpdates"],
        json!(1)
    );
}

/// Our clock stood still (a frozen Lambda) while Apple's ran: the cached
/// token looks 10 minutes old to us and is 65 minutes old to Apple.
#[tokio::test]
async fn a_token_apple_calls_expired_is_signed_anew_though_our_clock_calls_it_young() {
    let clock = minutes_ago(65);
    let h = start_clocked(quick_config(), |_| {}, clock.clone()).await;
    // Signed now, by our clock 65 minutes ago: Apple refuses it...
    let stale = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(1)])
        .await
        .unwrap();
    assert!(!stale[0].outcome.is_delivered());
    clock.advance(Duration::from_secs(10 * 60));
    // ...and, our clock saying 10 minutes, it is still renewed.
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(2)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, DeliveryOutcome::Delivered);
    let stats = h.stats().await;
    assert!(stats["rejected_by_reason"]["apns"]["ExpiredProviderToken"].as_u64() >= Some(2));
}

#[tokio::test]
async fn after_idle_connections_are_dropped_the_first_push_opens_a_new_connection() {
    let config = PushConfig {
        idle_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(2),
        ..quick_config()
    };
    let h = start_clocked(config, |_| {}, Clock::system()).await;
    let first = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(1)])
        .await
        .unwrap();
    assert!(first[0].outcome.is_delivered());
    // Lambda froze the process; the network dropped its connections
    // without a word.
    h.fault(json!({"fault": "freeze_connections"})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let after = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(2)])
        .await
        .unwrap();
    assert_eq!(after[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(after[0].attempts, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no request timed out"
    );
}

/// Provider review M3: APNs slows and disconnects a connection with many
/// rejected pushes. One tenant's bad tokens stay on its own connections.
#[tokio::test]
async fn one_tenants_rejected_pushes_go_on_connections_that_carry_no_other_tenants_pushes() {
    let h = super::harness::start_with(quick_config(), |endpoints| {
        endpoints.apns_sandbox = format!("{}/sandbox", endpoints.apns_sandbox);
    })
    .await;
    let careless = h.apns_tenant("tnt_careless", json!({})).await;
    let bad: Vec<_> = (200..220).map(ios).collect();
    for target in &bad {
        h.fault(json!({"fault": "bad_device_token", "token": target.token}))
            .await;
    }
    let mut careless_targets = bad.clone();
    careless_targets.extend((300..305).map(ios));
    let good: Vec<_> = (400..425).map(ios).collect();
    let notification = alert();
    let (careless_results, results) = tokio::join!(
        h.providers
            .deliver_notification(&careless, &notification, &careless_targets),
        h.providers
            .deliver_notification(&h.tenant, &notification, &good),
    );
    assert_eq!(careless_results.unwrap().len(), 25);
    assert!(results.unwrap().iter().all(|r| r.outcome.is_delivered()));
    let deliveries = h.deliveries("apns").await;
    let connections_of = |team: &str| {
        deliveries
            .iter()
            .filter(|d| d["team_id"] == json!(team))
            .map(|d| d["connection"].as_u64().unwrap_or_default())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let team = |tenant: &TenantPush| {
        tenant
            .apns
            .as_ref()
            .map(|k| k.team_id.clone())
            .unwrap_or_default()
    };
    let careless_connections = connections_of(&team(&careless));
    let other_connections = connections_of(&team(&h.tenant));
    assert!(!careless_connections.is_empty() && !other_connections.is_empty());
    assert!(careless_connections.is_disjoint(&other_connections));
    assert!(deliveries
        .iter()
        .all(|d| d["environment"] == json!("sandbox")));
}

/// After Apple refused the token a batch started with, the rest of the
/// batch takes the new one: the old and the new token never take turns on
/// a connection (each turn would cost a connection).
#[tokio::test]
async fn a_batch_whose_token_apple_called_expired_moves_to_the_new_token_on_one_connection() {
    let clock = minutes_ago(65);
    let config = PushConfig {
        connections_per_host: 1,
        max_in_flight: 4,
        ..quick_config()
    };
    let h = start_clocked(config, |_| {}, clock.clone()).await;
    // A token signed when our clock said 65 minutes ago...
    let key = h.tenant.apns.as_ref().unwrap();
    let id = crate::push::apns::credential_id(key);
    h.providers.apns.tokens.bearer(&id, key).unwrap();
    // ...looks 10 minutes old to us, and is 65 to Apple.
    clock.advance(Duration::from_secs(10 * 60));
    let targets: Vec<_> = (500..540).map(ios).collect();
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &targets)
        .await
        .unwrap();
    assert!(
        results.iter().all(|r| r.outcome.is_delivered()),
        "{results:?}"
    );
    let connections: std::collections::BTreeSet<_> = h
        .deliveries("apns")
        .await
        .iter()
        .map(|d| d["connection"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(connections.len(), 1, "{connections:?}");
}

/// Provider review L1: reasons `a2 0.10` cannot parse are reported by name.
#[tokio::test]
async fn an_expired_device_token_is_dead_and_reported_by_its_name() {
    let h = start().await;
    h.fault(json!({"fault": "expired_token", "token": ios(9).token}))
        .await;
    let results = h
        .providers
        .deliver_notification(&h.tenant, &alert(), &[ios(9), ios(10)])
        .await
        .unwrap();
    assert_eq!(
        results[0].outcome,
        DeliveryOutcome::DeadToken("ExpiredToken".into())
    );
    assert!(results[1].outcome.is_delivered());
}
