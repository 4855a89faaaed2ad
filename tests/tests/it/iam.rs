//! template.yaml grants each function every IAM action its code makes. The
//! emulator does not enforce IAM, so an action the code starts to call and
//! the template does not grant passes every other local test, then fails in
//! AWS with AccessDenied (e1e5f74 fixed one).
//!
//! Each function runs its main paths here (with a user token and, where the
//! endpoint takes one, an API key) on an app of its own, whose SDK clients
//! record the IAM action of each call; a fresh app has cold caches, as a
//! new Lambda container does, so the secret reads are made too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use notify_shared::clock::{now_unix_secs, Clock};
use notify_shared::service::delivery::Delivery;
use notify_shared::service::tenants::INLINE_PURGE_LIMIT;
use notify_shared::service::webhooks::dispatch::Dispatcher;
use notify_shared::service::webhooks::EventPublisher;
use notify_shared::service::worker::{Worker, WorkerSettings};
use notify_shared::App;
use notify_tests::aws_actions::ActionLog;
use notify_tests::delivery::{fcm_token, ios_token, QueueSettings, BUNDLE_ID};
use notify_tests::rig_flows::fill_partition;
use notify_tests::schedules::ScheduleGroup;
use notify_tests::webhooks::{Answer, Receiver, WebhookQueues};
use notify_tests::{call, parts, BulkRig, Call};
use serde_json::{json, Value};
use serde_norway::Value as Yaml;

