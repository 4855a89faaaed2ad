//! Bulk sends end to end, in-process: a per-test delivery queue and
//! dead-letter queue made from `template.yaml` (through `notifyctl`), the
//! app enqueueing to it, and the delivery worker's handler driven exactly
//! the way Lambda's event source mapping drives it (`sqs_trigger`'s
//! `receive_event` and `acknowledge` around `delivery_worker::process_event`),
//! pushing to an in-process push simulator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use notify_shared::model::Platform;
use notify_shared::secrets::Secrets;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::worker::{Worker, WorkerSettings};
use notify_shared::App;
use serde_json::Value;

use crate::calls::{call, parts};
use crate::env::{template, TestEnv};
use crate::hooks::{operation_name, Hooked, Hooks};
use crate::simulator::PushSimulator;

pub const BUNDLE_ID: &str = "com.acme.app";

/// The `n`th APNs token of a test.
pub fn ios_token(n: usize) -> String {
    format!("{n:064x}")
}

/// The `n`th FCM token of a test.
pub fn fcm_token(n: usize) -> String {
    format!("fcm{n}:APA91b{}", "x_-Z".repeat(30))
}

/// Records the SQS operations the app makes, and can make one
/// `SendMessageBatch` call fail after SQS accepted its messages.
#[derive(Debug, Clone, Default)]
pub struct SqsSpy(Arc<SpyState>);

#[derive(Debug, Default)]
struct SpyState {
    operations: Mutex<Vec<String>>,
    /// Fail the `SendMessageBatch` call with this 1-based number.
    fail_send_batch: Mutex<Option<usize>>,
}

impl SqsSpy {
    /// How many times the app called `operation` (e.g. `SendMessageBatch`).
    pub fn calls(&self, operation: &str) -> usize {
        self.lock_operations()
            .iter()
            .filter(|name| *name == operation)
            .count()
    }

    pub fn reset(&self) {
        self.lock_operations().clear();
    }

    /// Makes the `nth` `SendMessageBatch` call from now on fail.
    pub fn fail_send_batch_call(&self, nth: usize) {
        let already = self.calls("SendMessageBatch");
        *self
            .0
            .fail_send_batch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(already + nth);
    }

    fn lock_operations(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0
            .operations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Marks a call the spy will fail once SQS has answered it.
#[derive(Debug, Clone, Copy)]
struct Doomed;

impl Storable for Doomed {
    type Storer = StoreReplace<Self>;
}

impl Hooks for SqsSpy {
    // Client interceptors' `read_before_execution` runs before the
    // operation's metadata is in the bag; this runs once per call, after it.
    fn before_serialization(&self, _input: &Input, config: &mut ConfigBag) -> Hooked {
        let name = operation_name(config).unwrap_or_default().to_owned();
        let mut operations = self.lock_operations();
        operations.push(name.clone());
        if name == "SendMessageBatch" {
            let number = operations.iter().filter(|op| **op == name).count();
            let doomed = *self
                .0
                .fail_send_batch
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if doomed == Some(number) {
                config.interceptor_state().store_put(Doomed);
            }
        }
        Ok(())
    }

    /// The doomed call fails after SQS accepted it: the caller cannot know
    /// its messages are queued (the worst case for a partial failure).
    fn after_deserialization(&self, config: &mut ConfigBag) -> Hooked {
        match config.load::<Doomed>() {
            Some(_) => Err("injected SendMessageBatch failure".into()),
            None => Ok(()),
        }
    }
}

crate::intercept_with_hooks!(SqsSpy);

/// The queue pair's settings for one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    pub max_receive_count: u32,
    pub visibility_timeout_seconds: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_receive_count: 5,
            visibility_timeout_seconds: 30,
        }
    }
}

/// What one round of the event source mapping did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Records in the event.
    pub records: usize,
    /// Message ids the worker reported in `batchItemFailures`.
    pub failed: Vec<String>,
    /// Records deleted from the queue.
    pub deleted: usize,
}

/// A tenant with both providers at a push simulator, a queue pair, the app
/// enqueueing to it and a worker draining it.
pub struct BulkRig {
    pub env: TestEnv,
    pub sim: PushSimulator,
    pub queues: notifyctl::Queues,
    /// A plain SQS client: the event source mapping's side.
    pub sqs: aws_sdk_sqs::Client,
    /// What the app (the bulk endpoint) did with SQS.
    pub spy: SqsSpy,
    pub worker: Worker,
    /// A user token of the tenant's org.
    pub owner: String,
    pub tenant_id: String,
}

