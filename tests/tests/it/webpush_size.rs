//! A bulk send whose Web Push message is too large once encrypted: accepted
//! (APNs and FCM take it, and the request cannot know the users'
//! platforms), then that device fails with a reason and nothing reaches
//! the push service.

use std::time::Duration;

use notify_tests::flows::patch_tenant;
use notify_tests::{call, parts, BrowserSubscription, BulkRig};
use serde_json::{json, Value};

/// The values of three fields of an answer.
fn fields(answer: &Value, names: [&str; 3]) -> [Value; 3] {
    names.map(|name| answer[name].clone())
}

#[tokio::test]
async fn a_bulk_send_too_large_for_web_push_once_encrypted_fails_that_device_and_sends_nothing() {
    let rig = BulkRig::start().await;
    let web_push = json!({"web_push": {"subject": "mailto:ops@acme.example"}});
    let (status, tenant) = patch_tenant(&rig.env, &rig.owner, &rig.tenant_id, web_push).await;
    assert_eq!(status, 200, "{tenant}");
    let browser = BrowserSubscription::new(&rig.sim.web_push_endpoint("too-large"));
    let register = call("POST", "/tenants/{tenant_id}/devices")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner)
        .json(
            json!({"user_id": "reader", "platform": "webpush", "subscription": browser.to_json()}),
        )
        .build();
    let (status, device) = parts(&device_register::handle(&rig.env.app, register).await);
    assert_eq!(status, 200, "{device}");

    // Fits APNs' 4096-byte payload and FCM's limit; with the message id the
    // Web Push plaintext passes the 3993 bytes one 4096-byte record holds.
    let body = "x".repeat(3950);
    let (status, answer) = rig
        .bulk(json!({"user_ids": ["reader"], "alert": {"body": body}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let counts = fields(&answer, ["total", "success", "failed"]);
    assert_eq!(counts, [json!(1), json!(1), json!(0)], "{answer}");
    let batch_id = answer["batch_id"].as_str().unwrap_or_default().to_owned();
    let done = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "done", "{done}");
    let counts = fields(&done, ["delivered", "failed", "no_devices"]);
    assert_eq!(counts, [json!(0), json!(1), json!(0)], "{done}");
    assert!(rig
        .sim
        .web_push_deliveries(&browser.endpoint)
        .await
        .is_empty());
    // The device is kept: the message was at fault, not the subscription.
    let list = call("GET", "/tenants/{tenant_id}/devices")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner)
        .query("user_id", "reader")
        .build();
    let (_, listed) = parts(&device_list::handle(&rig.env.app, list).await);
    assert_eq!(
        listed["devices"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}
