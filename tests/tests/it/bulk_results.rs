//! `GET .../notify/bulk/{batch_id}/results`: every device a bulk send
//! reached once with its final outcome, every user without devices once,
//! page after page; through redeliveries, the last receive and two workers
//! on one message; shortened tokens for send-only keys; 400s and 404s.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use notify_shared::model::bulk_results::OVER_QUOTA;
use notify_shared::model::Platform;
use notify_shared::service::worker::WorkerSettings;
use notify_shared::store::ReadConsistency;
use notify_tests::delivery::{fcm_token, ios_token, QueueSettings};
use notify_tests::{BulkRig, Call};
use serde_json::{json, Value};

fn hello(user_ids: &[&str]) -> Value {
    json!({"user_ids": user_ids, "alert": {"title": "Flash sale", "body": "20% off today only"}})
}

async fn send(rig: &BulkRig, user_ids: &[&str]) -> String {
    let (status, body) = rig.bulk(hello(user_ids)).await;
    assert_eq!(status, 200, "{body}");
    body["batch_id"].as_str().unwrap_or_default().to_owned()
}

/// (user_id, token, platform, outcome, reason) of each row, sorted, with
/// the number of times each appears.
fn tally(rows: &[Value]) -> BTreeMap<(String, String, String, String, String), usize> {
    let text = |value: &Value| match value {
        Value::Null => "null".to_owned(),
        other => other.as_str().unwrap_or("?").to_owned(),
    };
    let mut tally = BTreeMap::new();
    for row in rows {
        let key = (
            text(&row["user_id"]),
            text(&row["token"]),
            text(&row["platform"]),
            text(&row["outcome"]),
            text(&row["reason"]),
        );
        *tally.entry(key).or_insert(0) += 1;
    }
    tally
}

fn row(
    user: &str,
    token: &str,
    platform: &str,
    outcome: &str,
    reason: &str,
) -> (String, String, String, String, String) {
    (
        user.to_owned(),
        token.to_owned(),
        platform.to_owned(),
        outcome.to_owned(),
        reason.to_owned(),
    )
}

/// alice: an iPhone and a dead Android token; bob: no devices; carol: an
/// iPhone; and an invalid id. Delivered until done.
async fn delivered_batch(rig: &BulkRig) -> String {
    rig.register(&[
        ("alice".to_owned(), ios_token(1), Platform::Ios),
        ("alice".to_owned(), fcm_token(2), Platform::Android),
        ("carol".to_owned(), ios_token(3), Platform::Ios),
    ])
    .await;
    rig.sim
        .fault(json!({"fault": "unregistered", "token": fcm_token(2)}))
        .await;
    let batch_id = send(rig, &["alice", "bob", "carol", ""]).await;
    rig.drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    batch_id
}

fn as_owner(rig: &BulkRig) -> impl Fn(Call) -> Call + '_ {
    move |call| call.bearer(&rig.owner)
}