impl BulkRig {
    pub async fn start() -> Self {
        Self::with_settings(QueueSettings::default(), WorkerSettings::default()).await
    }

    /// `worker.max_receive_count` is set from the queue's when absent.
    pub async fn with_settings(queue: QueueSettings, worker: WorkerSettings) -> Self {
        Self::with_simulator(PushSimulator::start().await, queue, worker).await
    }

    /// As `with_settings`, delivering to `sim`.
    pub async fn with_simulator(
        sim: PushSimulator,
        queue: QueueSettings,
        worker: WorkerSettings,
    ) -> Self {
        Self::with_config(sim, queue, worker, |_| {}).await
    }

    /// As `with_simulator`, the app's and the worker's configuration
    /// changed by `adjust` (e.g. a webhook queue).
    pub async fn with_config(
        sim: PushSimulator,
        queue: QueueSettings,
        mut worker: WorkerSettings,
        adjust: impl FnOnce(&mut notify_shared::Config),
    ) -> Self {
        let mut env = TestEnv::with_providers(sim.endpoints()).await;
        let sqs = aws_sdk_sqs::Client::new(&env.sdk);
        let mut definition = template().queues.clone();
        definition.max_receive_count = queue.max_receive_count;
        definition.visibility_timeout_seconds = Some(queue.visibility_timeout_seconds);
        let name = format!(
            "test-delivery-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let queues = notifyctl::create_queues(&sqs, &definition, &name)
            .await
            .unwrap_or_else(|err| panic!("creating test queues: {err:#}"));

        let spy = SqsSpy::default();
        let spied_sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&env.sdk)
                .interceptor(spy.clone())
                .build(),
        );
        let mut config = env.app.config.clone();
        config.delivery_queue_url = Some(queues.url.clone());
        config.tenant_purge = notify_shared::config::PurgeMode::Queued;
        adjust(&mut config);
        let secrets = || Secrets::new(env.secrets.clone(), env.tenant_secret_prefix.clone());
        env.app = App::with_clients(config.clone(), env.dynamodb.clone(), secrets(), spied_sqs);

