//! Chunks of a batch still being enqueued, and a worker dying mid-wave.

use super::*;

#[tokio::test]
async fn a_chunk_of_a_batch_still_being_enqueued_waits_for_it() {
    let rig = BulkRig::start().await;
    let ids = users(0..2);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    let batch_id = uuid::Uuid::new_v4().to_string();
    let batch = Batch {
        batch_id: batch_id.clone(),
        tenant_id: rig.tenant_id.clone(),
        state: BatchState::Pending,
        total: 2,
        accepted: 2,
        rejected: 0,
        chunks: 1,
        delivered: 0,
        failed: 0,
        no_devices: 0,
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        created_by: "owner".to_owned(),
        started_at: None,
        expires_at: chrono::Utc::now().timestamp() + 3600,
        audience: None,
        audience_pending: false,
        send_at: None,
        notification: None,
        metered_key: None,
    };
    rig.env
        .app
        .store
        .insert_batch(&batch)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let notification = Notification {
        badge: Some(1),
        ..Default::default()
    };
    let body = QueueMessage::Deliver(DeliverChunk {
        tenant_id: rig.tenant_id.clone(),
        batch_id: batch_id.clone(),
        chunk: 0,
        user_ids: ids.clone(),
        notification,
    })
    .to_body()
    .unwrap_or_else(|err| panic!("{err}"));
    let meta = MessageMeta {
        message_id: "m1".to_owned(),
        receive_count: 1,
        receipt_handle: None,
        deadline: None,
        hop: 0,
        schema: None,
        key_id: None,
    };
    assert_eq!(
        rig.worker.process(&body, &meta).await.verdict,
        Verdict::Retry
    );
    assert!(rig.sim.deliveries().await.is_empty());
    let (status, _) = rig.status(&batch_id).await;
    assert_eq!(status, 404, "a pending batch is not reported");

    rig.env
        .app
        .store
        .settle_batch_state(&rig.tenant_id, &batch_id, BatchState::Open)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        rig.worker.process(&body, &meta).await.verdict,
        Verdict::Done
    );
    assert_eq!(rig.pushes_by_token().await.len(), 6);
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "done");
}

/// The one case exactly-once cannot cover (docs/operations.md, "What one
/// tenant cannot do to another"): a worker that dies after a wave's pushes
/// and before that wave's record. Its redelivery pushes that wave again, and
/// only that wave: every other device once, the batch counted once.
#[tokio::test]
async fn a_worker_dying_between_a_waves_pushes_and_its_record_repeats_that_wave_only() {
    let settings = WorkerSettings {
        wave_users: 2,
        ..WorkerSettings::default()
    };
    let rig = BulkRig::with_settings(QueueSettings::default(), settings.clone()).await;
    let ids = users(0..6);
    let devices = one_device_each(&ids, ios_token, Platform::Ios);
    rig.register_many(&devices).await;
    let batch_id = queue(&rig, &ids).await;
    let event = rig.next_event().await;

    // The first invocation pushes wave 1 (users 0 and 1), then cannot
    // record it: as far as the table knows, it died there.
    let faults = notify_tests::Faults::default();
    faults.fail("PutItem", 1);
    let app = faults.app(&rig.env);
    let delivery = notify_shared::service::delivery::Delivery::from_app(&app)
        .unwrap_or_else(|err| panic!("provider clients: {err}"));
    let dying = notify_shared::service::worker::Worker::new(app, delivery, settings);
    let response = delivery_worker::process_event(&dying, event.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(faults.pending("PutItem"), 0, "the record was attempted");
    assert_eq!(rig.pushes_by_token().await.len(), 2, "wave 1 was pushed");

    // SQS delivers it again to a healthy worker.
    let round = rig.invoke(&event).await;
    assert!(round.failed.is_empty(), "{round:?}");
    let pushes = rig.pushes_by_token().await;
    for (n, (_, token, _)) in devices.iter().enumerate() {
        let expected = if n < 2 { 2 } else { 1 };
        assert_eq!(pushes.get(token), Some(&expected), "device {n}: {pushes:?}");
    }
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(report["delivered"], 6, "counted once: {report}");
}
