//! Apple's connection rules and the shared provider connections, through
//! the app and the worker against the push simulator (which plays the
//! rules): tenants of different teams and keys on one app, data-only sends
//! to Apple devices, and one tenant's many Web Push origins.

use std::collections::HashMap;
use std::time::Duration;

use notify_shared::model::Platform;
use notify_shared::service::delivery::Delivery;
use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::{call, parts, BrowserSubscription, BulkRig};
use serde_json::{json, Value};

const BUNDLE_ID: &str = "com.acme.app";

/// A sandbox tenant of the rig's org whose APNs key the simulator makes
/// (`extra`: e.g. the `team_id` of an existing team); with its team id.
async fn apns_tenant(rig: &BulkRig, extra: Value) -> (String, String) {
    let mut body = json!({"bundle_id": BUNDLE_ID});
    for (name, value) in extra.as_object().cloned().unwrap_or_default() {
        body[name] = value;
    }
    let mut tenant = rig
        .sim
        .admin_call(reqwest::Method::POST, "/admin/credentials", Some(body))
        .await;
    tenant["org_id"] = json!("acme");
    tenant["use_sandbox"] = json!(true);
    let team_id = tenant["team_id"].as_str().unwrap_or_default().to_owned();
    (rig.env.create_tenant(&rig.owner, tenant).await, team_id)
}

