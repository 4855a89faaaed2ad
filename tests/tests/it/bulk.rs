//! `POST /tenants/{id}/notify/bulk` and `GET .../notify/bulk/{batch_id}`:
//! what the endpoints answer, what they queue, and who may call them.

use std::time::Duration;

use notify_shared::model::{Platform, QueueMessage};
use notify_shared::service::bulk::{MAX_USERS_PER_CHUNK, MAX_USER_IDS};
use notify_tests::delivery::ios_token;
use notify_tests::keys::tenant_with_apns;
use notify_tests::{call, parts, BulkRig};
use serde_json::{json, Value};

fn users(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("user-{n:05}")).collect()
}

fn hello(user_ids: Vec<String>) -> Value {
    json!({"user_ids": user_ids, "alert": {"title": "Flash sale", "body": "20% off today only"}})
}

#[tokio::test]
async fn a_bulk_send_answers_at_once_and_reports_the_batch_queued() {
    let rig = BulkRig::start().await;
    let mut ids = users(0..3);
    ids.push("user-00001".to_owned());
    ids.push("bad\nid".to_owned());
    let (status, body) = rig.bulk(hello(ids)).await;
    assert_eq!(status, 200, "{body}");
    let batch_id = body["batch_id"].as_str().unwrap_or_default().to_owned();
    assert!(uuid::Uuid::parse_str(&batch_id).is_ok(), "{body}");
    assert_eq!(
        body,
        json!({"batch_id": batch_id, "total": 4, "success": 3, "failed": 1, "status": "queued"})
    );
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 1);
    assert!(
        rig.sim.deliveries().await.is_empty(),
        "nothing is delivered inline"
    );

    let (status, report) = rig.status(&batch_id).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"batch_id": batch_id, "status": "queued", "total": 4,
               "delivered": 0, "failed": 1, "no_devices": 0})
    );
}

