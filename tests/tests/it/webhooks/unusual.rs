//! `key.unusual_activity`: a key whose hour passes ten times its hourly
//! mean of the previous week (and 100) is told once per episode, at the
//! sampled request of its hour (the 101st, then each power of two), and
//! the key list says `unusual_activity` alike. A key under its threshold
//! sends nothing.
//!
//! The limiter and the usage hours run on a manual clock in the middle of
//! an hour; the keys' past hours are written to the table directly, as the
//! rate limiter writes them.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use notify_shared::clock::{now_unix_secs, Clock};
use notify_shared::secrets::Secrets;
use notify_shared::service::webhooks::EventPublisher;
use notify_shared::App;
use notify_tests::webhooks::{standard_webhooks_verifies, Receiver};
use notify_tests::{call, parts};
use serde_json::{json, Value};

use super::Hooked;

/// A container of `hooked`'s configuration on `clock`, watching keys.
fn watched_app(hooked: &Hooked, clock: &Clock) -> App {
    App::with_clients(
        hooked.env.app.config.clone(),
        hooked.env.dynamodb.clone(),
        Secrets::new(
            hooked.env.secrets.clone(),
            hooked.env.tenant_secret_prefix.clone(),
        ),
        aws_sdk_sqs::Client::new(&hooked.env.sdk),
    )
    .with_clock(clock.clone())
    .with_key_watch(EventPublisher::from_app)
}

/// A key of the tenant named `name` (rate 1,000/s): (key, key id).
async fn key(hooked: &Hooked, name: &str) -> (String, String) {
    let request = call("POST", "/tenants/{tenant_id}/api-keys")
        .param("tenant_id", &hooked.tenant_id)
        .bearer(&hooked.owner)
        .json(json!({"name": name, "scopes": ["devices"], "rate_limit": 1000}));
    let (status, created) = parts(&api_key_create::handle(&hooked.env.app, request.build()).await);
    assert_eq!(status, 200, "{created}");
    let text = |field: &str| created[field].as_str().unwrap_or_default().to_owned();
    (text("key"), text("key_id"))
}

/// `requests` in each of the 168 hours before the one of `now`.
async fn quiet_week(hooked: &Hooked, key_id: &str, now: i64, requests: u32) {
    let current = now - now % 3600;
    for back in 1..=168 {
        let start = current - back * 3600;
        let hour = chrono::DateTime::from_timestamp(start, 0).unwrap_or_default();
        let put = hooked
            .env
            .dynamodb
            .put_item()
            .table_name(&hooked.env.table)
            .item("PK", AttributeValue::S(format!("USAGE#KEY#{key_id}")))
            .item(
                "SK",
                AttributeValue::S(format!("HOUR#{}", hour.format("%Y-%m-%dT%H"))),
            )
            .item("requests", AttributeValue::N(requests.to_string()))
            .item("expires_at", AttributeValue::N((now + 86_400).to_string()))
            .send()
            .await;
        assert!(put.is_ok(), "{put:?}");
    }
}

/// `count` requests of `key` (device listings), each answered 200.
async fn requests(app: &App, hooked: &Hooked, key: &str, count: usize) {
    for _ in 0..count {
        let request = call("GET", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &hooked.tenant_id)
            .query("user_id", "u1")
            .api_key(key);
        let response = device_list::handle(app, request.build()).await;
        assert_eq!(response.status(), 200);
    }
}

/// The key list's `unusual_activity` of `key_id`.
async fn listed_unusual(app: &App, hooked: &Hooked, key_id: &str) -> Value {
    let request = call("GET", "/tenants/{tenant_id}/api-keys")
        .param("tenant_id", &hooked.tenant_id)
        .bearer(&hooked.owner);
    let (status, list) = parts(&api_key_list::handle(app, request.build()).await);
    assert_eq!(status, 200, "{list}");
    list["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|key| key["key_id"] == key_id)
        .map(|key| key["unusual_activity"].clone())
        .unwrap_or_default()
}

/// The `key.unusual_activity` events the receiver got since `seen`.
async fn new_events(hooked: &Hooked, receiver: &Receiver, seen: usize) -> Vec<Value> {
    hooked.hooks.drain(&hooked.dispatcher).await;
    let events: Vec<Value> = receiver
        .requests()
        .iter()
        .map(|request| request.json())
        .collect();
    assert!(
        events
            .iter()
            .all(|event| event["type"] == "key.unusual_activity"),
        "{events:?}"
    );
    events.into_iter().skip(seen).collect()
}

#[tokio::test]
async fn a_key_s_unusual_hour_is_told_once_per_episode_and_a_usual_one_never() {
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    let (_, secret) = hooked
        .webhook(&receiver.url(), &["key.unusual_activity"])
        .await;
    let now = now_unix_secs();
    let clock = Clock::manual(now - now % 3600 + 1800);
    let app = watched_app(&hooked, &clock);
    let at = clock.now_epoch_secs();
    // A quiet key (5 an hour: its threshold is the floor, 100) and a
    // busier one (15 an hour: 150).
    let (quiet, quiet_id) = key(&hooked, "mobile-app").await;
    let (busy, busy_id) = key(&hooked, "backend").await;
    quiet_week(&hooked, &quiet_id, at, 5).await;
    quiet_week(&hooked, &busy_id, at, 15).await;

    // 100 requests are not unusual; the 101st is.
    requests(&app, &hooked, &quiet, 100).await;
    assert!(new_events(&hooked, &receiver, 0).await.is_empty());
    assert_eq!(listed_unusual(&app, &hooked, &quiet_id).await, false);
    requests(&app, &hooked, &quiet, 1).await;
    let events = new_events(&hooked, &receiver, 0).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0]["data"],
        json!({"key_id": quiet_id, "name": "mobile-app", "requests_last_hour": 101, "hourly_mean_7d": 5.0})
    );
    let first = receiver.requests()[0].clone();
    assert!(standard_webhooks_verifies(&secret, &first, &first.body));
    assert_eq!(listed_unusual(&app, &hooked, &quiet_id).await, true);

    // More in the same hour (past the sample at 128): nothing more. The
    // busy key's 140 stay under its 150: nothing, and not unusual.
    requests(&app, &hooked, &quiet, 40).await;
    requests(&app, &hooked, &busy, 140).await;
    assert!(new_events(&hooked, &receiver, 1).await.is_empty());
    assert_eq!(listed_unusual(&app, &hooked, &busy_id).await, false);

    // The next hour is unusual too: the same episode, nothing sent.
    clock.advance(Duration::from_secs(3600));
    requests(&app, &hooked, &quiet, 101).await;
    assert_eq!(listed_unusual(&app, &hooked, &quiet_id).await, true);
    assert!(new_events(&hooked, &receiver, 1).await.is_empty());

    // A quiet hour ends the episode; the next unusual hour starts another.
    clock.advance(Duration::from_secs(2 * 3600));
    requests(&app, &hooked, &quiet, 101).await;
    let events = new_events(&hooked, &receiver, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["data"]["requests_last_hour"], 101);
    assert_eq!(events[0]["data"]["key_id"], quiet_id.as_str());
    let ids: Vec<String> = receiver
        .requests()
        .iter()
        .map(|request| request.header("webhook-id").to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "one event id per episode");
}
