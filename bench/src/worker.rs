//! `push-bench worker`: one delivery-worker invocation (ten SQS messages of
//! a bulk batch, processed concurrently as `functions/delivery-worker`
//! does) against DynamoDB in the AWS emulator and the simulator over TLS.
//! Reports pushes per second end to end and in the push phases, and the
//! peak memory of this process, which holds only the worker's side (the
//! simulator runs in its own process).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use notify_shared::config::ProviderEndpoints;
use notify_shared::model::{Batch, BatchState, DeliverChunk, Platform, QueueMessage};
use notify_shared::secrets::Secrets;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::worker::{MessageMeta, Processed, Verdict, Worker, WorkerSettings};
use notify_shared::App;
use notify_tests::env::{TestEnv, ENDPOINT_VARIABLE};
use serde_json::json;

use crate::process::peak_rss_kib;
use crate::scenario;
use crate::simulator::{Admin, Simulator};

/// A Lambda invocation gets at most ten SQS records.
const MESSAGES: usize = 10;
/// Base URL of bench/aws_meter.py in front of the emulator: when set, each
/// round's AWS calls (the worker's alone) are printed.
const METER_VARIABLE: &str = "NOTIFY_BENCH_AWS_METER";

#[derive(Debug, Clone, Copy)]
pub struct WorkerRun {
    /// Users per message (a bulk chunk holds at most 500).
    pub users_per_message: usize,
    /// Devices of each user, alternately iOS and Android.
    pub devices_per_user: usize,
    pub rounds: usize,
}

