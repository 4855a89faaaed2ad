//! The delivery worker's memory is bounded in bytes, not device counts
//! (N4), and it reads queue messages of the previous and the next schema
//! version (rolling deploys).
//!
//! The memory test runs the worker in a process of its own (this test
//! binary again, running only the measuring test), so no other test's
//! allocations count, and reads the process's peak resident memory
//! (`VmHWM`) around one worker invocation.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessageAttribute;
use notify_shared::model::{Platform, QueueMessage};
use notify_shared::service::queue_schema::SCHEMA_ATTRIBUTE;
use notify_shared::service::worker::WorkerSettings;
use notify_shared::service::worker::WAVE_TOKEN_BYTES;
use notify_tests::delivery::{ios_token, QueueSettings};
use notify_tests::{BulkRig, PushSimulator};
use serde_json::json;

/// Messages of 100 users whose devices carry FCM tokens of 4,096
/// characters (the longest the contract allows), ten of them in one
/// invocation (the template's `WorkerBatchSize`). Ten devices a user, not
/// the cap's 100: the emulator cannot hold 10,000 such devices at test
/// speed, and a wave holds at most [`WAVE_TOKEN_BYTES`] of tokens whatever
/// the users' devices, so more devices a user make more waves, not a
/// higher peak.
const USERS: usize = 100;
const DEVICES_PER_USER: usize = 10;
const TOKEN_CHARS: usize = 4096;
const MESSAGES: usize = 10;
/// The delivery worker's `MemorySize` in `template.yaml`, in KiB.
const WORKER_MEMORY_KIB: u64 = 512 * 1024;
const MEASURED: &str = "NOTIFY_TEST_MEASURE_WORKER_MEMORY";

fn long_fcm_token(user: usize, device: usize) -> String {
    let prefix = format!("u{user}d{device}:");
    format!("{prefix}{}", "x".repeat(TOKEN_CHARS - prefix.len()))
}

/// A `/proc/self/status` figure in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Runs in the child process only (see the module docs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by ten_messages_of_users_with_4096_character_tokens_are_delivered_in_one_invocation_well_within_the_workers_memory"]
async fn measured_worker_run() {
    if std::env::var(MEASURED).is_err() {
        return;
    }
    let rig = BulkRig::with_simulator(
        PushSimulator::start_lean().await,
        QueueSettings::default(),
        WorkerSettings::default(),
    )
    .await;
    let devices: Vec<(String, String, Platform)> = (0..USERS)
        .flat_map(|user| {
            (0..DEVICES_PER_USER).map(move |device| {
                (
                    format!("user-{user}"),
                    long_fcm_token(user, device),
                    Platform::Android,
                )
            })
        })
        .collect();
    rig.register_many(&devices).await;
    drop(devices);
    let user_ids: Vec<String> = (0..USERS).map(|user| format!("user-{user}")).collect();
    let mut batches = Vec::new();
    for _ in 0..MESSAGES {
        let (status, answer) = rig
            .bulk(json!({"user_ids": user_ids, "alert": {"title": "Sale", "body": "20% off"}}))
            .await;
        assert_eq!(status, 200, "{answer}");
        batches.push(answer["batch_id"].as_str().unwrap_or_default().to_owned());
    }
    let mut event = rig.next_event().await;
    while event.records.len() < MESSAGES {
        let more = rig.next_event().await;
        event.records.extend(more.records);
    }
    assert_eq!(event.records.len(), MESSAGES);

    let before = status_kib("VmRSS");
    // Resets VmHWM to the current resident size (proc(5), clear_refs).
    std::fs::write("/proc/self/clear_refs", "5")
        .unwrap_or_else(|err| panic!("resetting the peak: {err}"));
    let started = std::time::Instant::now();
    let round = rig.invoke(&event).await;
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM");
    assert_eq!(round.records, MESSAGES);
    // A message may be retried (the emulator fails a concurrent transaction
    // now and then); every batch is delivered in the end.
    for batch_id in &batches {
        let status = rig
            .drain_until_done(batch_id, Duration::from_secs(120))
            .await;
        assert_eq!(status["delivered"], USERS, "{status}");
    }
    println!(
        "WORKER_MEMORY rss_before_kib={before} peak_kib={peak} growth_kib={} elapsed_ms={} retried={}",
        peak.saturating_sub(before),
        elapsed.as_millis(),
        round.failed.len()
    );
}

