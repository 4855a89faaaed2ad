//! Audience batches against the emulator, with the worker driven message
//! by message: an audience of more than one page, each page delivered
//! twice (SQS and EventBridge Scheduler deliver at least once); a
//! scheduled page that comes early; a cancel that wins over the firing.

use std::time::Duration;

use notify_shared::model::{Platform, QueueMessage, ReadAudience};
use notify_shared::store::AUDIENCE_PAGE_USERS;
use notify_tests::delivery::ios_token;
use notify_tests::BulkRig;
use serde_json::{json, Value};

fn devices(users: usize) -> Vec<(String, String, Platform)> {
    (0..users)
        .map(|n| (format!("user-{n:05}"), ios_token(n), Platform::Ios))
        .collect()
}

fn send_at(seconds_ahead: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds_ahead))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Invokes the worker with each message twice, as a duplicated delivery
/// would, until the queue stays empty. One record an event: a tenant's
/// records beyond its share of an event are set aside as new messages, and
/// doubling those would double the work at every round.
async fn drain_twice_each(rig: &BulkRig) {
    loop {
        let received =
            sqs_trigger::receive_event(&rig.sqs, &rig.queues.url, 1, Duration::from_secs(1))
                .await
                .unwrap_or_else(|err| panic!("receiving: {err:#}"));
        let Some((event, _)) = received else {
            return;
        };
        rig.invoke(&event).await;
        rig.invoke(&event).await;
    }
}

#[tokio::test]
async fn an_all_users_send_over_two_pages_reaches_each_device_once_though_each_message_comes_twice()
{
    let rig = BulkRig::start().await;
    let users = AUDIENCE_PAGE_USERS + 5;
    let registered = devices(users);
    rig.register_many(&registered).await;
    let (status, batch) = rig
        .bulk(json!({"all_users": true, "alert": {"title": "Everyone"}}))
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(
        (batch["status"].as_str(), batch["total"].clone()),
        (Some("queued"), Value::Null)
    );
    let batch_id = batch["batch_id"].as_str().unwrap_or_default().to_owned();
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(
        report["total"],
        Value::Null,
        "total unknown until read: {report}"
    );

    drain_twice_each(&rig).await;
    let (status, report) = rig.status(&batch_id).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            report["status"].as_str(),
            report["total"].as_u64(),
            report["delivered"].as_u64()
        ),
        (Some("done"), Some(users as u64), Some(users as u64)),
        "{report}"
    );
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.len(), users);
    assert!(
        pushes.values().all(|&n| n == 1),
        "a device got the push twice"
    );
}

#[tokio::test]
async fn a_scheduled_page_that_comes_early_waits_for_send_at_and_then_delivers_once() {
    let rig = BulkRig::start().await;
    rig.register(&devices(1)).await;
    let (status, batch) = rig
        .bulk(
            json!({"user_ids": ["user-00000"], "send_at": send_at(6), "alert": {"title": "Later"}}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(
        (batch["status"].as_str(), batch["total"].as_u64()),
        (Some("scheduled"), Some(1))
    );
    let batch_id = batch["batch_id"].as_str().unwrap_or_default().to_owned();
    // The first page as a schedule firing early would put it on the queue.
    let early = QueueMessage::ReadAudience(ReadAudience {
        tenant_id: rig.tenant_id.clone(),
        batch_id: batch_id.clone(),
        page: 0,
        after: None,
        first_chunk: 0,
    });
    rig.send_raw(&early.to_versioned_body().unwrap_or_default())
        .await;
    let round = rig.round(Duration::from_secs(2)).await;
    assert_eq!(
        round.map(|round| round.failed.len()),
        Some(1),
        "held back, not acknowledged"
    );
    assert!(
        rig.sim.deliveries().await.is_empty(),
        "delivered before send_at"
    );
    assert_eq!(rig.status(&batch_id).await.1["status"], "scheduled");

    tokio::time::sleep(Duration::from_secs(7)).await;
    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 1, "{report}");
    rig.drain().await;
    assert_eq!(
        rig.sim.deliveries().await.len(),
        1,
        "delivered more than once"
    );
    let (status, refused) = rig.cancel(&batch_id).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("not_cancellable")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_cancelled_batch_is_never_delivered_when_its_time_comes() {
    let rig = BulkRig::start().await;
    rig.register(&devices(1)).await;
    let (status, batch) = rig
        .bulk(json!({"all_users": true, "send_at": send_at(3), "alert": {"title": "Never"}}))
        .await;
    assert_eq!(status, 200, "{batch}");
    let batch_id = batch["batch_id"].as_str().unwrap_or_default().to_owned();
    let (status, cancelled) = rig.cancel(&batch_id).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    rig.drain().await;
    assert!(rig.sim.deliveries().await.is_empty());
    assert_eq!(rig.status(&batch_id).await.1["status"], "cancelled");
    assert_eq!(
        rig.queue_depth(&rig.queues.url).await,
        0,
        "the page was dropped"
    );
    // A batch sent now was never scheduled: 409; an unknown one 404.
    let (_, now) = rig
        .bulk(json!({"user_ids": ["user-00000"], "alert": {"title": "Now"}}))
        .await;
    let (status, _) = rig
        .cancel(now["batch_id"].as_str().unwrap_or_default())
        .await;
    assert_eq!(status, 409);
    let (status, _) = rig.cancel(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_tenant_may_have_a_thousand_sends_waiting_and_a_cancel_or_a_start_frees_a_place() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let rig = BulkRig::start().await;
    rig.register(&devices(1)).await;
    // The tenant's count as 999 waiting sends leave it.
    rig.env
        .dynamodb
        .put_item()
        .table_name(&rig.env.app.config.table_name)
        .item("PK", AttributeValue::S(format!("TENANT#{}", rig.tenant_id)))
        .item("SK", AttributeValue::S("SCHEDULED_BATCHES".to_owned()))
        .item("scheduled", AttributeValue::N("999".to_owned()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let later = |seconds: i64| json!({"all_users": true, "send_at": send_at(seconds), "alert": {"title": "Later"}});
    let (status, first) = rig.bulk(later(600)).await;
    assert_eq!(status, 200, "{first}");
    let refused = |(status, answer): (u16, Value)| {
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("too_many_scheduled_sends")),
            "{answer}"
        );
    };
    refused(rig.bulk(later(600)).await);
    // A cancel frees a place...
    let (status, _) = rig
        .cancel(first["batch_id"].as_str().unwrap_or_default())
        .await;
    assert_eq!(status, 200);
    let (status, soon) = rig.bulk(later(2)).await;
    assert_eq!(status, 200, "{soon}");
    refused(rig.bulk(later(600)).await);
    // ...and so does a send that starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let batch_id = soon["batch_id"].as_str().unwrap_or_default();
    rig.drain_until_done(batch_id, Duration::from_secs(60))
        .await;
    let (status, answer) = rig.bulk(later(600)).await;
    assert_eq!(status, 200, "{answer}");
    // Sends without `send_at` are not counted.
    let (status, now) = rig
        .bulk(json!({"all_users": true, "alert": {"title": "Now"}}))
        .await;
    assert_eq!(status, 200, "{now}");
}
