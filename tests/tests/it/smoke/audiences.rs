//! Audiences and scheduled sends through the local stack: topics, all
//! users, `send_at` and cancelling, judged by what the push simulator
//! received and when. The stack's `NOTIFY_SCHEDULE_AFTER_SECS` (20 in
//! `scripts/dev`) sends a time up to 20 s ahead as a delayed queue message
//! and one further ahead through the schedule runner (EventBridge
//! Scheduler's part, which fires up to a minute early): both are played.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use super::{fcm_token, hex_token, Stack};

/// A tenant of one test with its backend key (scopes `send` and `devices`).
struct Tenant {
    base: String,
    key: String,
}

async fn tenant(stack: &Stack, name: &str) -> Tenant {
    let (status, who) = stack
        .send(stack.as_user(Method::GET, "/auth/validate"))
        .await;
    assert_eq!(status, 200, "{who}");
    let (status, mut credentials) = stack
        .send(
            stack
                .http
                .post(format!("{}/admin/credentials", stack.simulator))
                .json(&json!({"bundle_id": format!("com.example.{name}")})),
        )
        .await;
    assert_eq!(status, 200, "{credentials}");
    credentials["org_id"] = who["orgs"][0].clone();
    credentials["use_sandbox"] = json!(true);
    let (status, created) = stack
        .send(stack.as_user(Method::POST, "/tenants").json(&credentials))
        .await;
    assert_eq!(status, 200, "{created}");
    let base = format!(
        "/tenants/{}",
        created["tenant_id"].as_str().unwrap_or_default()
    );
    let (status, key) = stack
        .send(
            stack
                .as_user(Method::POST, &format!("{base}/api-keys"))
                .json(&json!({"name": name})),
        )
        .await;
    assert_eq!(status, 200, "{key}");
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    Tenant { base, key }
}

impl Tenant {
    async fn call(&self, stack: &Stack, method: Method, path: &str, body: Value) -> (u16, Value) {
        let request = stack.with_key(method, &format!("{}{path}", self.base), &self.key);
        stack.send(request.json(&body)).await
    }

    async fn register(&self, stack: &Stack, user: &str, token: &str, platform: &str) {
        let body = json!({"user_id": user, "token": token, "platform": platform});
        let (status, answer) = self.call(stack, Method::POST, "/devices", body).await;
        assert_eq!(status, 200, "{answer}");
    }