#[tokio::test]
async fn ten_messages_of_users_with_4096_character_tokens_are_delivered_in_one_invocation_well_within_the_workers_memory(
) {
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("test binary: {err}"));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args([
                "worker_memory::measured_worker_run",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(MEASURED, "1")
            .output()
    })
    .await
    .unwrap_or_else(|err| panic!("running the measurement: {err}"))
    .unwrap_or_else(|err| panic!("running the measurement: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figure = |name: &str| -> u64 {
        stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let (baseline, growth) = (figure("rss_before_kib"), figure("growth_kib"));
    println!(
        "worker peak for {MESSAGES} messages of {USERS} users x {DEVICES_PER_USER} tokens of \
         {TOKEN_CHARS} characters in one invocation: {growth} KiB over a {baseline} KiB process \
         ({} ms)",
        figure("elapsed_ms")
    );
    // The bound in bytes: about two waves of devices per message (the one
    // pushed and the next one read), plus room for the rest. Waves sized
    // by user count alone held 32.6 MiB here, and ten times that with the
    // cap's 100 devices a user.
    let bound_kib =
        u64::try_from(MESSAGES * 2 * WAVE_TOKEN_BYTES / 1024).unwrap_or(u64::MAX) + 4 * 1024;
    assert!(
        growth < bound_kib,
        "{MESSAGES} messages took {growth} KiB, over {bound_kib} KiB"
    );
    // On top of the process itself, well under the function's memory.
    assert!(
        baseline + growth < WORKER_MEMORY_KIB / 4,
        "{MESSAGES} messages took {growth} KiB over {baseline} KiB of the worker's \
         {WORKER_MEMORY_KIB} KiB"
    );
}

/// A real chunk, rewritten as the previous version (no schema attribute)
/// and as the next (attribute one up, with fields this worker does not
/// know), is delivered; and what this build writes is a body that a worker
/// from before versions (it refused any field it did not know, and read no
/// attribute) reads as it is.
#[tokio::test]
async fn the_worker_delivers_messages_of_the_previous_and_the_next_schema_version() {
    let rig = BulkRig::start().await;
    let devices: Vec<(String, String, Platform)> = (0..3)
        .map(|n| (format!("u{n}"), ios_token(n), Platform::Ios))
        .collect();
    rig.register(&devices).await;
    for (round, rewrite) in [(0, "previous"), (1, "next")] {
        let (status, answer) = rig
            .bulk(json!({"user_ids": ["u0", "u1", "u2"], "alert": {"title": format!("round {round}")}}))
            .await;
        assert_eq!(status, 200, "{answer}");
        let batch_id = answer["batch_id"].as_str().unwrap_or_default().to_owned();
        let mut event = rig.next_event().await;
        for record in &mut event.records {
            let written = record.body.clone().unwrap_or_default();
            let schema = record
                .message_attributes
                .get(SCHEMA_ATTRIBUTE)
                .and_then(|attribute| attribute.string_value.clone());
            assert_eq!(schema.as_deref(), Some("2"), "this build writes version 2");
            // The strict parse of the workers deployed before versions.
            assert!(
                serde_json::from_str::<QueueMessage>(&written).is_ok(),
                "a pre-version worker would dead-letter {written}"
            );
            let mut body: serde_json::Value = serde_json::from_str(&written).unwrap_or_default();
            let version = if rewrite == "previous" {
                record.message_attributes.remove(SCHEMA_ATTRIBUTE);
                None
            } else {
                body["trace_id"] = json!("t-1");
                body["notification"]["image_url"] = json!("https://cdn.example.com/a.png");
                let mut attribute = SqsMessageAttribute::default();
                attribute.data_type = Some("Number".to_owned());
                attribute.string_value = Some("3".to_owned());
                record
                    .message_attributes
                    .insert(SCHEMA_ATTRIBUTE.to_owned(), attribute);
                Some("3")
            };
            let text = body.to_string();
            assert!(QueueMessage::from_message(&text, version).is_ok(), "{text}");
            record.body = Some(text);
        }
        let result = rig.invoke(&event).await;
        assert!(result.failed.is_empty(), "{rewrite}: {result:?}");
        let status = rig
            .drain_until_done(&batch_id, Duration::from_secs(10))
            .await;
        assert_eq!(status["delivered"], 3, "{rewrite}: {status}");
    }
}