#[tokio::test]
async fn every_device_and_user_without_devices_appears_once_across_pages_of_one_row() {
    let rig = BulkRig::start().await;
    let batch_id = delivered_batch(&rig).await;

    let rows = rig.all_results(&batch_id, 1, &[], as_owner(&rig)).await;
    let expected = BTreeMap::from([
        (row("alice", &ios_token(1), "ios", "delivered", "null"), 1),
        (
            row("alice", &fcm_token(2), "android", "removed", "UNREGISTERED"),
            1,
        ),
        (row("bob", "null", "null", "no_devices", "null"), 1),
        (row("carol", &ios_token(3), "ios", "delivered", "null"), 1),
    ]);
    assert_eq!(tally(&rows), expected, "{rows:#?}");
    // The invalid id was never queued: not listed.
    assert!(rows.iter().all(|row| row["user_id"] != ""));
    // Users in their order in the chunk.
    let users: Vec<&str> = rows
        .iter()
        .filter_map(|row| row["user_id"].as_str())
        .collect();
    assert!(users.windows(2).all(|pair| pair[0] <= pair[1]), "{users:?}");

    // The removed token is gone from the registry; alice's iPhone is not.
    let left = rig
        .env
        .app
        .store
        .list_devices(&rig.tenant_id, "alice", ReadConsistency::Strong)
        .await
        .unwrap_or_else(|err| panic!("listing devices: {err}"));
    let tokens: Vec<&str> = left.iter().map(|device| device.token.as_str()).collect();
    assert_eq!(tokens, vec![ios_token(1).as_str()]);

    // One page of everything says the same, and is the last.
    let (status, page) = rig.results_as(&batch_id, &[], as_owner(&rig)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(
        tally(page["results"].as_array().map_or(&[][..], Vec::as_slice)),
        expected
    );
}

#[tokio::test]
async fn the_outcome_filter_keeps_only_its_rows() {
    let rig = BulkRig::start().await;
    let batch_id = delivered_batch(&rig).await;
    for (outcome, users) in [
        ("delivered", vec!["alice", "carol"]),
        ("removed", vec!["alice"]),
        ("no_devices", vec!["bob"]),
        ("failed", vec![]),
    ] {
        let rows = rig
            .all_results(&batch_id, 1, &[("outcome", outcome)], as_owner(&rig))
            .await;
        assert!(rows.iter().all(|row| row["outcome"] == outcome), "{rows:?}");
        let listed: Vec<&str> = rows
            .iter()
            .filter_map(|row| row["user_id"].as_str())
            .collect();
        assert_eq!(listed, users, "{outcome}");
    }
}

#[tokio::test]
async fn a_key_without_the_devices_scope_sees_shortened_tokens() {
    let rig = BulkRig::start().await;
    let batch_id = delivered_batch(&rig).await;
    let send_only = rig.key("sender", json!(["send"])).await;
    let full = rig.key("backend", json!(["send", "devices"])).await;

    let shortened = rig
        .all_results(&batch_id, 100, &[], |call| call.api_key(&send_only))
        .await;
    let with_token: Vec<&str> = shortened
        .iter()
        .filter_map(|row| row["token"].as_str())
        .collect();
    assert_eq!(with_token.len(), 3, "{shortened:?}");
    for token in with_token {
        assert_eq!(token.chars().count(), 9, "{token}");
        assert!(token.ends_with('…'));
        assert!(
            [ios_token(1), fcm_token(2), ios_token(3)]
                .iter()
                .any(|full| full.starts_with(token.trim_end_matches('…'))),
            "{token}"
        );
    }
    let whole = rig
        .all_results(&batch_id, 100, &[], |call| call.api_key(&full))
        .await;
    assert_eq!(
        tally(&whole),
        tally(&rig.all_results(&batch_id, 100, &[], as_owner(&rig)).await)
    );

    let devices_only = rig.key("registry", json!(["devices"])).await;
    let (status, body) = rig
        .results_as(&batch_id, &[], |call| call.api_key(&devices_only))
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn bad_outcome_limit_and_cursor_are_refused_naming_the_field() {
    let rig = BulkRig::start().await;
    let batch_id = delivered_batch(&rig).await;
    let beyond_the_last_chunk = URL_SAFE_NO_PAD.encode("1.0");
    for (name, value) in [
        ("outcome", "success"),
        ("outcome", ""),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("limit", "-5"),
        ("cursor", "not-a-cursor"),
        ("cursor", ""),
        ("cursor", beyond_the_last_chunk.as_str()),
        ("cursor", &URL_SAFE_NO_PAD.encode("0.0.XYZ")),
    ] {
        let (status, body) = rig
            .results_as(&batch_id, &[(name, value)], as_owner(&rig))
            .await;
        assert_eq!(status, 400, "{name}={value}: {body}");
        assert_eq!(body["code"], "invalid_request", "{body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&format!("`{name}`")),
            "{name}={value}: {detail}"
        );
    }
}

#[tokio::test]
async fn unknown_malformed_and_other_tenants_batches_are_404() {
    let rig = BulkRig::start().await;
    let batch_id = delivered_batch(&rig).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for missing in [unknown.as_str(), "not-a-uuid"] {
        let (status, body) = rig.results_as(missing, &[], as_owner(&rig)).await;
        assert_eq!(status, 404, "{body}");
    }
    // Another tenant's owner, on their own tenant, naming this batch.
    let (other_tenant, other_owner) = rig.other_tenant("globex").await;
    let request = notify_tests::call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}/results")
        .param("tenant_id", &other_tenant)
        .param("batch_id", &batch_id)
        .bearer(&other_owner);
    let (status, body) =
        notify_tests::parts(&notify_bulk_results::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("alice"), "{body}");
    // Another tenant's batch, named on this tenant.
    let (status, other) = rig
        .bulk_on(&other_tenant, &other_owner, hello(&["zed"]))
        .await;
    assert_eq!(status, 200, "{other}");
    let other_batch = other["batch_id"].as_str().unwrap_or_default();
    let (status, body) = rig.results_as(other_batch, &[], as_owner(&rig)).await;
    assert_eq!(status, 404, "{body}");
}

/// Each user with an iPhone and an Android phone (`3n+1`, `3n+2`); dave's
/// iPhone token is dead.
async fn two_devices_each(rig: &BulkRig, users: &[&str]) {
    let devices: Vec<(String, String, Platform)> = users
        .iter()
        .enumerate()
        .flat_map(|(n, user)| {
            [
                (user.to_string(), ios_token(3 * n + 1), Platform::Ios),
                (user.to_string(), fcm_token(3 * n + 2), Platform::Android),
            ]
        })
        .collect();
    rig.register(&devices).await;
}

#[tokio::test]
async fn a_redelivered_chunk_lists_each_device_once_with_its_final_outcome() {
    let rig = BulkRig::with_quick_redelivery(5).await;
    let users = ["dave", "erin"];
    two_devices_each(&rig, &users).await;
    rig.sim
        .fault(json!({"fault": "unregistered", "token": ios_token(1)}))
        .await;
    // FCM fails every attempt of the first receive; APNs answers.
    rig.sim
        .fault(json!({"fault": "status", "status": 500, "count": 8, "provider": "fcm"}))
        .await;
    let batch_id = send(&rig, &users).await;
    let first = rig.queued_round().await;
    assert_eq!(first.failed.len(), 1, "{first:?}");
    // Nobody is settled, but dave's dead token was final (and removed) in
    // this first attempt: it is listed already, and nothing else is.
    let (status, page) = rig.results_as(&batch_id, &[], as_owner(&rig)).await;
    assert_eq!(status, 200, "{page}");
    let early = page["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        tally(&early),
        BTreeMap::from([(
            row("dave", &ios_token(1), "ios", "removed", "Unregistered"),
            1
        )]),
        "{page}"
    );

    rig.drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    let rows = rig.all_results(&batch_id, 1, &[], as_owner(&rig)).await;
    let expected = BTreeMap::from([
        (
            row("dave", &ios_token(1), "ios", "removed", "Unregistered"),
            1,
        ),
        (
            row("dave", &fcm_token(2), "android", "delivered", "null"),
            1,
        ),
        (row("erin", &ios_token(4), "ios", "delivered", "null"), 1),
        (
            row("erin", &fcm_token(5), "android", "delivered", "null"),
            1,
        ),
    ]);
    assert_eq!(tally(&rows), expected, "{rows:#?}");
}

#[tokio::test]
async fn on_the_last_receive_a_transient_failure_is_listed_failed_with_its_reason() {
    let rig = BulkRig::with_quick_redelivery(2).await;
    two_devices_each(&rig, &["frank"]).await;
    // FCM never answers but 503: the second receive is the last.
    rig.sim
        .fault(json!({"fault": "status", "status": 503, "provider": "fcm"}))
        .await;
    let batch_id = send(&rig, &["frank"]).await;
    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 1, "{report}");
    let rows = rig.all_results(&batch_id, 1, &[], as_owner(&rig)).await;
    let tallied = tally(&rows);
    assert_eq!(tallied.values().sum::<usize>(), 2, "{rows:#?}");
    assert_eq!(
        tallied.get(&row("frank", &ios_token(1), "ios", "delivered", "null")),
        Some(&1)
    );
    let android = rows
        .iter()
        .find(|row| row["platform"] == "android")
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert_eq!(android["outcome"], "failed", "{android}");
    assert_eq!(android["token"], fcm_token(2));
    assert!(
        !android["reason"].as_str().unwrap_or_default().is_empty(),
        "{android}"
    );
}

