//! The delivery worker, driven the way Lambda's SQS event source mapping
//! drives it: bulk batches delivered exactly once per device, counted once,
//! retried on transient faults, poison to the dead-letter queue, deleted
//! tenants left alone and purged.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use notify_shared::model::{Batch, BatchState, DeliverChunk, Notification, Platform, QueueMessage};
use notify_shared::service::bulk::MAX_USERS_PER_CHUNK;
use notify_shared::service::worker::{MessageMeta, Verdict, WorkerSettings};
use notify_tests::delivery::{fcm_token, ios_token, QueueSettings};
use notify_tests::{call, parts, BulkRig};
use serde_json::{json, Value};

fn users(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("user-{n:05}")).collect()
}

fn hello(user_ids: &[String]) -> Value {
    json!({"user_ids": user_ids, "alert": {"title": "Flash sale", "body": "20% off today only"}})
}

/// Two APNs devices and one FCM device for each user (device numbers
/// `3n`, `3n+1`, `3n+2`).
fn three_devices_each(ids: &[String], first_user: usize) -> Vec<(String, String, Platform)> {
    ids.iter()
        .enumerate()
        .flat_map(|(i, user)| {
            let n = (first_user + i) * 3;
            [
                (user.clone(), ios_token(n), Platform::Ios),
                (user.clone(), ios_token(n + 1), Platform::Watchos),
                (user.clone(), fcm_token(n + 2), Platform::Android),
            ]
        })
        .collect()
}

fn tokens(devices: &[(String, String, Platform)]) -> Vec<String> {
    devices
        .iter()
        .map(|(_, token, _)| token.to_ascii_lowercase())
        .collect()
}

async fn queue(rig: &BulkRig, ids: &[String]) -> String {
    let (status, body) = rig.bulk(hello(ids)).await;
    assert_eq!(status, 200, "{body}");
    body["batch_id"].as_str().unwrap_or_default().to_owned()
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// `registered` users with three devices each (the first five with every
/// device dead), 20 users without devices, 2 invalid ids and 50 repeats,
/// through the bulk endpoint and the worker: every live device gets exactly
/// one push, the dead ones are removed, and the batch ends `done` with the
/// right counts.
async fn bulk_to_users_with_three_devices_each(registered_users: usize) {
    // A failed message comes back after 2 s, as SQS would send it again.
    let rig = BulkRig::with_settings(
        QueueSettings {
            visibility_timeout_seconds: 2,
            ..QueueSettings::default()
        },
        WorkerSettings::default(),
    )
    .await;
    let registered = users(0..registered_users);
    let devices = three_devices_each(&registered, 0);
    let started = Instant::now();
    rig.register_many(&devices).await;
    println!(
        "registered {} devices in {:?}",
        devices.len(),
        started.elapsed()
    );
    let dead: Vec<_> = devices[..15].to_vec();
    for (_, token, _) in &dead {
        rig.sim
            .fault(json!({"fault": "unregistered", "token": token}))
            .await;
    }
    let mut ids = registered.clone();
    ids.extend(users(90_000..90_020));
    ids.extend(["".to_owned(), "x".repeat(257)]);
    ids.extend(registered[..50].iter().cloned());
    let (status, body) = rig.bulk(hello(&ids)).await;
    assert_eq!(status, 200, "{body}");
    let total = registered_users + 22;
    assert_eq!(
        (
            body["total"].clone(),
            body["success"].clone(),
            body["failed"].clone()
        ),
        (json!(total), json!(total - 2), json!(2))
    );
    let batch_id = body["batch_id"].as_str().unwrap_or_default().to_owned();

    // One chunk per invocation (WorkerBatchSize 1): moto deep-copies the
    // table for every transaction and fails it (a 500) when another write
    // lands meanwhile, which would leave dead tokens behind at random here.
    // A message that fails anyway is delivered again, as in AWS; each chunk
    // must succeed exactly once, and no device may get a second push.
    let started = Instant::now();
    let mut rounds = Vec::new();
    while let Some(round) = rig.round_of(1, Duration::from_secs(3)).await {
        rounds.push(round);
        assert!(started.elapsed() < Duration::from_secs(900), "{rounds:?}");
    }
    let elapsed = started.elapsed();
    let chunks = (total - 2).div_ceil(MAX_USERS_PER_CHUNK);
    let succeeded: usize = rounds
        .iter()
        .map(|round| round.records - round.failed.len())
        .sum();
    assert_eq!(succeeded, chunks, "{rounds:?}");

    let pushes = rig.pushes_by_token().await;
    let live: HashSet<String> = tokens(&devices[15..]).into_iter().collect();
    for token in &live {
        assert_eq!(pushes.get(token), Some(&1), "one push per live device");
    }
    assert_eq!(pushes.values().sum::<usize>(), live.len());
    println!(
        "{} users / {} pushes in {chunks} chunks delivered in {elapsed:?} (moto-bound); VmHWM {:?} KiB",
        total - 2,
        live.len(),
        vm_hwm_kib()
    );

    let (status, report) = rig.status(&batch_id).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"batch_id": batch_id, "status": "done", "total": total,
               "delivered": registered_users - 5, "failed": 7, "no_devices": 20})
    );
    // The dead devices are gone from the registry; the others stay.
    let left = |user: usize| {
        let store = &rig.env.app.store;
        let tenant_id = &rig.tenant_id;
        let user_id = registered[user].clone();
        async move {
            store
                .list_devices(tenant_id, &user_id)
                .await
                .map(|devices| devices.len())
                .unwrap_or_else(|err| panic!("{err}"))
        }
    };
    assert_eq!(left(0).await, 0);
    assert_eq!(left(5).await, 3);
}