#[tokio::test]
async fn ten_thousand_users_are_queued_as_20_messages_in_2_send_message_batch_calls() {
    let rig = BulkRig::start().await;
    let ids = users(0..MAX_USER_IDS);
    let started = std::time::Instant::now();
    let (status, body) = rig.bulk(hello(ids.clone())).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], 10_000);
    assert_eq!(rig.spy.calls("SendMessageBatch"), 2);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 20);
    println!("10,000 users: 2 SendMessageBatch calls, 20 messages, answered in {elapsed:?}");

    // Each user in exactly one chunk, chunks numbered 0..20.
    let mut seen = Vec::new();
    let mut chunks = Vec::new();
    for _ in 0..4 {
        let Some((event, _)) =
            sqs_trigger::receive_event(&rig.sqs, &rig.queues.url, 10, Duration::from_secs(1))
                .await
                .unwrap_or_else(|err| panic!("receiving: {err:#}"))
        else {
            break;
        };
        for record in event.records {
            let message = QueueMessage::from_body(record.body.as_deref().unwrap_or_default());
            let Ok(QueueMessage::Deliver(chunk)) = message else {
                panic!("not a deliver message");
            };
            assert!(chunk.user_ids.len() <= MAX_USERS_PER_CHUNK);
            chunks.push(chunk.chunk);
            seen.extend(chunk.user_ids);
        }
    }
    chunks.sort_unstable();
    assert_eq!(chunks, (0..20).collect::<Vec<u32>>());
    seen.sort();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn invalid_bulk_bodies_are_400_naming_the_field() {
    let rig = BulkRig::start().await;
    let alert = json!({"title": "t"});
    let cases = [
        (json!({"user_ids": [], "alert": alert}), "`user_ids`"),
        (
            json!({"user_ids": users(0..MAX_USER_IDS + 1), "alert": alert}),
            "`user_ids`",
        ),
        (json!({"alert": alert}), "`user_ids`"),
        (json!({"user_ids": "u1", "alert": alert}), "`user_ids`"),
        (
            json!({"user_ids": ["u1", 7], "alert": alert}),
            "`user_ids[1]`",
        ),
        (
            json!({"user_ids": ["", "a\u{0}b"], "alert": alert}),
            "`user_ids[0]`",
        ),
        (
            json!({"user_ids": ["u1"], "alert": alert, "user_id": "u2"}),
            "unknown field `user_id`",
        ),
        (
            json!({"user_ids": ["u1"], "alert": {"title": "t", "icon": "x"}}),
            "`alert.icon`",
        ),
        (json!({"user_ids": ["u1"], "badge": "one"}), "`badge`"),
        (json!({"user_ids": ["u1"]}), "`alert`"),
        (
            json!({"user_ids": ["u1"], "data": {"aps": 1}}),
            "`data.aps`",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = rig.bulk(body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_request", "{answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{field} not in {detail}");
    }
    let (status, answer) = rig
        .bulk(json!({"user_ids": ["u1"], "alert": {"body": "x".repeat(5000)}}))
        .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(rig.spy.calls("SendMessageBatch"), 0);
}

#[tokio::test]
async fn an_api_key_without_the_send_scope_is_forbidden() {
    let rig = BulkRig::start().await;
    let (_, queued) = rig.bulk(hello(users(0..1))).await;
    let batch_id = queued["batch_id"].as_str().unwrap_or_default().to_owned();
    let key = rig.key("ios-app", json!(["devices"])).await;

    let (status, body) = rig.bulk_as(hello(users(0..1)), |c| c.api_key(&key)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`send`"));
    let request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
        .param("tenant_id", &rig.tenant_id)
        .param("batch_id", &batch_id)
        .api_key(&key);
    let (status, _) = parts(&notify_bulk_status::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 403);
    assert_eq!(
        rig.queue_depth(&rig.queues.url).await,
        1,
        "only the owner's batch"
    );

    // A key with the scope may do both.
    let sender = rig.key("backend", json!(["send"])).await;
    let (status, body) = rig
        .bulk_as(hello(users(0..1)), |c| c.api_key(&sender))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn another_tenants_api_key_is_forbidden_and_reveals_nothing() {
    let rig = BulkRig::start().await;
    let (_, queued) = rig.bulk(hello(users(0..2))).await;
    let batch_id = queued["batch_id"].as_str().unwrap_or_default().to_owned();
    let other = rig
        .env
        .create_tenant(&rig.owner, tenant_with_apns("acme"))
        .await;
    let created = rig
        .env
        .create_api_key(&rig.owner, &other, json!({"name": "other"}))
        .await;
    let key = created["key"].as_str().unwrap_or_default();

    let (status, body) = rig.bulk_as(hello(users(0..1)), |c| c.api_key(key)).await;
    assert_eq!(status, 403, "{body}");
    let request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
        .param("tenant_id", &rig.tenant_id)
        .param("batch_id", &batch_id)
        .api_key(key);
    let (status, body) = parts(&notify_bulk_status::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 403, "{body}");
    assert!(!body.to_string().contains(&batch_id));
    // Its own tenant's path does not know the batch either.
    let request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
        .param("tenant_id", &other)
        .param("batch_id", &batch_id)
        .api_key(key);
    let (status, _) = parts(&notify_bulk_status::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 404);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 1);
}

#[tokio::test]
async fn unknown_and_malformed_batch_ids_are_404() {
    let rig = BulkRig::start().await;
    for batch_id in [
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".to_owned(),
        "BATCH#x".to_owned(),
    ] {
        let (status, body) = rig.status(&batch_id).await;
        assert_eq!(status, 404, "{batch_id}: {body}");
        assert_eq!(body["code"], "not_found");
    }
    // Upper case is the same UUID.
    let (_, queued) = rig.bulk(hello(users(0..1))).await;
    let batch_id = queued["batch_id"].as_str().unwrap_or_default();
    let (status, _) = rig.status(&batch_id.to_uppercase()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer_and_queues_nothing_more() {
    let rig = BulkRig::start().await;
    let body = hello(users(0..3));
    let send = || {
        rig.bulk_as(body.clone(), |c| {
            c.bearer(&rig.owner)
                .header("idempotency-key", "campaign-42")
        })
    };
    let (status, first) = send().await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = send().await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(first, again);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 1);
    assert_eq!(rig.spy.calls("SendMessageBatch"), 1);

    let (status, other) = rig
        .bulk_as(hello(users(0..4)), |c| {
            c.bearer(&rig.owner)
                .header("idempotency-key", "campaign-42")
        })
        .await;
    assert_eq!(status, 422, "{other}");
}

#[tokio::test]
async fn a_bulk_send_that_fails_midway_answers_503_and_its_queued_chunks_deliver_nothing() {
    let rig = BulkRig::start().await;
    // 6,000 users: 12 chunks, 2 calls; the second call fails.
    let ids = users(0..6_000);
    let devices: Vec<_> = [0usize, 1, 5_998, 5_999]
        .iter()
        .map(|&n| (ids[n].clone(), ios_token(n), Platform::Ios))
        .collect();
    rig.register(&devices).await;
    rig.spy.fail_send_batch_call(2);
    let (status, body) = rig.bulk(hello(ids)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "service_unavailable");
    assert_eq!(rig.spy.calls("SendMessageBatch"), 2);

    // The failed call's messages reached the queue anyway.
    let queued = rig.queue_depth(&rig.queues.url).await;
    assert!(queued > 0, "{queued} chunks queued");
    let rounds = rig.drain().await;
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert_eq!(
        rig.queue_depth(&rig.queues.url).await,
        0,
        "dropped, not retried"
    );
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 0);
    assert!(rig.sim.deliveries().await.is_empty());
}
