//! The events pushes produce: `batch.completed` once per batch however
//! often its last chunk is delivered, `devices.removed` after a dead token
//! in a bulk or a single send, and a slow receiver that slows no push.

use std::time::{Duration, Instant};

use notify_shared::model::Platform;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::worker::WorkerSettings;
use notify_tests::delivery::{ios_token, QueueSettings};
use notify_tests::webhooks::{
    create_webhook, standard_webhooks_verifies, Answer, Receiver, WebhookQueues,
};
use notify_tests::{call, parts, BulkRig, PushSimulator};
use serde_json::{json, Value};

use super::{dispatcher_of, text};

/// A bulk rig whose app and worker publish to `hooks`, and a webhook of
/// its tenant at `receiver` for `events`: (rig, secret).
async fn rig_with_webhook(
    hooks: &WebhookQueues,
    receiver: &Receiver,
    events: &[&str],
) -> (BulkRig, String) {
    let rig = BulkRig::with_config(
        PushSimulator::start().await,
        QueueSettings::default(),
        WorkerSettings::default(),
        hooks.configure(true),
    )
    .await;
    let (status, body) = create_webhook(
        &rig.env.app,
        &rig.owner,
        &rig.tenant_id,
        json!({"url": receiver.url(), "events": events}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let secret = text(&body, "secret").unwrap_or_default();
    (rig, secret)
}

fn of_type(receiver: &Receiver, kind: &str) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(|request| request.json())
        .filter(|body| body["type"] == kind)
        .collect()
}

#[tokio::test]
async fn a_batch_completes_once_even_when_its_last_chunk_is_delivered_twice() {
    let hooks = WebhookQueues::create().await;
    let receiver = Receiver::start().await;
    let (rig, secret) =
        rig_with_webhook(&hooks, &receiver, &["batch.completed", "devices.removed"]).await;
    rig.register(&[
        ("u1".to_owned(), ios_token(1), Platform::Ios),
        ("u2".to_owned(), ios_token(2), Platform::Ios),
    ])
    .await;
    rig.sim
        .fault(json!({"fault": "unregistered", "token": ios_token(2)}))
        .await;
    let (status, accepted) = rig
        .bulk(json!({"user_ids": ["u1", "u2", "u3"], "alert": {"title": "Sale", "body": "Today"}}))
        .await;
    assert_eq!(status, 200, "{accepted}");
    let batch_id = text(&accepted, "batch_id").unwrap_or_default();
    let chunk = rig.next_event().await;
    rig.invoke(&chunk).await;
    // SQS delivers the same (last) chunk again.
    rig.invoke(&chunk).await;
    let (_, report) = rig.status(&batch_id).await;
    assert_eq!(report["status"], "done", "{report}");

    let dispatcher = dispatcher_of(&rig.env.app);
    hooks.drain(&dispatcher).await;
    let completed = of_type(&receiver, "batch.completed");
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0]["data"], report);
    let removed = of_type(&receiver, "devices.removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(
        removed[0]["data"],
        json!({"batch_id": batch_id, "devices": [{"user_id": "u2", "token": ios_token(2), "platform": "ios", "reason": "Unregistered"}]})
    );
    for request in receiver.requests() {
        assert!(standard_webhooks_verifies(&secret, &request, &request.body));
    }
}

#[tokio::test]
async fn a_dead_token_in_a_single_send_is_reported_and_a_hanging_receiver_does_not_slow_the_send() {
    let hooks = WebhookQueues::create().await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Hang]);
    let (rig, _) = rig_with_webhook(&hooks, &receiver, &["devices.removed"]).await;
    rig.register(&[("u1".to_owned(), ios_token(7), Platform::Ios)])
        .await;
    rig.sim
        .fault(json!({"fault": "unregistered", "token": ios_token(7)}))
        .await;
    let delivery = Delivery::from_app(&rig.env.app).unwrap_or_else(|err| panic!("{err}"));
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner)
        .json(json!({"user_id": "u1", "alert": {"title": "Hi", "body": "There"}}));
    let started = Instant::now();
    let (status, answer) =
        parts(&notify_send::handle(&rig.env.app, &delivery, request.build()).await);
    let took = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert!(
        took < Duration::from_secs(3),
        "the send waited for the receiver: {took:?}"
    );
    let message_id = text(&answer, "message_id").unwrap_or_default();

    let dispatcher = dispatcher_of(&rig.env.app);
    // First attempt: the receiver hangs (a failure); the retry is answered.
    hooks.round(&dispatcher, Duration::from_secs(2)).await;
    assert!(hooks
        .round(&dispatcher, Duration::from_secs(5))
        .await
        .is_some());
    let removed = of_type(&receiver, "devices.removed");
    assert_eq!(removed.len(), 2, "one hung, one answered");
    assert_eq!(
        removed[1]["data"],
        json!({"message_id": message_id, "devices": [{"user_id": "u1", "token": ios_token(7), "platform": "ios", "reason": "Unregistered"}]})
    );
}

#[tokio::test]
async fn events_no_webhook_subscribed_to_are_not_published() {
    let hooks = WebhookQueues::create().await;
    let receiver = Receiver::start().await;
    let (rig, _) = rig_with_webhook(&hooks, &receiver, &["credentials.failed"]).await;
    rig.register(&[("u1".to_owned(), ios_token(3), Platform::Ios)])
        .await;
    rig.sim
        .fault(json!({"fault": "unregistered", "token": ios_token(3)}))
        .await;
    let (status, accepted) = rig
        .bulk(json!({"user_ids": ["u1"], "alert": {"title": "Sale", "body": "Today"}}))
        .await;
    assert_eq!(status, 200, "{accepted}");
    rig.drain().await;
    let dispatcher = dispatcher_of(&rig.env.app);
    assert_eq!(
        hooks.drain(&dispatcher).await,
        0,
        "no webhook wanted these events"
    );
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn refused_credentials_are_told_once_an_hour_per_provider_and_tenant() {
    let hooks = WebhookQueues::create().await;
    let receiver = Receiver::start().await;
    let (rig, _) = rig_with_webhook(&hooks, &receiver, &["credentials.failed"]).await;
    rig.register(&[("u1".to_owned(), ios_token(9), Platform::Ios)])
        .await;
    // An APNs key the simulator (Apple) does not know: InvalidProviderToken.
    let (status, body) = notify_tests::flows::patch_tenant(
        &rig.env,
        &rig.owner,
        &rig.tenant_id,
        json!({"team_id": "ABCDE12345", "key_id": "KEY1234567", "private_key": notify_tests::keys::apns_p8()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        // A new container each time: only the tenant's gate item keeps count.
        let delivery = Delivery::from_app(&rig.env.app).unwrap_or_else(|err| panic!("{err}"));
        let request = call("POST", "/tenants/{tenant_id}/notify")
            .param("tenant_id", &rig.tenant_id)
            .bearer(&rig.owner)
            .json(json!({"user_id": "u1", "alert": {"title": "Hi", "body": "There"}}));
        let (status, answer) =
            parts(&notify_send::handle(&rig.env.app, &delivery, request.build()).await);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["results"][0]["error"], "InvalidProviderToken",
            "{answer}"
        );
    }
    let dispatcher = dispatcher_of(&rig.env.app);
    hooks.drain(&dispatcher).await;
    let told = of_type(&receiver, "credentials.failed");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["data"],
        json!({"provider": "apns", "reason": "InvalidProviderToken"})
    );
}