async fn send(rig: &BulkRig, delivery: &Delivery, tenant_id: &str, body: Value) -> Value {
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", tenant_id)
        .bearer(&rig.owner)
        .json(body)
        .build();
    let (status, answer) = parts(&notify_send::handle(&rig.env.app, delivery, request).await);
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn bulk(rig: &BulkRig, tenant_id: &str, body: Value) -> String {
    let request = call("POST", "/tenants/{tenant_id}/notify/bulk")
        .param("tenant_id", tenant_id)
        .bearer(&rig.owner)
        .json(body)
        .build();
    let (status, answer) = parts(&notify_bulk::handle(&rig.env.app, request).await);
    assert!(status == 200 || status == 202, "{status}: {answer}");
    answer["batch_id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn tenants_of_two_teams_and_of_two_keys_of_one_team_sending_in_turn_get_every_push_delivered()
{
    let rig = BulkRig::start().await;
    let (other_team, team_id) = apns_tenant(&rig, json!({})).await;
    let (second_key, _) = apns_tenant(&rig, json!({"team_id": team_id})).await;
    let tenants = [rig.tenant_id.clone(), other_team, second_key];
    for (n, tenant_id) in tenants.iter().enumerate() {
        rig.env
            .register_devices(tenant_id, &[("u".into(), ios_token(n), Platform::Ios)])
            .await;
    }
    // One notify-send container and one worker container for every tenant.
    let delivery = rig.env.delivery();
    let mut batches = Vec::new();
    for round in 0..2 {
        for tenant_id in &tenants {
            let answer = send(
                &rig,
                &delivery,
                tenant_id,
                json!({"user_id": "u", "alert": {"title": format!("single {round}")}}),
            )
            .await;
            assert_eq!(answer["delivered"], 1, "tenant {tenant_id}: {answer}");
            let batch = bulk(
                &rig,
                tenant_id,
                json!({"user_ids": ["u"], "alert": {"title": format!("bulk {round}")}}),
            )
            .await;
            batches.push((tenant_id.clone(), batch));
        }
    }
    for (tenant_id, batch) in &batches {
        let mut report = Value::Null;
        for _ in 0..20 {
            rig.round(Duration::from_secs(1)).await;
            let request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
                .param("tenant_id", tenant_id)
                .param("batch_id", batch)
                .bearer(&rig.owner)
                .build();
            report = parts(&notify_bulk_status::handle(&rig.env.app, request).await).1;
            if report["status"] == "done" {
                break;
            }
        }
        assert_eq!(report["status"], "done", "{report}");
        assert_eq!(report["failed"], 0, "tenant {tenant_id}: {report}");
    }
    let pushes = rig.pushes_by_token().await;
    for n in 0..tenants.len() {
        assert_eq!(
            pushes.get(&ios_token(n)),
            Some(&4),
            "device {n}: {pushes:?}"
        );
    }
}

#[tokio::test]
async fn a_data_only_send_to_an_apple_device_is_delivered_as_a_background_push() {
    let rig = BulkRig::start().await;
    rig.register(&[("u".into(), ios_token(1), Platform::Ios)])
        .await;
    let answer = send(
        &rig,
        &rig.env.delivery(),
        &rig.tenant_id,
        json!({"user_id": "u", "data": {"order": "42"}}),
    )
    .await;
    assert_eq!(answer["delivered"], 1, "{answer}");
    let deliveries = rig.sim.deliveries().await;
    let apple = deliveries
        .iter()
        .find(|d| d["provider"] == "apns")
        .cloned()
        .unwrap_or_default();
    assert_eq!(apple["push_type"], "background", "{apple}");
    assert_eq!(apple["priority"], 5, "{apple}");
    assert_eq!(
        apple["payload"],
        json!({"aps": {"content-available": 1}, "order": "42"})
    );
}

/// A tenant with APNs, FCM and Web Push.
async fn web_push_tenant(rig: &BulkRig) -> String {
    let mut body = rig.sim.tenant_body("acme", BUNDLE_ID).await;
    body["web_push"] = json!({"subject": "mailto:ops@acme.com"});
    rig.env.create_tenant(&rig.owner, body).await
}

async fn register(rig: &BulkRig, tenant_id: &str, body: Value) -> (u16, Value) {
    let request = call("POST", "/tenants/{tenant_id}/devices")
        .param("tenant_id", tenant_id)
        .bearer(&rig.owner)
        .json(body)
        .build();
    parts(&device_register::handle(&rig.env.app, request).await)
}

/// Security review N1: Web Push endpoints on 70 invented hosts under an
/// allowed wildcard (`*.notify.windows.com`) once took every place in the
/// container's origin map.
#[tokio::test]
async fn a_tenant_sending_to_70_invented_push_service_hosts_leaves_other_tenants_pushes_arriving() {
    let rig = BulkRig::start().await;
    let delivery = rig.env.delivery();
    let attacker = web_push_tenant(&rig).await;
    let victim = web_push_tenant(&rig).await;
    for n in 0..70 {
        let endpoint = format!("https://x{n}.notify.windows.com/w/?token=1");
        let subscription = BrowserSubscription::new(&endpoint).to_json();
        let (status, answer) = register(
            &rig,
            &attacker,
            json!({"user_id": "a", "platform": "webpush", "subscription": subscription}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let attack = send(
        &rig,
        &delivery,
        &attacker,
        json!({"user_id": "a", "alert": {"title": "x"}}),
    )
    .await;
    assert_eq!(
        attack["delivered"], 0,
        "invented hosts do not answer: {attack}"
    );

    rig.env
        .register_devices(
            &victim,
            &[
                ("v".into(), ios_token(7), Platform::Ios),
                ("v".into(), fcm_token(7), Platform::Android),
            ],
        )
        .await;
    let subscription = rig.sim.web_push_subscription(None).await;
    let (status, answer) = register(
        &rig,
        &victim,
        json!({"user_id": "v", "platform": "webpush", "subscription": subscription}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer = send(
        &rig,
        &delivery,
        &victim,
        json!({"user_id": "v", "alert": {"title": "hi"}}),
    )
    .await;
    let outcomes: HashMap<String, Value> = answer["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r["platform"].as_str().unwrap_or_default().to_owned(), r))
        .collect();
    for platform in ["ios", "android", "webpush"] {
        assert_eq!(
            outcomes.get(platform).map(|r| r["success"].clone()),
            Some(json!(true)),
            "{platform}: {answer}"
        );
    }
}