#[tokio::test]
async fn two_workers_on_one_message_still_list_each_device_once() {
    let rig = BulkRig::with_settings(
        QueueSettings {
            visibility_timeout_seconds: 1,
            ..QueueSettings::default()
        },
        WorkerSettings::default(),
    )
    .await;
    let users = ["gina", "hank", "ivan"];
    two_devices_each(&rig, &users).await;
    let batch_id = send(&rig, &users).await;
    let event = rig.next_event().await;
    // SQS hands the same message to two invocations at once.
    let (_, _) = tokio::join!(
        delivery_worker::process_event(&rig.worker, event.clone()),
        delivery_worker::process_event(&rig.worker, event.clone())
    );
    rig.drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    let rows = rig.all_results(&batch_id, 2, &[], as_owner(&rig)).await;
    let tallied = tally(&rows);
    assert_eq!(tallied.len(), 6, "{rows:#?}");
    assert!(tallied.values().all(|count| *count == 1), "{rows:#?}");
    assert!(
        rows.iter().all(|row| row["outcome"] == "delivered"),
        "{rows:#?}"
    );
}

#[tokio::test]
async fn users_left_over_the_tenant_s_pushes_per_day_are_listed_failed_with_the_reason() {
    let rig = BulkRig::start().await;
    let users = ["u0", "u1", "u2", "u3", "u4"];
    let devices: Vec<(String, String, Platform)> = users
        .iter()
        .enumerate()
        .map(|(n, user)| (user.to_string(), ios_token(n), Platform::Ios))
        .collect();
    rig.register(&devices).await;
    let changes = notifyctl::limits::LimitChanges {
        pushes_per_day: Some(notifyctl::limits::LimitSetting::Set(3)),
        ..Default::default()
    };
    notifyctl::limits::tenant_limits(&rig.env.app.store, &rig.tenant_id, changes)
        .await
        .unwrap_or_else(|err| panic!("notifyctl tenant-limits: {err:#}"));
    let batch_id = send(&rig, &users).await;
    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(
        (report["delivered"].clone(), report["failed"].clone()),
        (json!(3), json!(2))
    );

    let rows = rig.all_results(&batch_id, 1, &[], as_owner(&rig)).await;
    let mut expected = BTreeMap::new();
    for (n, user) in users.iter().enumerate() {
        let expected_row = match n < 3 {
            true => row(user, &ios_token(n), "ios", "delivered", "null"),
            false => row(user, "null", "null", "failed", OVER_QUOTA),
        };
        expected.insert(expected_row, 1);
    }
    assert_eq!(tally(&rows), expected, "{rows:#?}");
}

