//! A bulk send's pushes count in the usage of the key that enqueued it
//! (issue 20): the chunk carries the key as the `notify_key_id` message
//! attribute, and the worker adds each message's pushes to the key's hour.

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

#[tokio::test]
async fn a_bulk_send_s_pushes_made_later_by_the_worker_show_in_the_key_s_usage() {
    let rig = BulkRig::start().await;
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

    let body = json!({"user_ids": users, "alert": {"title": "Sale"}});
    let (status, batch) = rig.bulk_as(body, |call| call.api_key(&key)).await;
    assert_eq!(status, 200, "{batch}");
    let batch_id = batch["batch_id"].as_str().unwrap_or_default();
    let report = rig
        .drain_until_done(batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 3, "{report}");

    // One request; three pushes, none failed, counted by the worker.
    assert_eq!(key_totals(&rig, &key_id).await, [1, 0, 0, 3, 0]);
}
