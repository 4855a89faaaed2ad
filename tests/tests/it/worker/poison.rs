//! Poison messages, provider faults and the last receive.

use super::*;

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_at_once_with_its_reason() {
    let rig = BulkRig::start().await;
    rig.send_raw("{\"kind\":\"deliver\",\"tenant_id\":").await;
    let round = rig
        .round(Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("nothing was queued"));
    assert_eq!((round.records, round.deleted), (1, 1), "{round:?}");
    assert!(round.failed.is_empty(), "{round:?}");
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    let moved = rig
        .sqs
        .receive_message()
        .queue_url(&rig.queues.dlq_url)
        .message_attribute_names("All")
        .send()
        .await
        .ok()
        .and_then(|output| output.messages?.into_iter().next())
        .unwrap_or_else(|| panic!("nothing in the dead-letter queue"));
    assert_eq!(
        moved.body.as_deref(),
        Some("{\"kind\":\"deliver\",\"tenant_id\":")
    );
    let reason = moved
        .message_attributes
        .unwrap_or_default()
        .get("notify_reason")
        .and_then(|value| value.string_value.clone());
    assert_eq!(
        reason.as_deref(),
        Some("the body is not a queue message of this version")
    );
}

#[tokio::test]
async fn without_a_dead_letter_queue_a_poison_message_is_reported_until_sqs_moves_it() {
    let mut rig = BulkRig::with_quick_redelivery(2).await;
    // A worker that cannot reach the dead-letter queue itself.
    let app = notify_shared::App::with_clients(
        rig.env.app.config.clone(),
        rig.env.dynamodb.clone(),
        notify_shared::secrets::Secrets::new(
            rig.env.secrets.clone(),
            rig.env.tenant_secret_prefix.clone(),
        ),
        rig.sqs.clone(),
    );
    let delivery = notify_shared::service::delivery::Delivery::from_app(&app)
        .unwrap_or_else(|err| panic!("provider clients: {err}"));
    rig.worker = notify_shared::service::worker::Worker::new(
        app,
        delivery,
        WorkerSettings {
            dead_letter_queue_url: None,
            ..rig.worker.settings.clone()
        },
    );
    rig.send_raw("{\"kind\":\"deliver\",\"tenant_id\":").await;
    let mut reported = 0;
    for _ in 0..10 {
        if let Some(round) = rig.round(Duration::from_secs(2)).await {
            assert_eq!(round.records, 1);
            assert_eq!(round.failed.len(), 1, "poison is reported every time");
            assert_eq!(round.deleted, 0);
            reported += 1;
        }
        if rig.queue_depth(&rig.queues.dlq_url).await == 1 {
            break;
        }
    }
    assert_eq!(reported, 2, "received maxReceiveCount times");
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 1);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    let moved = rig
        .sqs
        .receive_message()
        .queue_url(&rig.queues.dlq_url)
        .send()
        .await
        .ok()
        .and_then(|output| output.messages?.into_iter().next()?.body);
    assert_eq!(
        moved.as_deref(),
        Some("{\"kind\":\"deliver\",\"tenant_id\":")
    );
}

#[tokio::test]
async fn transient_provider_faults_are_retried_and_eventually_delivered() {
    let rig = BulkRig::with_settings(
        QueueSettings {
            max_receive_count: 5,
            visibility_timeout_seconds: 1,
        },
        WorkerSettings {
            max_requeue_delay: Duration::from_secs(1),
            ..WorkerSettings::default()
        },
    )
    .await;
    let ids = users(0..10);
    let devices = one_device_each(&ids, ios_token, Platform::Ios);
    rig.register_many(&devices).await;
    // The first round's pushes fail with a 5xx, which APNs asks not to be
    // retried for 15 minutes (shortened to a second here: see
    // `max_requeue_delay`); then 429s with Retry-After that the engine
    // waits out.
    rig.sim
        .fault(json!({"fault": "status", "status": 500, "count": 10}))
        .await;
    rig.sim
        .fault(json!({"fault": "status", "status": 429, "count": 3, "retry_after_secs": 1}))
        .await;
    let batch_id = queue(&rig, &ids).await;

    let first = rig.queued_round().await;
    assert_eq!(first.failed.len(), 1, "retried through SQS: {first:?}");
    assert!(rig.sim.deliveries().await.is_empty());
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "delivering");

    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    assert_eq!(report["delivered"], 10, "{report}");
    assert_eq!(report["failed"], 0);
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.len(), 10);
    assert!(pushes.values().all(|count| *count == 1), "{pushes:?}");
}

#[tokio::test]
async fn pushes_still_failing_on_the_last_receive_count_as_failed_so_the_batch_finishes() {
    let rig = BulkRig::with_quick_redelivery(2).await;
    let ids = users(0..4);
    let devices = one_device_each(&ids, fcm_token, Platform::Android);
    rig.register_many(&devices).await;
    rig.sim
        .fault(json!({"fault": "status", "status": 503, "provider": "fcm"}))
        .await;
    let batch_id = queue(&rig, &ids).await;
    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    assert_eq!(
        (report["delivered"].clone(), report["failed"].clone()),
        (json!(0), json!(4)),
        "{report}"
    );
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 0);
}
