//! FCM's rules as the delivery worker meets them: a project over its quota
//! is left alone for the minute FCM asks for, the chunk waits on the queue
//! meanwhile instead of holding the invocation, and another tenant's chunk
//! is not held up by it.

use std::time::Duration;

use notify_shared::model::Platform;
use notify_tests::delivery::fcm_token;
use notify_tests::rig_flows::one_device_each;
use notify_tests::BulkRig;
use serde_json::json;

#[tokio::test]
async fn a_chunk_meeting_fcms_quota_comes_back_after_its_minute_not_at_the_visibility_timeout() {
    let rig = BulkRig::with_quick_redelivery(5).await;
    let ids: Vec<String> = (0..6).map(|n| format!("user-{n:05}")).collect();
    let devices = one_device_each(&ids, fcm_token, Platform::Android);
    rig.register_many(&devices).await;
    rig.sim
        .fault(json!({"fault": "quota", "requests": 0, "window_secs": 120}))
        .await;
    let (status, body) = rig
        .bulk(json!({"user_ids": ids, "alert": {"title": "Sale", "body": "Today"}}))
        .await;
    assert_eq!(status, 200, "{body}");

    let first = rig
        .round(Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("the chunk was not queued"));
    assert_eq!(first.failed.len(), 1, "{first:?}");
    // The queue's visibility timeout is 1 s; FCM asked for a minute.
    assert_eq!(rig.round(Duration::from_secs(3)).await, None);
    let faults = rig
        .sim
        .admin_call(reqwest::Method::GET, "/admin/faults", None)
        .await;
    let throttled: u64 = faults["faults"]["quota"]["throttled"]
        .as_object()
        .map(|by_project| by_project.values().filter_map(|n| n.as_u64()).sum())
        .unwrap_or(0);
    assert!(
        throttled <= 6,
        "one request at most per device, none retried: {faults}"
    );
}
