//! A bulk send's pushes count in the usage of the key that enqueued it
//! (issue 20): the chunk carries the key as the `notify_key_id` message
//! attribute, and the worker adds each message's pushes to the key's hour,
//! also when the chunk was set aside for fairness on the way.

use std::time::Duration;

use notify_tests::flows::{create_key, ios_users, As};
use notify_tests::{call, parts, BulkRig};
use serde_json::{json, Value};

/// The sums of the key's hour buckets (all 48: the send may cross an hour).
async fn key_totals(rig: &BulkRig, key_id: &str) -> [u64; 5] {
    let request = call("GET", "/tenants/{tenant_id}/api-keys/{key_id}/usage")
        .param("tenant_id", &rig.tenant_id)
        .param("key_id", key_id)
        .bearer(&rig.owner);
    let (status, usage) = parts(&api_key_usage::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 200, "{usage}");
    let buckets: Vec<Value> = usage["buckets"].as_array().cloned().unwrap_or_default();
    [
        "requests",
        "rejected",
        "throttled",
        "pushes",
        "pushes_failed",
    ]
    .map(|name| {
        buckets
            .iter()
            .filter_map(|bucket| bucket[name].as_u64())
            .sum()
    })
}

/// A rig with three users of one device each, and a `send` key: (key, key id).
async fn rig_with_key(rig: &BulkRig) -> (Vec<String>, String, String) {
    let (users, devices) = ios_users(3);
    rig.register(&devices).await;
    let (status, created) = create_key(
        &rig.env.app,
        As::User(&rig.owner),
        &rig.tenant_id,
        json!({"name": "backend", "scopes": ["send"]}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    let key_id = created["key_id"].as_str().unwrap_or_default().to_owned();
    (users, key, key_id)
}

/// A bulk send of `users` made with `key`: its batch id.
async fn bulk_with(rig: &BulkRig, users: &[String], key: &str) -> String {
    let body = json!({"user_ids": users, "alert": {"title": "Sale"}});
    let (status, batch) = rig.bulk_as(body, |call| call.api_key(key)).await;
    assert_eq!(status, 200, "{batch}");
    batch["batch_id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_bulk_send_s_pushes_made_later_by_the_worker_show_in_the_key_s_usage() {
    let rig = BulkRig::start().await;
    let (users, key, key_id) = rig_with_key(&rig).await;
    let batch_id = bulk_with(&rig, &users, &key).await;
    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 3, "{report}");

    // One request; three pushes, none failed, counted by the worker.
    assert_eq!(key_totals(&rig, &key_id).await, [1, 0, 0, 3, 0]);
}

#[tokio::test]
async fn a_chunk_set_aside_for_fairness_still_counts_against_the_key_that_enqueued_it() {
    let rig = BulkRig::start().await;
    let (users, key, key_id) = rig_with_key(&rig).await;
    let batch_id = bulk_with(&rig, &users, &key).await;
    // The worker sets the chunk aside (a tenant over its share of an
    // invocation): a copy goes to the back of the queue, the original is
    // acknowledged.
    let event = rig.next_event().await;
    let record = &event.records[0];
    let meta = delivery_worker::meta_of(record, None);
    assert_eq!(meta.key_id.as_deref(), Some(key_id.as_str()));
    let body = record.body.clone().unwrap_or_default();
    rig.worker
        .set_aside(&body, &rig.tenant_id, &meta)
        .await
        .unwrap_or_else(|err| panic!("setting aside: {err}"));
    rig.sqs
        .delete_message()
        .queue_url(&rig.queues.url)
        .set_receipt_handle(record.receipt_handle.clone())
        .send()
        .await
        .unwrap_or_else(|err| panic!("acknowledging the original: {err}"));

    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 3, "{report}");
    assert_eq!(key_totals(&rig, &key_id).await, [1, 0, 0, 3, 0]);
}
