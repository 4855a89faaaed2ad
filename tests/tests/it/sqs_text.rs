//! Text SQS cannot carry (U+FFFE, U+FFFF, C0 controls but tab, line feed and
//! carriage return) is a 400 naming the field, at the API, before anything
//! is stored or enqueued. In AWS such a bulk send was a permanent 503
//! (`InvalidMessageContents`); the emulator accepts the bodies, so these
//! tests check the rule itself.

use notify_tests::{call, parts, BulkRig};
use serde_json::{json, Value};

/// Bodies with one unsendable string each, and the field the 400 names.
fn poisoned(audience: Value) -> Vec<(Value, &'static str)> {
    let with = |fields: Value| {
        let mut body = audience.clone();
        if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
            body.extend(fields.clone());
        }
        body
    };
    vec![
        (with(json!({"sound": "\u{ffff}"})), "`sound`"),
        (
            with(json!({"alert": {"title": "\u{fffe}"}})),
            "`alert.title`",
        ),
        (
            with(json!({"alert": {"title": "t", "body": "a\u{1}b"}})),
            "`alert.body`",
        ),
        (with(json!({"data": {"k": "\u{ffff}"}})), "`data.k`"),
        (with(json!({"data": {"k\u{fffe}": "v"}})), "a key of `data`"),
        (
            with(json!({"data": {"list": ["ok", {"deep": "\u{ffff}"}]}})),
            "`data.list[1].deep`",
        ),
        (
            with(json!({"alert": {"title": "t"}, "category": "c\u{ffff}"})),
            "`category`",
        ),
        (
            with(json!({"alert": {"title": "t"}, "thread_id": "\u{b}"})),
            "`thread_id`",
        ),
        (
            with(json!({"alert": {"title": "t"}, "collapse_id": "\u{ffff}"})),
            "`collapse_id`",
        ),
        (
            with(
                json!({"push_type": "liveactivity", "live_activity": {"event": "update",
                "timestamp": 1_700_000_000, "content_state": {"score": "1\u{fffe}"}}}),
            ),
            "`live_activity.content_state.score`",
        ),
    ]
}

fn assert_names(status: u16, answer: &Value, field: &str, body: &Value) {
    assert_eq!(status, 400, "{body}: {answer}");
    assert_eq!(answer["code"], "invalid_request", "{answer}");
    let detail = answer["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(field), "{field} not in {detail}");
}

#[tokio::test]
async fn a_bulk_send_with_text_sqs_cannot_carry_is_a_400_naming_the_field_and_enqueues_nothing() {
    let rig = BulkRig::start().await;
    let before = rig.env.table_dump().await;
    let mut cases = poisoned(json!({"user_ids": ["u1", "u2"]}));
    cases.push((
        json!({"user_ids": ["u\u{ffff}"], "badge": 1}),
        "`user_ids[0]`",
    ));
    for (body, field) in cases {
        let (status, answer) = rig.bulk(body.clone()).await;
        assert_names(status, &answer, field, &body);
    }
    assert_eq!(rig.spy.calls("SendMessageBatch"), 0);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(
        before.matches("BATCH#").count(),
        rig.env.table_dump().await.matches("BATCH#").count(),
        "no batch recorded"
    );
    // A user id SQS cannot carry is never enqueued next to valid ones.
    let (status, answer) = rig
        .bulk(json!({"user_ids": ["u1", "u\u{fffe}"], "alert": {"title": "t\tok\r\n"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["success"].clone(), answer["failed"].clone()),
        (json!(1), json!(1))
    );
    let event = rig.next_event().await;
    for record in &event.records {
        let body = record.body.as_deref().unwrap_or_default();
        assert!(!body.contains('\u{fffe}'), "{body}");
    }
}

#[tokio::test]
async fn a_single_send_with_text_sqs_cannot_carry_is_a_400_naming_the_field() {
    let rig = BulkRig::start().await;
    let delivery = rig.env.delivery();
    let mut cases = poisoned(json!({"user_id": "u1"}));
    cases.push((json!({"user_id": "u\u{ffff}", "badge": 1}), "`user_id`"));
    for (body, field) in cases {
        let request = call("POST", "/tenants/{tenant_id}/notify")
            .param("tenant_id", &rig.tenant_id)
            .bearer(&rig.owner)
            .json(body.clone())
            .build();
        let (status, answer) = parts(&notify_send::handle(&rig.env.app, &delivery, request).await);
        assert_names(status, &answer, field, &body);
    }
    assert!(rig.sim.deliveries().await.is_empty());
}