        worker.max_receive_count = worker.max_receive_count.or(Some(queue.max_receive_count));
        // As the template configures the worker.
        worker.dead_letter_queue_url = Some(queues.dlq_url.clone());
        // The worker's requests carry its invocation's trace, as on Lambda.
        let worker_sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&env.sdk)
                .interceptor(crate::lambda_trace::PropagateTrace)
                .build(),
        );
        let worker_app = App::with_clients(config, env.dynamodb.clone(), secrets(), worker_sqs);
        let delivery = crate::capturing_metrics(
            Delivery::from_app(&worker_app)
                .unwrap_or_else(|err| panic!("building provider clients: {err}")),
        );
        let worker = Worker::new(worker_app, delivery, worker);

        let owner = env.user_token("owner", &["acme"]);
        let tenant_id = env
            .create_tenant(&owner, sim.tenant_body("acme", BUNDLE_ID).await)
            .await;
        Self {
            env,
            sim,
            queues,
            sqs,
            spy,
            worker,
            owner,
            tenant_id,
        }
    }

    /// Registers devices straight through the store (see
    /// [`TestEnv::register_devices`]).
    pub async fn register(&self, devices: &[(String, String, Platform)]) {
        self.env.register_devices(&self.tenant_id, devices).await;
    }

    /// Registers many devices fast (see [`TestEnv::register_devices_fast`]).
    pub async fn register_many(&self, devices: &[(String, String, Platform)]) {
        self.env
            .register_devices_fast(&self.tenant_id, devices)
            .await;
    }

    /// `POST /tenants/{tenant_id}/notify/bulk` as the owner.
    pub async fn bulk(&self, body: Value) -> (u16, Value) {
        self.bulk_as(body, |call| call.bearer(&self.owner)).await
    }

    /// `POST .../notify/bulk` on this tenant, with credentials set by `auth`.
    pub async fn bulk_as(
        &self,
        body: Value,
        auth: impl FnOnce(crate::Call) -> crate::Call,
    ) -> (u16, Value) {
        let request = auth(
            call("POST", "/tenants/{tenant_id}/notify/bulk")
                .param("tenant_id", &self.tenant_id)
                .json(body),
        );
        parts(&notify_bulk::handle(&self.env.app, request.build()).await)
    }

    /// `GET .../notify/bulk/{batch_id}` as the owner.
    pub async fn status(&self, batch_id: &str) -> (u16, Value) {
        let request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
            .param("tenant_id", &self.tenant_id)
            .param("batch_id", batch_id)
            .bearer(&self.owner);
        parts(&notify_bulk_status::handle(&self.env.app, request.build()).await)
    }

    /// `DELETE .../notify/bulk/{batch_id}` as the owner.
    pub async fn cancel(&self, batch_id: &str) -> (u16, Value) {
        let request = call("DELETE", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
            .param("tenant_id", &self.tenant_id)
            .param("batch_id", batch_id)
            .bearer(&self.owner);
        parts(&notify_bulk_cancel::handle(&self.env.app, request.build()).await)
    }

    /// One receive → invoke → acknowledge round; `None` when the queue
    /// stayed empty for `wait`.
    pub async fn round(&self, wait: Duration) -> Option<Round> {
        self.round_of(10, wait).await
    }

    /// The next event of up to ten records (1 s long poll), without
    /// invoking the worker; panics when the queue is empty.
    pub async fn next_event(&self) -> aws_lambda_events::event::sqs::SqsEvent {
        sqs_trigger::receive_event(&self.sqs, &self.queues.url, 10, Duration::from_secs(1))
            .await
            .unwrap_or_else(|err| panic!("receiving: {err:#}"))
            .map(|(event, _)| event)
            .unwrap_or_else(|| panic!("nothing is queued"))
    }

    /// [`Self::round`] with an event of at most `batch_size` records (the
    /// template's `WorkerBatchSize`).
    pub async fn round_of(&self, batch_size: i32, wait: Duration) -> Option<Round> {
        let received = sqs_trigger::receive_event(&self.sqs, &self.queues.url, batch_size, wait)
            .await
            .unwrap_or_else(|err| panic!("receiving: {err:#}"));
        let (event, _) = received?;
        Some(self.invoke(&event).await)
    }

    /// Invokes the worker's handler with `event` and acknowledges its answer,
    /// after dropping what Lambda's recursive loop detection would
    /// (`sqs_trigger::recursion`).
    pub async fn invoke(&self, event: &aws_lambda_events::event::sqs::SqsEvent) -> Round {
        let mut event = event.clone();
        let played =
            sqs_trigger::recursion::play_loop_detection(&mut event, &sqs_trigger::new_trace_root());
        let event = &event;
        let response = crate::lambda_trace::within(
            played.trace,
            delivery_worker::process_event(&self.worker, event.clone()),
        )
        .await;
        let acknowledged = sqs_trigger::acknowledge(&self.sqs, &self.queues.url, event, &response)
            .await
            .unwrap_or_else(|err| panic!("acknowledging: {err:#}"));
        Round {
            records: event.records.len(),
            failed: response
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.clone())
                .collect(),
            deleted: acknowledged.deleted,
        }
    }

    /// Rounds until a receive finds the queue empty (1 s long poll).
    pub async fn drain(&self) -> Vec<Round> {
        let mut rounds = Vec::new();
        while let Some(round) = self.round(Duration::from_secs(1)).await {
            rounds.push(round);
        }
        rounds
    }

    /// Rounds until the batch reports `done`, for at most `limit`.
    pub async fn drain_until_done(&self, batch_id: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (status, body) = self.status(batch_id).await;
            assert_eq!(status, 200, "batch status: {body}");
            if body["status"] == "done" {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "batch not done in {limit:?}: {body}"
            );
            self.round(Duration::from_secs(2)).await;
        }
    }

    /// Accepted pushes per device token (APNs tokens lowercased).
    pub async fn pushes_by_token(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for delivery in self.sim.deliveries().await {
            let token = delivery["token"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            *counts.entry(token).or_insert(0) += 1;
        }
        counts
    }

    /// Visible plus in-flight messages of a queue.
    pub async fn queue_depth(&self, url: &str) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap_or_else(|err| panic!("reading queue attributes: {err}"))
            .attributes
            .unwrap_or_default();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .filter_map(|name| attributes.get(name)?.parse::<usize>().ok())
        .sum()
    }

    /// Sends a raw body to the delivery queue.
    pub async fn send_raw(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.queues.url)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("sending a raw message: {err}"));
    }
}