/// The IAM actions template.yaml grants each function (by crate name):
/// its `Policies` statements, or those of the role it names.
fn granted() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let template: Yaml =
        serde_norway::from_str(&text).unwrap_or_else(|err| panic!("template.yaml: {err}"));
    let resources = template
        .get("Resources")
        .and_then(Yaml::as_mapping)
        .unwrap_or_else(|| panic!("template.yaml has no Resources"));
    let mut granted = BTreeMap::new();
    for resource in resources.values() {
        if resource.get("Type").and_then(Yaml::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let properties = &resource["Properties"];
        let Some(name) = properties["CodeUri"]
            .as_str()
            .and_then(|uri| uri.strip_prefix("functions/"))
        else {
            continue;
        };
        let documents: Vec<&Yaml> = match role_of(properties) {
            Some(role) => resources
                .get(role.as_str())
                .and_then(|role| role["Properties"]["Policies"].as_sequence())
                .into_iter()
                .flatten()
                .map(|policy| &policy["PolicyDocument"])
                .collect(),
            None => properties["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .collect(),
        };
        let actions = documents
            .into_iter()
            .filter_map(|document| document["Statement"].as_sequence())
            .flatten()
            .filter(|statement| statement["Effect"].as_str() == Some("Allow"))
            .flat_map(|statement| strings(&statement["Action"]))
            .collect();
        granted.insert(name.to_owned(), actions);
    }
    granted
}

/// The logical id of `Role: !GetAtt X.Arn`.
fn role_of(properties: &Yaml) -> Option<String> {
    match properties.get("Role")? {
        Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => tagged
            .value
            .as_str()
            .and_then(|target| target.strip_suffix(".Arn"))
            .map(str::to_owned),
        _ => None,
    }
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(text) => vec![text.clone()],
        Yaml::Sequence(items) => items
            .iter()
            .filter_map(Yaml::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A bulk rig (simulator, queues, a tenant with both providers), with an
/// API key of every scope and what each function's calls made.
struct Run {
    rig: BulkRig,
    /// The webhook queue the rig's app and worker publish to, and the
    /// receiver of the rig's tenant's webhook.
    hooks: WebhookQueues,
    receiver: Receiver,
    log: ActionLog,
    key: String,
    made: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Run {
    async fn start() -> Self {
        let hooks = WebhookQueues::create().await;
        let rig = BulkRig::with_config(
            notify_tests::PushSimulator::start().await,
            QueueSettings::default(),
            WorkerSettings::default(),
            hooks.configure(true),
        )
        .await;
        let created = rig
            .env
            .create_api_key(
                &rig.owner,
                &rig.tenant_id,
                json!({"name": "backend", "scopes": ["register", "devices", "send"]}),
            )
            .await;
        let key = created["key"].as_str().unwrap_or_default().to_owned();
        Self {
            rig,
            hooks,
            receiver: Receiver::start().await,
            log: ActionLog::default(),
            key,
            made: BTreeMap::new(),
        }
    }

    /// A cold app for the next function, with the rig's configuration
    /// (queue included); the log starts empty.
    fn app(&self) -> App {
        self.log.take();
        self.log.app(&self.rig.env, self.rig.env.app.config.clone())
    }

    /// `function`'s answer, which must be 200, and the calls since `app`
    /// recorded as its own.
    fn answered(
        &mut self,
        function: &'static str,
        response: lambda_http::Response<lambda_http::Body>,
    ) -> Value {
        let body = answered(function, response);
        self.record(function);
        body
    }

    /// What the calls since `app` made, as `function`'s.
    fn record(&mut self, function: &'static str) {
        self.made
            .entry(function)
            .or_default()
            .extend(self.log.take());
    }

    /// `method route` on the rig's tenant, as its owner.
    fn owner_call(&self, method: &str, route: &str) -> Call {
        self.tenant_call(method, route).bearer(&self.rig.owner)
    }

    /// `method route` on the rig's tenant.
    fn tenant_call(&self, method: &str, route: &str) -> Call {
        call(method, route).param("tenant_id", &self.rig.tenant_id)
    }
}

/// The body of `function`'s 200 answer.
fn answered(function: &str, response: lambda_http::Response<lambda_http::Body>) -> Value {
    let (status, body) = parts(&response);
    assert_eq!(status, 200, "{function}: {body}");
    body
}

/// The management endpoints: user tokens only.
async fn management(run: &mut Run) {
    let owner = run.rig.owner.clone();
    let app = run.app();
    let request = call("GET", "/auth/validate").bearer(&owner).build();
    run.answered("auth-validate", auth_validate::handle(&app, request).await);

    let app = run.app();
    let body = run.rig.sim.tenant_body("acme", BUNDLE_ID).await;
    let request = call("POST", "/tenants").bearer(&owner).json(body).build();
    run.answered("tenant-create", tenant_create::handle(&app, request).await);

    let app = run.app();
    let request = call("GET", "/tenants").bearer(&owner).build();
    run.answered("tenant-list", tenant_list::handle(&app, request).await);

    let app = run.app();
    let request = run.owner_call("GET", "/tenants/{tenant_id}").build();
    run.answered("tenant-get", tenant_get::handle(&app, request).await);

    let app = run.app();
    for body in [
        json!({"use_sandbox": true}),
        json!({"web_push": {"subject": "mailto:ops@example.com"}}),
        json!({"web_push": {"subject": "mailto:ops@example.com", "rotate": true}}),
    ] {
        let request = run.owner_call("PATCH", "/tenants/{tenant_id}");
        let response = tenant_update::handle(&app, request.json(body).build()).await;
        answered("tenant-update", response);
    }
    run.record("tenant-update");
}

/// API keys and user verification: user tokens only.
async fn keys_and_verification(run: &mut Run) {
    let owner = run.rig.owner.clone();
    let app = run.app();
    let request = run
        .owner_call("POST", "/tenants/{tenant_id}/api-keys")
        .json(json!({"name": "spare", "scopes": ["send"]}));
    let created = run.answered(
        "api-key-create",
        api_key_create::handle(&app, request.build()).await,
    );
    let key_id = created["key_id"].as_str().unwrap_or_default().to_owned();

    let app = run.app();
    let request = run
        .owner_call("GET", "/tenants/{tenant_id}/api-keys")
        .build();
    run.answered("api-key-list", api_key_list::handle(&app, request).await);

    let app = run.app();
    let request = run
        .tenant_call("GET", "/tenants/{tenant_id}/api-keys/{key_id}/usage")
        .param("key_id", &key_id)
        .query("period", "day")
        .bearer(&owner);
    run.answered(
        "api-key-usage",
        api_key_usage::handle(&app, request.build()).await,
    );

    let app = run.app();
    let request = run
        .tenant_call("GET", "/tenants/{tenant_id}/usage")
        .bearer(&owner);
    run.answered(
        "tenant-usage",
        tenant_usage::handle(&app, request.build()).await,
    );

    let app = run.app();
    let request = run
        .tenant_call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
        .param("key_id", &key_id)
        .bearer(&owner);
    run.answered(
        "api-key-delete",
        api_key_delete::handle(&app, request.build()).await,
    );

    let app = run.app();
    let route = "/tenants/{tenant_id}/user-verification";
    let request = run.owner_call("POST", route);
    let response = user_verification_create::handle(&app, request.build()).await;
    run.answered("user-verification-create", response);

    let app = run.app();
    let request = run.owner_call("DELETE", route);
    let response = user_verification_delete::handle(&app, request.build()).await;
    run.answered("user-verification-delete", response);
}

/// Devices, with a user token and with an API key.
async fn devices(run: &mut Run) {
    let (owner, key) = (run.rig.owner.clone(), run.key.clone());
    let app = run.app();
    let route = "/tenants/{tenant_id}/devices";
    for (n, user, platform, token) in [
        (1, "alice", "ios", ios_token(1)),
        (2, "alice", "android", fcm_token(2)),
        (3, "bob", "ios", ios_token(3)),
        (4, "bob", "android", fcm_token(4)),
        (5, "carol", "ios", ios_token(5)),
    ] {
        let request = run
            .tenant_call("POST", route)
            .json(json!({"user_id": user, "platform": platform, "token": token}));
        let request = if n % 2 == 0 {
            request.api_key(&key)
        } else {
            request.bearer(&owner)
        };
        let response = device_register::handle(&app, request.build()).await;
        answered("device-register", response);
    }
    run.record("device-register");

    let app = run.app();
    for request in [
        run.owner_call("GET", route),
        run.tenant_call("GET", route).api_key(&key),
    ] {
        let request = request.query("user_id", "alice");
        answered(
            "device-list",
            device_list::handle(&app, request.build()).await,
        );
    }
    run.record("device-list");

    let app = run.app();
    let by_path = run
        .tenant_call("DELETE", "/tenants/{tenant_id}/devices/{token}")
        .param("token", &ios_token(5))
        .query("user_id", "carol")
        .bearer(&owner);
    let by_query = run
        .tenant_call("DELETE", route)
        .query("token", &fcm_token(4))
        .query("user_id", "bob")
        .api_key(&key);
    for request in [by_path, by_query] {
        let response = device_unregister::handle(&app, request.build()).await;
        answered("device-unregister", response);
    }
    run.record("device-unregister");
}

/// Topics: users subscribed, listed and unsubscribed, with a user token
/// and with an API key.
async fn topics(run: &mut Run) {
    let key = run.key.clone();
    let route = "/tenants/{tenant_id}/topics/{topic}/subscribers";
    let body = json!({"user_ids": ["alice", "dave"]});
    let app = run.app();
    for request in [
        run.owner_call("POST", route),
        run.tenant_call("POST", route).api_key(&key),
    ] {
        let request = request.param("topic", "sports").json(body.clone());
        let response = topic_subscribe::handle(&app, request.build()).await;
        answered("topic-subscribe", response);
    }
    run.record("topic-subscribe");

    let app = run.app();
    let route_of_user = "/tenants/{tenant_id}/users/{user_id}/topics";
    for request in [
        run.owner_call("GET", route_of_user),
        run.tenant_call("GET", route_of_user).api_key(&key),
    ] {
        let request = request.param("user_id", "dave");
        let listed = answered(
            "user-topics",
            user_topics::handle(&app, request.build()).await,
        );
        assert_eq!(listed, json!({"topics": ["sports"]}));
    }
    run.record("user-topics");

    let app = run.app();
    for request in [
        run.owner_call("DELETE", route),
        run.tenant_call("DELETE", route).api_key(&key),
    ] {
        let request = request.param("topic", "sports").json(body.clone());
        let response = topic_unsubscribe::handle(&app, request.build()).await;
        answered("topic-unsubscribe", response);
    }
    run.record("topic-unsubscribe");
}

/// A send to alice (one of her tokens gone at the provider, so it is
/// removed), a bulk send to alice and bob, and its status.
async fn sends(run: &mut Run) -> String {
    let key = run.key.clone();
    run.rig
        .sim
        .fault(json!({"fault": "unregistered", "token": fcm_token(2)}))
        .await;
    let app = run.app();
    let delivery =
        Delivery::from_app(&app).unwrap_or_else(|err| panic!("building provider clients: {err}"));
    let alert = json!({"title": "Order shipped", "body": "On its way"});
    for (request, idempotency_key) in [
        (
            run.owner_call("POST", "/tenants/{tenant_id}/notify"),
            "send-1",
        ),
        (
            run.tenant_call("POST", "/tenants/{tenant_id}/notify")
                .api_key(&key),
            "send-2",
        ),
    ] {
        let request = request
            .header("Idempotency-Key", idempotency_key)
            .json(json!({"user_id": "alice", "alert": alert}));
        let response = notify_send::handle(&app, &delivery, request.build()).await;
        answered("notify-send", response);
    }
    run.record("notify-send");

    let app = run.app();
    let request = run
        .tenant_call("POST", "/tenants/{tenant_id}/notify/bulk")
        .api_key(&key)
        .header("Idempotency-Key", "bulk-1")
        .json(json!({"user_ids": ["alice", "bob"], "alert": alert}));
    let accepted = run.answered(
        "notify-bulk",
        notify_bulk::handle(&app, request.build()).await,
    );
    let batch_id = accepted["batch_id"].as_str().unwrap_or_default().to_owned();

    let app = run.app();
    let route = "/tenants/{tenant_id}/notify/bulk/{batch_id}";
    for request in [
        run.owner_call("GET", route),
        run.tenant_call("GET", route).api_key(&key),
    ] {
        let request = request.param("batch_id", &batch_id);
        let response = notify_bulk_status::handle(&app, request.build()).await;
        answered("notify-bulk-status", response);
    }
    run.record("notify-bulk-status");
    audiences(run, &alert).await;
    batch_id
}

/// Everyone now (the worker reads the audience in `deletion_and_worker`),
/// and a topic in two hours through EventBridge Scheduler, cancelled.
async fn audiences(run: &mut Run, alert: &Value) {
    let group = ScheduleGroup::create(&run.rig.env.sdk, &run.rig.queues).await;
    let mut config = run.rig.env.app.config.clone();
    (group.configure())(&mut config);
    let send_at = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut scheduled = String::new();
    for body in [
        json!({"all_users": true, "alert": alert}),
        json!({"topic": "news", "send_at": send_at, "alert": alert}),
    ] {
        run.log.take();
        let app = run.log.app(&run.rig.env, config.clone());
        let request = run
            .tenant_call("POST", "/tenants/{tenant_id}/notify/bulk")
            .api_key(&run.key)
            .json(body);
        let accepted = run.answered(
            "notify-bulk",
            notify_bulk::handle(&app, request.build()).await,
        );
        scheduled = accepted["batch_id"].as_str().unwrap_or_default().to_owned();
    }
    run.log.take();
    let app = run.log.app(&run.rig.env, config);
    let request = run
        .tenant_call("DELETE", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
        .api_key(&run.key)
        .param("batch_id", &scheduled);
    let cancelled = run.answered(
        "notify-bulk-cancel",
        notify_bulk_cancel::handle(&app, request.build()).await,
    );
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
}

/// A webhook for every event type, created and listed before the sends
/// (which publish to it).
async fn webhooks_before_sends(run: &mut Run) -> String {
    let app = run.app();
    let request = run
        .owner_call("POST", "/tenants/{tenant_id}/webhooks")
        .json(json!({"url": run.receiver.url(), "events": ["batch.completed", "devices.removed", "credentials.failed", "key.unusual_activity"]}));
    let created = run.answered(
        "webhook-create",
        webhook_create::handle(&app, request.build()).await,
    );
    let app = run.app();
    let request = run.owner_call("GET", "/tenants/{tenant_id}/webhooks");
    run.answered(
        "webhook-list",
        webhook_list::handle(&app, request.build()).await,
    );
    created["webhook_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An API key's 101st request of an hour, with no earlier week to
/// compare with, is unusual: its function reads the key's hours, notes
/// the episode and publishes. device-list stands for every API function:
/// each installs the same watch and holds the same grants.
async fn unusual_key(run: &mut Run) {
    // From now (the key's windows so far are the wall clock's), or from
    // the next hour when this one ends before the 101 requests do.
    let now = now_unix_secs();
    let start = if now % 3600 < 3300 {
        now
    } else {
        now - now % 3600 + 3600
    };
    let clock = Clock::manual(start);
    let app = run
        .app()
        .with_clock(clock.clone())
        .with_key_watch(EventPublisher::from_app);
    for _ in 0..101 {
        // One a second: under the key's rate.
        clock.advance(Duration::from_secs(1));
        let request = run
            .tenant_call("GET", "/tenants/{tenant_id}/devices")
            .query("user_id", "alice")
            .api_key(&run.key);
        answered(
            "device-list",
            device_list::handle(&app, request.build()).await,
        );
    }
    run.record("device-list");
}

/// The dispatcher on a cold app delivers what the sends and the worker
/// published (the first attempt refused, so a retry is scheduled), then
/// the log is read and the webhook deleted.
async fn webhooks_after_sends(run: &mut Run, webhook_id: &str) {
    run.receiver.script(&[Answer::Status(500)]);
    let app = run.app();
    let dispatcher = Dispatcher::from_app(&app)
        .unwrap_or_else(|err| panic!("building the dispatcher: {err}"))
        .with_retry_delays(vec![Duration::from_secs(1); 8]);
    let records = run.hooks.drain(&dispatcher).await;
    assert!(
        records >= 2,
        "batch.completed and devices.removed were published: {records}"
    );
    run.record("webhook-dispatcher");

    let route = "/tenants/{tenant_id}/webhooks/{webhook_id}";
    let app = run.app();
    let request = run
        .owner_call("GET", &format!("{route}/deliveries"))
        .param("webhook_id", webhook_id);
    run.answered(
        "webhook-deliveries",
        webhook_deliveries::handle(&app, request.build()).await,
    );
    let app = run.app();
    let request = run
        .owner_call("DELETE", route)
        .param("webhook_id", webhook_id);
    run.answered(
        "webhook-delete",
        webhook_delete::handle(&app, request.build()).await,
    );
}

/// Deletes a second tenant too large to purge inline (the rest is queued),
/// then runs the worker on a cold app until the queue is empty: the bulk
/// chunk and the purge.
async fn deletion_and_worker(run: &mut Run) {
    let owner = run.rig.owner.clone();
    let doomed = run
        .rig
        .env
        .create_tenant(&owner, notify_tests::keys::tenant_with_apns("acme"))
        .await;
    fill_partition(&run.rig.env, &doomed, INLINE_PURGE_LIMIT + 1).await;
    let app = run.app();
    let request = call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", &doomed)
        .bearer(&owner);
    run.answered(
        "tenant-delete",
        tenant_delete::handle(&app, request.build()).await,
    );

    let app = run.app();
    let delivery =
        Delivery::from_app(&app).unwrap_or_else(|err| panic!("building provider clients: {err}"));
    let settings = WorkerSettings {
        max_receive_count: Some(3),
        dead_letter_queue_url: Some(run.rig.queues.dlq_url.clone()),
        ..WorkerSettings::default()
    };
    let worker = Worker::new(app, delivery, settings);
    let (sqs, url) = (&run.rig.sqs, &run.rig.queues.url);
    let mut rounds = 0;
    while let Some((event, _)) = sqs_trigger::receive_event(sqs, url, 10, Duration::from_secs(1))
        .await
        .unwrap_or_else(|err| panic!("receiving: {err:#}"))
    {
        let response = delivery_worker::process_event(&worker, event.clone()).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "delivery-worker: {response:?}"
        );
        sqs_trigger::acknowledge(sqs, url, &event, &response)
            .await
            .unwrap_or_else(|err| panic!("acknowledging: {err:#}"));
        rounds += 1;
        assert!(rounds < 20, "the delivery queue does not drain");
    }
    run.record("delivery-worker");
}

/// The delivered batch's results, as its owner and with the API key.
async fn results(run: &mut Run, batch_id: &str) {
    let key = run.key.clone();
    let app = run.app();
    let route = "/tenants/{tenant_id}/notify/bulk/{batch_id}/results";
    for request in [
        run.owner_call("GET", route),
        run.tenant_call("GET", route).api_key(&key),
    ] {
        let request = request.param("batch_id", batch_id);
        let body = answered(
            "notify-bulk-results",
            notify_bulk_results::handle(&app, request.build()).await,
        );
        assert!(
            !body["results"].as_array().is_none_or(Vec::is_empty),
            "{body}"
        );
    }
    run.record("notify-bulk-results");
}

#[tokio::test]
async fn template_yaml_grants_each_function_every_aws_action_its_calls_make() {
    let mut run = Run::start().await;
    // No AWS call, and no app: nothing to grant.
    run.log.take();
    run.answered(
        "health",
        health::handle(call("GET", "/health").build()).await,
    );
    // Each step boxed: inline, their futures together outgrow a test
    // thread's stack in a debug build.
    Box::pin(management(&mut run)).await;
    Box::pin(keys_and_verification(&mut run)).await;
    Box::pin(devices(&mut run)).await;
    Box::pin(topics(&mut run)).await;
    let webhook_id = Box::pin(webhooks_before_sends(&mut run)).await;
    Box::pin(unusual_key(&mut run)).await;
    let batch_id = Box::pin(sends(&mut run)).await;
    Box::pin(deletion_and_worker(&mut run)).await;
    Box::pin(webhooks_after_sends(&mut run, &webhook_id)).await;
    let status = run.rig.status(&batch_id).await;
    assert_eq!(status.1["status"], "done", "{status:?}");
    Box::pin(results(&mut run, &batch_id)).await;

    let granted = granted();
    let exercised: BTreeSet<&str> = run.made.keys().copied().collect();
    let functions: BTreeSet<&str> = granted.keys().map(String::as_str).collect();
    assert_eq!(
        exercised, functions,
        "every function of template.yaml needs a run here"
    );
    let missing: Vec<String> = run
        .made
        .iter()
        .flat_map(|(function, made)| {
            let granted = &granted[*function];
            made.difference(granted)
                .map(move |action| format!("{function}: {action}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "template.yaml does not grant what these functions call (AccessDenied in AWS):\n{}",
        missing.join("\n")
    );
    // The run reached the calls it is about.
    for (function, action) in [
        ("auth-validate", "secretsmanager:GetSecretValue"),
        ("tenant-create", "secretsmanager:CreateSecret"),
        ("device-register", "dynamodb:ConditionCheckItem"),
        ("topic-subscribe", "dynamodb:ConditionCheckItem"),
        ("topic-unsubscribe", "dynamodb:DeleteItem"),
        ("user-topics", "dynamodb:GetItem"),
        ("notify-bulk", "sqs:SendMessage"),
        ("notify-bulk-results", "dynamodb:Query"),
        ("tenant-delete", "sqs:SendMessage"),
        ("delivery-worker", "dynamodb:BatchWriteItem"),
        ("notify-send", "sqs:SendMessage"),
        ("device-list", "sqs:SendMessage"),
        ("delivery-worker", "sqs:SendMessage"),
        ("webhook-create", "secretsmanager:CreateSecret"),
        ("webhook-dispatcher", "secretsmanager:GetSecretValue"),
        ("webhook-dispatcher", "sqs:ChangeMessageVisibility"),
        ("webhook-delete", "secretsmanager:DeleteSecret"),
    ] {
        assert!(
            run.made[function].contains(action),
            "{function} made {:?}",
            run.made[function]
        );
    }
}