#[tokio::test]
async fn bulk_to_150_users_pushes_every_device_exactly_once_and_reports_done() {
    bulk_to_users_with_three_devices_each(150).await;
}

/// The same at the brief's scale: 1,000 users, 3,000 devices, 3 chunks.
#[tokio::test]
#[ignore = "minutes against moto, which scans the whole table for every Query: \
            scripts/test runs it as its own step (bulk-1000)"]
async fn bulk_to_1000_users_pushes_every_device_exactly_once_and_reports_done() {
    bulk_to_users_with_three_devices_each(1000).await;
}

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
    let rig = BulkRig::with_settings(
        QueueSettings {
            max_receive_count: 5,
            visibility_timeout_seconds: 1,
        },
        WorkerSettings::default(),
    )
    .await;
    let ids = users(0..10);
    let devices = three_devices_each(&ids, 0);
    rig.register_many(&devices).await;
    // FCM fails every attempt of the first round (10 pushes x 4 attempts);
    // APNs accepts.
    rig.sim
        .fault(json!({"fault": "status", "status": 500, "count": 40, "provider": "fcm"}))
        .await;
    let batch_id = queue(&rig, &ids).await;
    let first = rig
        .round(Duration::from_secs(1))
        .await
        .unwrap_or_else(|| panic!("the chunk was not queued"));
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
    rig.send_raw(&format!(
        r#"{{"kind":"purge_tenant","tenant_id":"{}"}}"#,
        rig.tenant_id
    ))
    .await;
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
    let mut rig = BulkRig::with_settings(
        QueueSettings {
            max_receive_count: 2,
            visibility_timeout_seconds: 1,
        },
        WorkerSettings::default(),
    )
    .await;
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
    let devices: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, user)| (user.clone(), ios_token(n), Platform::Ios))
        .collect();
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

    let first = rig
        .round(Duration::from_secs(1))
        .await
        .unwrap_or_else(|| panic!("the chunk was not queued"));
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
    let rig = BulkRig::with_settings(
        QueueSettings {
            max_receive_count: 2,
            visibility_timeout_seconds: 1,
        },
        WorkerSettings::default(),
    )
    .await;
    let ids = users(0..4);
    let devices: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, user)| (user.clone(), fcm_token(n), Platform::Android))
        .collect();
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

#[tokio::test]
async fn a_deleted_tenants_queued_message_delivers_nothing() {
    let rig = BulkRig::start().await;
    let ids = users(0..5);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    queue(&rig, &ids).await;
    let request = call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner);
    let (status, body) = parts(&tenant_delete::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 200, "{body}");

    let rounds = rig.drain().await;
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert!(rig.sim.deliveries().await.is_empty());
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 0);
}

#[tokio::test]
async fn a_purge_message_deletes_a_deleted_tenants_items_in_steps() {
    let rig = BulkRig::with_settings(
        QueueSettings::default(),
        WorkerSettings {
            purge_step: 10,
            purge_budget: Duration::ZERO,
            ..WorkerSettings::default()
        },
    )
    .await;
    let ids = users(0..50);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    // The tenant item alone goes, as if the deletion stopped there.
    assert_eq!(
        rig.env.app.store.delete_tenant(&rig.tenant_id).await.ok(),
        Some(true)
    );
    rig.send_raw(&format!(
        r#"{{"kind":"purge_tenant","tenant_id":"{}"}}"#,
        rig.tenant_id
    ))
    .await;

    let rounds = rig.drain().await;
    assert!(rounds.len() >= 2, "purged in several messages: {rounds:?}");
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    let left = rig.env.table_dump().await;
    assert!(
        !left.contains(&rig.tenant_id),
        "items of the tenant are left"
    );
}

#[tokio::test]
async fn a_purge_message_for_a_live_tenant_is_refused() {
    let rig = BulkRig::start().await;
    let ids = users(0..3);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    rig.send_raw(&format!(
        r#"{{"kind":"purge_tenant","tenant_id":"{}"}}"#,
        rig.tenant_id
    ))
    .await;
    let rounds = rig.drain().await;
    assert_eq!(rounds.len(), 1);
    assert!(rounds[0].failed.is_empty(), "dropped, not retried");
    let devices = rig
        .env
        .app
        .store
        .list_devices(&rig.tenant_id, &ids[0])
        .await
        .map(|devices| devices.len())
        .ok();
    assert_eq!(devices, Some(3));
}

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
    let devices: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, user)| (user.clone(), ios_token(n), Platform::Ios))
        .collect();
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