    async fn subscribers(&self, stack: &Stack, method: Method, topic: &str, users: &[&str]) {
        let path = format!("/topics/{topic}/subscribers");
        let (status, answer) = self
            .call(stack, method, &path, json!({"user_ids": users}))
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    async fn topics_of(&self, stack: &Stack, user: &str) -> Vec<String> {
        let path = format!("/users/{user}/topics");
        let (status, answer) = self.call(stack, Method::GET, &path, Value::Null).await;
        assert_eq!(status, 200, "{answer}");
        serde_json::from_value(answer["topics"].clone()).unwrap_or_default()
    }

    async fn bulk(&self, stack: &Stack, body: Value) -> Value {
        let (status, batch) = self.call(stack, Method::POST, "/notify/bulk", body).await;
        assert_eq!(status, 200, "{batch}");
        batch
    }

    async fn status(&self, stack: &Stack, batch: &Value) -> Value {
        let path = format!(
            "/notify/bulk/{}",
            batch["batch_id"].as_str().unwrap_or_default()
        );
        let (status, progress) = self.call(stack, Method::GET, &path, Value::Null).await;
        assert_eq!(status, 200, "{progress}");
        progress
    }

    async fn cancel(&self, stack: &Stack, batch: &Value) -> (u16, Value) {
        let path = format!(
            "/notify/bulk/{}",
            batch["batch_id"].as_str().unwrap_or_default()
        );
        self.call(stack, Method::DELETE, &path, Value::Null).await
    }

    /// The batch's status once `done` (within two minutes).
    async fn done(&self, stack: &Stack, batch: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let progress = self.status(stack, batch).await;
            if progress["status"] == "done" {
                return progress;
            }
            assert!(Instant::now() < deadline, "not done: {progress}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// When the simulator received each push to `token`.
async fn received(stack: &Stack, token: &str) -> Vec<DateTime<Utc>> {
    stack
        .deliveries(token)
        .await
        .iter()
        .filter_map(|delivery| delivery["received_at"].as_str())
        .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc))
        .collect()
}

async fn pushes(stack: &Stack, token: &str) -> usize {
    stack.deliveries(token).await.len()
}

fn topic_name() -> String {
    format!(
        "sports.{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn a_topic_send_reaches_exactly_its_subscribers_and_no_longer_an_unsubscribed_one() {
    let stack = Stack::from_env();
    let tenant = tenant(&stack, "topics").await;
    let topic = topic_name();
    let (fan_a, fan_b, other, late) = (hex_token(), fcm_token(), hex_token(), hex_token());
    tenant.register(&stack, "fan-a", &fan_a, "ios").await;
    tenant.register(&stack, "fan-b", &fan_b, "android").await;
    tenant.register(&stack, "other", &other, "ios").await;
    // Subscribed before having any device: reached once it has one.
    tenant
        .subscribers(&stack, Method::POST, &topic, &["fan-a", "fan-b", "late"])
        .await;
    tenant.register(&stack, "late", &late, "ios").await;
    assert_eq!(tenant.topics_of(&stack, "late").await, vec![topic.clone()]);

    let body = json!({"topic": topic, "alert": {"title": "Kick-off"}});
    let batch = tenant.bulk(&stack, body.clone()).await;
    assert_eq!(
        (batch["status"].as_str(), batch["total"].as_u64()),
        (Some("queued"), None),
        "{batch}"
    );
    let progress = tenant.done(&stack, &batch).await;
    assert_eq!(
        (progress["total"].as_u64(), progress["delivered"].as_u64()),
        (Some(3), Some(3)),
        "{progress}"
    );
    for (token, expected) in [(&fan_a, 1), (&fan_b, 1), (&late, 1), (&other, 0)] {
        assert_eq!(pushes(&stack, token).await, expected, "{token}");
    }

    tenant
        .subscribers(&stack, Method::DELETE, &topic, &["fan-b"])
        .await;
    assert!(tenant.topics_of(&stack, "fan-b").await.is_empty());
    let progress = tenant.done(&stack, &tenant.bulk(&stack, body).await).await;
    assert_eq!(progress["total"].as_u64(), Some(2), "{progress}");
    for (token, expected) in [(&fan_a, 2), (&fan_b, 1), (&late, 2), (&other, 0)] {
        assert_eq!(pushes(&stack, token).await, expected, "{token}");
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn an_all_users_send_reaches_every_user_with_a_device_once() {
    let stack = Stack::from_env();
    let tenant = tenant(&stack, "everyone").await;
    let devices = [
        ("u1", hex_token(), "ios"),
        ("u1", fcm_token(), "android"),
        ("u2", hex_token(), "ios"),
        ("u3", fcm_token(), "android"),
    ];
    for (user, token, platform) in &devices {
        tenant.register(&stack, user, token, platform).await;
    }
    // A subscriber without devices, and a user whose only device is gone:
    // neither is a user with a device.
    tenant
        .subscribers(&stack, Method::POST, &topic_name(), &["no-device"])
        .await;
    let gone = hex_token();
    tenant.register(&stack, "u4", &gone, "ios").await;
    let path = format!("/devices/{gone}?user_id=u4");
    let (status, answer) = tenant
        .call(&stack, Method::DELETE, &path, Value::Null)
        .await;
    assert_eq!(status, 200, "{answer}");

    let batch = tenant
        .bulk(
            &stack,
            json!({"all_users": true, "alert": {"title": "Everyone"}}),
        )
        .await;
    let progress = tenant.done(&stack, &batch).await;
    assert_eq!(
        (
            progress["total"].as_u64(),
            progress["delivered"].as_u64(),
            progress["no_devices"].as_u64()
        ),
        (Some(3), Some(3), Some(0)),
        "{progress}"
    );
    for (_, token, _) in &devices {
        assert_eq!(pushes(&stack, token).await, 1, "{token}");
    }
    assert_eq!(pushes(&stack, &gone).await, 0);
}

/// A scheduled send `ahead` seconds from now to one device: it arrives
/// once, not before `send_at` and within 60 s after, and then refuses
/// cancellation.
async fn scheduled_send_arrives_once_on_time(
    stack: &Stack,
    tenant: &Tenant,
    ahead: i64,
    body: Value,
) {
    let send_at = Utc::now() + chrono::Duration::seconds(ahead);
    let token = hex_token();
    tenant.register(stack, "scheduled", &token, "ios").await;
    let mut body = body;
    body["send_at"] = json!(send_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    body["alert"] = json!({"title": "On time"});
    let batch = tenant.bulk(stack, body).await;
    assert_eq!(batch["status"], "scheduled", "{batch}");
    assert_eq!(tenant.status(stack, &batch).await["status"], "scheduled");
    let send_at = DateTime::parse_from_rfc3339(batch["send_at"].as_str().unwrap_or_default())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|err| panic!("send_at in {batch}: {err}"));
    let deadline = send_at + chrono::Duration::seconds(75);
    let arrived = loop {
        let times = received(stack, &token).await;
        if let Some(first) = times.first() {
            break *first;
        }
        assert!(Utc::now() < deadline, "not delivered 75 s after {send_at}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        arrived >= send_at,
        "arrived at {arrived}, before send_at {send_at}"
    );
    assert!(
        arrived <= send_at + chrono::Duration::seconds(60),
        "arrived at {arrived}, over 60 s after send_at {send_at}"
    );
    // Duplicated firings and redeliveries deliver nothing more.
    tenant.done(stack, &batch).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        received(stack, &token).await.len(),
        1,
        "delivered more than once"
    );
    let (status, refused) = tenant.cancel(stack, &batch).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("not_cancellable")),
        "{refused}"
    );
}

/// A send scheduled `ahead` seconds from now, cancelled at once: answered
/// `cancelled` (twice), and never delivered.
async fn cancelled_send_never_arrives(stack: &Stack, tenant: &Tenant, ahead: i64) {
    let send_at = Utc::now() + chrono::Duration::seconds(ahead);
    let token = hex_token();
    let user = format!("cancelled-{ahead}");
    tenant.register(stack, &user, &token, "ios").await;
    let body = json!({
        "user_ids": [user],
        "send_at": send_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "alert": {"title": "Never"}
    });
    let batch = tenant.bulk(stack, body).await;
    for _ in 0..2 {
        let (status, cancelled) = tenant.cancel(stack, &batch).await;
        assert_eq!(
            (status, cancelled["status"].as_str()),
            (200, Some("cancelled")),
            "{cancelled}"
        );
    }
    let wait = (send_at - Utc::now()).num_seconds().max(0) + 20;
    tokio::time::sleep(Duration::from_secs(u64::try_from(wait).unwrap_or(20))).await;
    assert_eq!(pushes(stack, &token).await, 0, "a cancelled send arrived");
    assert_eq!(tenant.status(stack, &batch).await["status"], "cancelled");
}

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn scheduled_sends_arrive_once_on_time_and_cancelled_ones_never() {
    let stack = Stack::from_env();
    let (queued, scheduled, cancelled) = tokio::join!(
        tenant(&stack, "delayed"),
        tenant(&stack, "scheduler"),
        tenant(&stack, "cancelled"),
    );
    tokio::join!(
        // Within NOTIFY_SCHEDULE_AFTER_SECS: a delayed queue message.
        scheduled_send_arrives_once_on_time(
            &stack,
            &queued,
            12,
            json!({"user_ids": ["scheduled"]})
        ),
        // Beyond it: a schedule, fired by the runner up to a minute early.
        scheduled_send_arrives_once_on_time(&stack, &scheduled, 45, json!({"all_users": true})),
        cancelled_send_never_arrives(&stack, &cancelled, 10),
        cancelled_send_never_arrives(&stack, &cancelled, 40),
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run through scripts/test"]
async fn two_audiences_or_a_time_too_far_ahead_answer_400_naming_the_field() {
    let stack = Stack::from_env();
    let tenant = tenant(&stack, "refusals").await;
    let alert = json!({"title": "x"});
    let too_far = (Utc::now() + chrono::Duration::days(31)).to_rfc3339();
    for (body, field) in [
        (
            json!({"user_ids": ["a"], "topic": "sports", "alert": alert}),
            "`all_users`",
        ),
        (
            json!({"topic": "sports", "all_users": true, "alert": alert}),
            "`all_users`",
        ),
        (json!({"alert": alert}), "`user_ids`"),
        (json!({"topic": "a/b", "alert": alert}), "`topic`"),
        (
            json!({"all_users": true, "send_at": too_far, "alert": alert}),
            "`send_at`",
        ),
        (
            json!({"all_users": true, "send_at": "tomorrow", "alert": alert}),
            "`send_at`",
        ),
    ] {
        let (status, answer) = tenant
            .call(&stack, Method::POST, "/notify/bulk", body.clone())
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}: {answer}"
        );
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{body}: {detail}");
    }
}
