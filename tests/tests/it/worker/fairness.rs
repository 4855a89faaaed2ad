//! Fair delivery between tenants (issue 20): a quiet tenant's small bulk
//! send is done within 10 seconds though a noisy tenant's 10,000-user send
//! was queued just before it, with the worker driven by one poller as
//! `tools/sqs-trigger` drives it; and every delivery message carries its
//! tenant as `MessageGroupId`.

use aws_sdk_sqs::types::MessageSystemAttributeName;
use notify_shared::service::tenants::enqueue_purge;

use super::*;

/// Pollers: the template's `WorkerMaximumConcurrency` default.
const POLLERS: usize = 10;

/// Seconds from each batch's request to its `done`.
#[derive(Debug)]
struct Timings {
    quiet: f64,
    noisy: f64,
}

/// The case, with `tenant_share` records of one tenant per invocation and
/// `pollers` invocations at once.
async fn noisy_then_quiet(tenant_share: usize, pollers: usize) -> Timings {
    let settings = WorkerSettings {
        tenant_share,
        ..WorkerSettings::default()
    };
    let rig = BulkRig::with_settings(QueueSettings::default(), settings).await;
    // As in the review's attack (N2): ids without devices, each one a
    // lookup. (Devices for all of them would make moto, which copies the
    // whole table for every transaction, the bottleneck.)
    let noisy_ids = users(0..10_000);
    rig.register(&one_device_each(&noisy_ids[..3], ios_token, Platform::Ios))
        .await;
    let (quiet, quiet_owner) = rig.other_tenant("quiet-org").await;
    let quiet_ids = users(50_000..50_003);
    let quiet_devices = one_device_each(&quiet_ids, |n| fcm_token(50_000 + n), Platform::Android);
    rig.env.register_devices_fast(&quiet, &quiet_devices).await;

    let noisy_sent = Instant::now();
    let noisy_batch = queue(&rig, &noisy_ids).await;
    let quiet_sent = Instant::now();
    let (status, body) = rig.bulk_on(&quiet, &quiet_owner, hello(&quiet_ids)).await;
    assert_eq!(status, 200, "{body}");
    let quiet_batch = body["batch_id"].as_str().unwrap_or_default().to_owned();

    let done = |body: &Value| body["status"] == "done";
    // Independent pollers, each one batch at a time, as `sqs-trigger
    // --concurrency` and Lambda's event source mapping run them.
    let poller = || async {
        loop {
            rig.round(Duration::from_secs(2)).await;
        }
    };
    let running = futures::future::join_all((0..pollers).map(|_| poller()));
    let watch = async {
        let (mut quiet_done, mut noisy_done) = (None, None);
        while quiet_done.is_none() || noisy_done.is_none() {
            assert!(
                noisy_sent.elapsed() < Duration::from_secs(600),
                "not done in 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            if quiet_done.is_none() {
                let (_, body) = rig.status_on(&quiet, &quiet_owner, &quiet_batch).await;
                quiet_done = done(&body).then(|| quiet_sent.elapsed());
            }
            if noisy_done.is_none() {
                let (_, body) = rig.status(&noisy_batch).await;
                noisy_done = done(&body).then(|| {
                    assert_eq!(
                        (body["delivered"].clone(), body["no_devices"].clone()),
                        (json!(3), json!(9_997)),
                        "{body}"
                    );
                    noisy_sent.elapsed()
                });
            }
        }
        (quiet_done, noisy_done)
    };
    let (quiet_done, noisy_done) = tokio::select! {
        _ = running => unreachable!("pollers never end"),
        done = watch => done,
    };
    let pushes = rig.pushes_by_token().await;
    assert_eq!(pushes.len(), 6, "every device reached");
    assert!(pushes.values().all(|n| *n == 1), "no device pushed twice");
    let timings = Timings {
        quiet: quiet_done.map_or(0.0, |t| t.as_secs_f64()),
        noisy: noisy_done.map_or(0.0, |t| t.as_secs_f64()),
    };
    println!("tenant_share {tenant_share}, {pollers} pollers: {timings:?}");
    timings
}

/// The contract's words: the quiet batch "completes while a big one of
/// another tenant is still running", here with two thirds of the big one's
/// time still to go. Measured against the noisy batch's own time, not in
/// seconds: the emulator's speed varies by machine and moto version (the
/// noisy batch took from 39 s to over 380 s, the quiet one from 5 s to
/// 25 s, its floor being the trigger's polling), and speed targets live in
/// benchmarks. Without fair shares the quiet batch waits behind the noisy
/// one and finishes with it (a ratio near 1).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "its own step in scripts/test (fairness): a timing needs the emulator to itself"]
async fn a_quiet_tenants_small_send_is_done_while_a_noisy_tenants_ten_thousand_are_still_delivered_fair(
) {
    let timings = noisy_then_quiet(WorkerSettings::default().tenant_share, POLLERS).await;
    assert!(timings.noisy > 0.0, "the noisy batch completes too");
    assert!(
        timings.quiet <= timings.noisy / 3.0,
        "the quiet batch took more than a third of the noisy batch's time: {timings:?}"
    );
}

/// The same case as before issue 20 (every record of an event processed,
/// one poller), with each change alone, and with shares when the noisy
/// tenant holds the only poller: figures to compare. Run with `--ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn measure_the_fair_case_before_and_with_each_change() {
    for (share, pollers) in [(10, 1), (10, POLLERS), (2, 1)] {
        noisy_then_quiet(share, pollers).await;
    }
}

/// Bulk chunks, a purge and a set-aside copy all carry their tenant as
/// `MessageGroupId` (what makes the queue an SQS fair queue on AWS).
#[tokio::test(flavor = "multi_thread")]
async fn every_delivery_message_carries_its_tenant_as_message_group_id_fair() {
    let rig = BulkRig::start().await;
    queue(&rig, &users(0..1_200)).await;
    enqueue_purge(&rig.env.app, &rig.tenant_id)
        .await
        .unwrap_or_else(|err| panic!("enqueueing a purge: {err}"));
    // One chunk in flight, set aside.
    let (event, _) =
        sqs_trigger::receive_event(&rig.sqs, &rig.queues.url, 1, Duration::from_secs(1))
            .await
            .unwrap_or_else(|err| panic!("receiving: {err:#}"))
            .unwrap_or_else(|| panic!("nothing queued"));
    let body = event.records[0].body.clone().unwrap_or_default();
    rig.worker
        .set_aside(&body, &rig.tenant_id, &MessageMeta::default())
        .await
        .unwrap_or_else(|err| panic!("setting aside: {err}"));

    let mut groups = Vec::new();
    loop {
        let received = rig
            .sqs
            .receive_message()
            .queue_url(&rig.queues.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap_or_else(|err| panic!("receiving: {err}"));
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        groups.extend(messages.into_iter().map(|message| {
            message
                .attributes
                .and_then(|mut a| a.remove(&MessageSystemAttributeName::MessageGroupId))
        }));
    }
    // Two chunks (the third is in flight), the purge, the copy.
    assert_eq!(groups.len(), 4, "{groups:?}");
    assert!(
        groups
            .iter()
            .all(|g| g.as_deref() == Some(rig.tenant_id.as_str())),
        "{groups:?}"
    );
}
