//! Delivering an event: signed so the Standard Webhooks library verifies
//! it, retried after a failure with the same `webhook-id`, a hanging
//! receiver and a redirect counted as failures, and nothing sent to a
//! non-public address.

use std::time::{Duration, Instant};

use notify_shared::service::webhooks::events::Event;
use notify_shared::service::webhooks::EventPublisher;
use notify_tests::webhooks::{deliveries, standard_webhooks_verifies, Answer, Receiver};
use serde_json::{json, Value};

use super::{dispatcher_of, Hooked};

/// Publishes one `credentials.failed` event of the tenant; its id.
async fn publish(hooked: &Hooked) -> String {
    let event = Event::credentials_failed(
        &hooked.tenant_id,
        "apns",
        "InvalidProviderToken",
        1,
        "2026-12-07T10:00:00Z",
    );
    let sent = EventPublisher::from_app(&hooked.env.app)
        .publish(&hooked.tenant_id, std::slice::from_ref(&event))
        .await
        .unwrap_or_else(|err| panic!("publishing: {err}"));
    assert!(sent > 0, "no webhook wanted the event");
    event.event_id
}

async fn attempts(hooked: &Hooked, webhook_id: &str) -> Vec<Value> {
    let (status, body) = deliveries(
        &hooked.env.app,
        &hooked.owner,
        &hooked.tenant_id,
        webhook_id,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_event_is_signed_so_standard_webhooks_verifies_it_and_a_tampered_body_is_refused() {
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    let (webhook_id, secret) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    let event_id = publish(&hooked).await;
    assert_eq!(hooked.hooks.drain(&hooked.dispatcher).await, 1);

    let received = receiver.requests();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(request.header("webhook-id"), event_id);
    assert_eq!(request.header("content-type"), "application/json");
    let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap_or(0);
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    assert_eq!(
        request.json(),
        json!({"type": "credentials.failed", "timestamp": "2026-12-07T10:00:00Z",
               "data": {"provider": "apns", "reason": "InvalidProviderToken"}})
    );
    assert!(standard_webhooks_verifies(&secret, request, &request.body));
    let tampered = String::from_utf8_lossy(&request.body).replace("apns", "fcm");
    assert!(!standard_webhooks_verifies(
        &secret,
        request,
        tampered.as_bytes()
    ));
    let (_, other_secret) = hooked.webhook(&receiver.url(), &["batch.completed"]).await;
    assert!(!standard_webhooks_verifies(
        &other_secret,
        request,
        &request.body
    ));

    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            &log[0]["event_id"],
            &log[0]["type"],
            &log[0]["attempt"],
            &log[0]["status_code"],
            &log[0]["next_attempt_at"]
        ),
        (
            &json!(event_id),
            &json!("credentials.failed"),
            &json!(1),
            &json!(200),
            &Value::Null
        )
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_again_with_the_same_id_and_the_log_shows_both_attempts()
{
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Status(500)]);
    let (webhook_id, secret) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    let event_id = publish(&hooked).await;

    hooked
        .hooks
        .round(&hooked.dispatcher, Duration::from_secs(2))
        .await;
    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(
        (log.len(), &log[0]["status_code"]),
        (1, &json!(500)),
        "{log:?}"
    );
    assert!(log[0]["next_attempt_at"].is_string(), "{log:?}");
    // The retry comes after the (test's one-second) delay, not before.
    assert_eq!(
        hooked
            .hooks
            .round(&hooked.dispatcher, Duration::from_secs(0))
            .await,
        None
    );
    assert!(hooked
        .hooks
        .round(&hooked.dispatcher, Duration::from_secs(5))
        .await
        .is_some());

    let received = receiver.requests();
    assert_eq!(received.len(), 2);
    assert!(received
        .iter()
        .all(|request| request.header("webhook-id") == event_id));
    assert!(standard_webhooks_verifies(
        &secret,
        &received[1],
        &received[1].body
    ));
    let log = attempts(&hooked, &webhook_id).await;
    let summary: Vec<(Value, Value, bool)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].clone(),
                a["status_code"].clone(),
                a["next_attempt_at"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(json!(2), json!(200), true), (json!(1), json!(500), false)]
    );
    assert_eq!(
        hooked.hooks.drain(&hooked.dispatcher).await,
        0,
        "delivered: nothing left"
    );
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_within_5_seconds_is_a_failure() {
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Hang]);
    let (webhook_id, _) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    publish(&hooked).await;
    let started = Instant::now();
    hooked
        .hooks
        .round(&hooked.dispatcher, Duration::from_secs(2))
        .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(
        (
            &log[0]["status_code"],
            log[0]["next_attempt_at"].is_string()
        ),
        (&Value::Null, true),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    let elsewhere = Receiver::start().await;
    receiver.script(&[Answer::Redirect(elsewhere.url())]);
    let (webhook_id, _) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    publish(&hooked).await;
    hooked
        .hooks
        .round(&hooked.dispatcher, Duration::from_secs(2))
        .await;
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(elsewhere.connections(), 0, "the redirect was followed");
    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(
        (
            &log[0]["status_code"],
            log[0]["next_attempt_at"].is_string()
        ),
        (&json!(302), true),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_gets_no_connection_when_loopback_is_off() {
    // The deployed rules: no loopback switch, so `localhost` passes the
    // creation check (a name) and is refused at delivery (its address).
    let hooked = Hooked::start(false).await;
    let receiver = Receiver::start().await;
    let url = format!("https://localhost:{}/hook", receiver.port());
    let (webhook_id, _) = hooked.webhook(&url, &["credentials.failed"]).await;
    publish(&hooked).await;
    hooked
        .hooks
        .round(&hooked.dispatcher, Duration::from_secs(2))
        .await;
    assert_eq!(receiver.connections(), 0);
    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(
        (log.len(), &log[0]["status_code"]),
        (1, &Value::Null),
        "{log:?}"
    );
    assert!(
        log[0]["next_attempt_at"].is_string(),
        "refused attempts are retried like others"
    );
}

#[tokio::test]
async fn an_event_queued_for_a_deleted_webhook_is_dropped() {
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    let (webhook_id, _) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    publish(&hooked).await;
    let request = notify_tests::call("DELETE", "/tenants/{tenant_id}/webhooks/{webhook_id}")
        .param("tenant_id", &hooked.tenant_id)
        .param("webhook_id", &webhook_id)
        .bearer(&hooked.owner);
    assert_eq!(
        notify_tests::parts(&webhook_delete::handle(&hooked.env.app, request.build()).await).0,
        200
    );
    // A dispatcher of another container: nothing cached.
    let fresh = dispatcher_of(&hooked.env.app);
    assert_eq!(hooked.hooks.drain(&fresh).await, 1);
    assert_eq!(receiver.connections(), 0);
    assert_eq!(
        hooked.hooks.drain(&fresh).await,
        0,
        "acknowledged, not retried"
    );
}

#[tokio::test]
async fn after_its_last_attempt_an_event_goes_to_the_dead_letter_queue() {
    use notify_shared::service::webhooks::dispatch::MAX_ATTEMPTS;
    let hooked = Hooked::start(true).await;
    let receiver = Receiver::start().await;
    receiver.script(&vec![Answer::Status(503); MAX_ATTEMPTS as usize]);
    let (webhook_id, _) = hooked
        .webhook(&receiver.url(), &["credentials.failed"])
        .await;
    let event_id = publish(&hooked).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.requests().len() < MAX_ATTEMPTS as usize && Instant::now() < deadline {
        hooked
            .hooks
            .round(&hooked.dispatcher, Duration::from_secs(2))
            .await;
    }
    // The receive after the last attempt moves it (maxReceiveCount).
    assert_eq!(
        hooked
            .hooks
            .round(&hooked.dispatcher, Duration::from_secs(3))
            .await,
        None
    );
    let received = receiver.requests();
    assert_eq!(received.len(), MAX_ATTEMPTS as usize);
    assert!(received
        .iter()
        .all(|request| request.header("webhook-id") == event_id));
    let log = attempts(&hooked, &webhook_id).await;
    assert_eq!(log.len(), MAX_ATTEMPTS as usize);
    assert_eq!(
        (&log[0]["attempt"], &log[0]["next_attempt_at"]),
        (&json!(MAX_ATTEMPTS), &Value::Null)
    );
    assert!(log[1..]
        .iter()
        .all(|attempt| attempt["next_attempt_at"].is_string()));
    let dead = sqs_trigger::receive_event(
        &hooked.hooks.sqs,
        &hooked.hooks.queues.dlq_url,
        10,
        Duration::from_secs(2),
    )
    .await
    .unwrap_or_else(|err| panic!("{err:#}"))
    .map(|(event, _)| event.records.len());
    assert_eq!(
        dead,
        Some(1),
        "the event waits in the webhook dead-letter queue"
    );
}
