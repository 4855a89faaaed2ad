//! `push-bench worker`'s audience page, metered: the delivery worker reads
//! one page of an all-users send (every user the worker round registered,
//! one query of the tenant's device counters), records it, counts it and
//! enqueues its chunks, as `service::worker::audience` does. With
//! bench/aws_meter.py in front of the emulator it prints the page's AWS
//! calls, which `bench/fanout.py` turns into the all-users row of the cost
//! table (the chunks it enqueues cost what a list's chunks cost).

use anyhow::{bail, Context};
use notify_shared::model::{
    AudienceSource, Batch, BatchState, Notification, QueueMessage, ReadAudience,
};
use notify_shared::secrets::Secrets;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::worker::{MessageMeta, Verdict, Worker, WorkerSettings};
use notify_shared::App;
use notify_tests::env::TestEnv;

use crate::simulator::Admin;

/// Reads, counts and enqueues page 0 of an all-users send to `tenant_id`'s
/// `users` users and prints its metered AWS calls.
pub async fn metered_page(
    env: &TestEnv,
    tenant_id: &str,
    users: usize,
    admin: &Admin,
    meter: &str,
) -> anyhow::Result<()> {
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let name = format!(
        "bench-audience-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let queues = notifyctl::create_queues(&sqs, &notify_tests::env::template().queues, &name)
        .await
        .context("creating the bench's delivery queue")?;
    let mut config = env.app.config.clone();
    config.delivery_queue_url = Some(queues.url.clone());
    let app = App::with_clients(
        config,
        env.dynamodb.clone(),
        Secrets::new(env.secrets.clone(), env.tenant_secret_prefix.clone()),
        sqs,
    );
    let delivery = Delivery::from_app(&app)?;
    let worker = Worker::new(app, delivery, WorkerSettings::default());
    let batch_id = insert_all_users_batch(env, tenant_id).await?;
    let page = QueueMessage::ReadAudience(ReadAudience {
        tenant_id: tenant_id.to_owned(),
        batch_id,
        page: 0,
        after: None,
        first_chunk: 0,
    })
    .to_body()?;
    crate::meter::reset(admin, meter).await?;
    let processed = worker.process(&page, &MessageMeta::default()).await;
    if processed.verdict != Verdict::Done {
        bail!("the audience page was not read: {:?}", processed.verdict);
    }
    let calls = crate::meter::calls(admin, meter).await?;
    println!("aws calls (audience page of {users} users): {calls}");
    Ok(())
}

async fn insert_all_users_batch(env: &TestEnv, tenant_id: &str) -> anyhow::Result<String> {
    let batch_id = uuid::Uuid::new_v4().to_string();
    let notification = Notification {
        badge: Some(1),
        ..Notification::default()
    };
    env.app
        .store
        .insert_batch(&Batch {
            batch_id: batch_id.clone(),
            tenant_id: tenant_id.to_owned(),
            state: BatchState::Open,
            total: 0,
            accepted: 0,
            rejected: 0,
            chunks: 0,
            delivered: 0,
            failed: 0,
            no_devices: 0,
            created_at: notify_shared::clock::now_rfc3339(),
            created_by: "bench".to_owned(),
            started_at: None,
            expires_at: chrono::Utc::now().timestamp() + 3600,
            audience: Some(AudienceSource::AllUsers),
            audience_pending: true,
            send_at: None,
            notification: Some(serde_json::to_string(&notification)?),
            metered_key: None,
        })
        .await
        .context("inserting the all-users batch")?;
    Ok(batch_id)
}