#[tokio::test]
async fn pages_run_across_chunks_in_order_with_each_user_once() {
    let rig = BulkRig::start().await;
    // 501 users: two chunks (500 and 1); only the last one has a device.
    let users: Vec<String> = (0..501).map(|n| format!("user-{n:03}")).collect();
    rig.register(&[("user-500".to_owned(), ios_token(500), Platform::Ios)])
        .await;
    let ids: Vec<&str> = users.iter().map(String::as_str).collect();
    let batch_id = send(&rig, &ids).await;
    rig.drain_until_done(&batch_id, Duration::from_secs(120))
        .await;

    let rows = rig.all_results(&batch_id, 300, &[], as_owner(&rig)).await;
    let listed: Vec<&str> = rows
        .iter()
        .filter_map(|row| row["user_id"].as_str())
        .collect();
    assert_eq!(listed, ids, "every user once, chunk by chunk, in order");
    assert_eq!(rows[500]["outcome"], "delivered", "{}", rows[500]);
    assert!(rows[..500].iter().all(|row| row["outcome"] == "no_devices"));

    // Only the second chunk has a delivered row: the filter skips the first.
    let delivered = rig
        .all_results(&batch_id, 1, &[("outcome", "delivered")], as_owner(&rig))
        .await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["token"], ios_token(500));
}
