//! Messages delivered twice, retried, out of time or named wrongly in a
//! response: nothing pushed or counted twice, nothing lost.

use super::*;

#[tokio::test]
async fn the_same_message_delivered_twice_pushes_nothing_again_and_counts_nothing_again() {
    let rig = BulkRig::start().await;
    let ids = users(0..20);
    let devices = three_devices_each(&ids, 0);
    rig.register_many(&devices).await;
    let batch_id = queue(&rig, &ids).await;

    let event = rig.next_event().await;
    let first = rig.invoke(&event).await;
    assert!(first.failed.is_empty(), "{first:?}");
    let (_, after_first) = rig.status(&batch_id).await;
    assert_eq!(after_first["status"], "done");
    assert_eq!(after_first["delivered"], 20);

    // SQS delivers the same message again (at-least-once).
    let again = delivery_worker::process_event(&rig.worker, event.clone()).await;
    assert!(again.batch_item_failures.is_empty());
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.values().sum::<usize>(), 60);
    assert!(pushes.values().all(|count| *count == 1));
    let (_, after_second) = rig.status(&batch_id).await;
    assert_eq!(after_first, after_second);
}

#[tokio::test]
async fn a_retried_chunk_skips_the_devices_that_already_accepted_the_push() {
    let rig = BulkRig::with_quick_redelivery(5).await;
    let ids = users(0..10);
    let devices = three_devices_each(&ids, 0);
    rig.register_many(&devices).await;
    // FCM fails every attempt of the first round (10 pushes x 4 attempts);
    // APNs accepts.
    rig.sim
        .fault(json!({"fault": "status", "status": 500, "count": 40, "provider": "fcm"}))
        .await;
    let batch_id = queue(&rig, &ids).await;
    let first = rig.queued_round().await;
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert_eq!(
        rig.pushes_by_token().await.len(),
        20,
        "the APNs devices only"
    );

    let report = rig
        .drain_until_done(&batch_id, Duration::from_secs(30))
        .await;
    assert_eq!(report["delivered"], 10, "{report}");
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.len(), 30);
    assert!(pushes.values().all(|count| *count == 1), "{pushes:?}");
}

#[tokio::test]
async fn a_message_out_of_time_is_retried_with_nothing_lost() {
    let rig = BulkRig::start().await;
    let ids = users(0..3);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    let batch_id = queue(&rig, &ids).await;
    let event = rig.next_event().await;
    // The invocation is about to time out: no wave starts.
    let response = delivery_worker::process_event_until(
        &rig.worker,
        event.clone(),
        Some(Instant::now() + Duration::from_secs(1)),
    )
    .await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(rig.sim.deliveries().await.is_empty());

    let round = rig.invoke(&event).await;
    assert!(round.failed.is_empty(), "{round:?}");
    assert_eq!(rig.pushes_by_token().await.len(), 9);
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "done");
}

#[tokio::test]
async fn a_response_naming_an_unknown_message_deletes_nothing_like_lambda() {
    let rig = BulkRig::start().await;
    rig.queue_purge().await;
    let event = rig.next_event().await;
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    response.add_failure("not-in-this-batch");
    let acknowledged = sqs_trigger::acknowledge(&rig.sqs, &rig.queues.url, &event, &response)
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!((acknowledged.deleted, acknowledged.kept), (0, 1));
    let done = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    let acknowledged = sqs_trigger::acknowledge(&rig.sqs, &rig.queues.url, &event, &done)
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(acknowledged.deleted, 1);
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
}