pub async fn run(simulator: &Simulator, admin: &Admin, run: WorkerRun) -> anyhow::Result<()> {
    if std::env::var_os(ENDPOINT_VARIABLE).is_none() {
        bail!(
            "{ENDPOINT_VARIABLE} is not set: point it at a running moto \
             (scripts/dev up starts one on http://127.0.0.1:4566)"
        );
    }
    let endpoints = ProviderEndpoints {
        apns_production: simulator.tls_url.clone(),
        apns_sandbox: simulator.tls_url.clone(),
        fcm: simulator.tls_url.clone(),
        oauth_token_url: Some(format!("{}/token", simulator.http_url)),
        extra_ca_file: Some(simulator.ca_pem.display().to_string()),
        ..ProviderEndpoints::default()
    };
    let env = TestEnv::with_providers(endpoints).await;
    let owner = env.user_token("bench", &["bench"]);
    let mut tenant = admin.credentials(scenario::BUNDLE_ID).await?;
    tenant["org_id"] = json!("bench");
    tenant["use_sandbox"] = json!(true);
    let tenant_id = env.create_tenant(&owner, tenant).await;

    let users_per_round = MESSAGES * run.users_per_message;
    let user_ids: Vec<String> = (0..users_per_round)
        .map(|u| format!("user-{u:06}"))
        .collect();
    let devices: Vec<(String, String, Platform)> = user_ids
        .iter()
        .enumerate()
        .flat_map(|(u, user)| {
            (0..run.devices_per_user).map(move |d| {
                let n = u * run.devices_per_user + d;
                match d % 2 {
                    0 => (user.clone(), scenario::apns_token(n), Platform::Ios),
                    _ => (user.clone(), scenario::fcm_token(n), Platform::Android),
                }
            })
        })
        .collect();
    let registering = Instant::now();
    env.register_devices_fast(&tenant_id, &devices).await;
    println!(
        "push-bench worker: {} users with {} devices each registered in {:.1} s",
        users_per_round,
        run.devices_per_user,
        registering.elapsed().as_secs_f64()
    );

    // What the worker's `main` builds once per container.
    let app = App::with_clients(
        env.app.config.clone(),
        env.dynamodb.clone(),
        Secrets::new(env.secrets.clone(), env.tenant_secret_prefix.clone()),
        aws_sdk_sqs::Client::new(&env.sdk),
    );
    let delivery = Delivery::from_app(&app)?;
    let worker = Worker::new(app, delivery, WorkerSettings::default());

    // Round 0 warms the container up (connections, provider tokens, the
    // tenant's credentials); the timed rounds follow.
    let meter = std::env::var(METER_VARIABLE).ok();
    for round in 0..=run.rounds {
        admin.reset().await?;
        let batch_id = insert_batch(&env, &tenant_id, users_per_round).await?;
        let bodies = message_bodies(&tenant_id, &batch_id, &user_ids, run.users_per_message)?;
        if let Some(meter) = &meter {
            crate::meter::reset(admin, meter).await?;
        }
        let started = Instant::now();
        let mut processed = process_all(&worker, &bodies, round, 1).await;
        let elapsed = started.elapsed();
        // moto fails concurrent transactions now and then (a 500): SQS would
        // deliver such a message again, and so does this, until it is done.
        for receive_count in 2..=5 {
            let retry: Vec<usize> = (0..processed.len())
                .filter(|&n| processed[n].verdict != Verdict::Done)
                .collect();
            if retry.is_empty() {
                break;
            }
            for n in retry {
                let again = process_all(&worker, &bodies[n..=n], round, receive_count).await;
                processed[n].verdict = again[0].verdict;
                processed[n].stats.pushes += again[0].stats.pushes;
                processed[n].stats.delivered += again[0].stats.delivered;
            }
        }
        report(round, &processed, elapsed, admin).await?;
        if let Some(meter) = &meter {
            let calls = crate::meter::calls(admin, meter).await?;
            println!("aws calls (round {round}): {calls}");
        }
    }
    if let Some(meter) = &meter {
        crate::audience::metered_page(&env, &tenant_id, users_per_round, admin, meter).await?;
    }
    println!(
        "peak RSS of the worker process: {:.1} MiB",
        peak_rss_kib(None).unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

/// `bodies` as one invocation: every message at once.
async fn process_all(
    worker: &Worker,
    bodies: &[String],
    round: usize,
    receive_count: u32,
) -> Vec<Processed> {
    futures::future::join_all(bodies.iter().enumerate().map(|(n, body)| {
        let meta = MessageMeta {
            message_id: format!("round{round}-m{n}"),
            receive_count,
            receipt_handle: None,
            deadline: None,
            hop: 0,
            schema: None,
            key_id: None,
        };
        async move { worker.process(body, &meta).await }
    }))
    .await
}

async fn insert_batch(env: &TestEnv, tenant_id: &str, users: usize) -> anyhow::Result<String> {
    let batch_id = uuid::Uuid::new_v4().to_string();
    let users = u32::try_from(users)?;
    env.app
        .store
        .insert_batch(&Batch {
            batch_id: batch_id.clone(),
            tenant_id: tenant_id.to_owned(),
            state: BatchState::Open,
            total: users,
            accepted: users,
            rejected: 0,
            chunks: MESSAGES as u32,
            delivered: 0,
            failed: 0,
            no_devices: 0,
            created_at: notify_shared::clock::now_rfc3339(),
            created_by: "bench".to_owned(),
            started_at: None,
            expires_at: chrono::Utc::now().timestamp() + 3600,
            audience: None,
            audience_pending: false,
            send_at: None,
            notification: None,
            metered_key: None,
        })
        .await
        .context("inserting the batch record")?;
    Ok(batch_id)
}

fn message_bodies(
    tenant_id: &str,
    batch_id: &str,
    user_ids: &[String],
    per_message: usize,
) -> anyhow::Result<Vec<String>> {
    user_ids
        .chunks(per_message)
        .enumerate()
        .map(|(chunk, users)| {
            QueueMessage::Deliver(DeliverChunk {
                tenant_id: tenant_id.to_owned(),
                batch_id: batch_id.to_owned(),
                chunk: u32::try_from(chunk)?,
                user_ids: users.to_vec(),
                notification: scenario::notification(),
            })
            .to_body()
            .context("encoding a queue message")
        })
        .collect()
}

async fn report(
    round: usize,
    processed: &[Processed],
    elapsed: Duration,
    admin: &Admin,
) -> anyhow::Result<()> {
    let pushes: usize = processed.iter().map(|p| p.stats.pushes).sum();
    let delivered: usize = processed.iter().map(|p| p.stats.delivered).sum();
    // Device lookups in the emulator take most of the time, so the
    // messages' push phases barely overlap: their sum is the time the
    // invocation spent pushing, and the median message shows one wave.
    let pushing: Duration = processed.iter().map(|p| p.stats.push_time).sum();
    let mut per_message: Vec<f64> = processed
        .iter()
        .map(|p| p.stats.pushes as f64 / p.stats.push_time.as_secs_f64().max(f64::EPSILON))
        .collect();
    per_message.sort_by(f64::total_cmp);
    let median = per_message
        .get(per_message.len() / 2)
        .copied()
        .unwrap_or(0.0);
    let accepted = admin.stats().await?["accepted"].as_u64().unwrap_or(0);
    let label = match round {
        0 => "warm-up".to_owned(),
        n => format!("round {n}"),
    };
    println!(
        "{label}: {pushes} pushes in {:.1} s end to end ({:.0} pushes/s, bound by the emulator's \
         device lookups); in the push phases {:.3} s = {:.0} pushes/s (median message {:.0}/s); \
         delivered {delivered}, simulator accepted {accepted}",
        elapsed.as_secs_f64(),
        pushes as f64 / elapsed.as_secs_f64(),
        pushing.as_secs_f64(),
        pushes as f64 / pushing.as_secs_f64().max(f64::EPSILON),
        median,
    );
    if processed.iter().any(|p| p.verdict != Verdict::Done) {
        bail!("a message was not done: {processed:?}");
    }
    if delivered != pushes || u64::try_from(pushes)? != accepted {
        bail!(
            "not every push was delivered: {delivered} of {pushes}, simulator accepted {accepted}"
        );
    }
    Ok(())
}
