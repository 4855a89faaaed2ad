//! What AWS recommends or requires of the deployed settings, checked in
//! template.yaml (AWS audit findings 3, 5, 14, 16). The queue's settings are
//! read as `notifyctl` reads them to create the local queues.

use serde_norway::Value as Yaml;

fn template_text() -> String {
    notify_tests::repo::read("template.yaml")
}

fn template() -> notifyctl::Template {
    notifyctl::Template::parse(&template_text()).unwrap_or_else(|err| panic!("{err:#}"))
}

fn yaml() -> Yaml {
    serde_norway::from_str(&template_text()).unwrap_or_else(|err| panic!("{err}"))
}

fn resource(yaml: &Yaml, logical_id: &str) -> Yaml {
    yaml.get("Resources")
        .and_then(|resources| resources.get(logical_id))
        .cloned()
        .unwrap_or_else(|| panic!("template.yaml has no {logical_id}"))
}

/// "Set the source queue's visibility timeout to at least six times the
/// timeout that you configure on your function, plus the value of
/// MaximumBatchingWindowInSeconds"
/// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
#[test]
fn the_queue_hides_a_message_for_six_worker_timeouts_plus_the_longest_batching_window() {
    let template = template();
    let worker = template
        .worker
        .unwrap_or_else(|| panic!("no function drains DeliveryQueue"));
    let visibility = template.queues.visibility_timeout_seconds.unwrap_or(30);
    let needed = 6 * worker.timeout_seconds + worker.max_batching_window_seconds;
    assert!(
        visibility >= needed,
        "VisibilityTimeout {visibility} s < 6 x {} s + {} s",
        worker.timeout_seconds,
        worker.max_batching_window_seconds
    );
}

/// "To give messages a better chance to be processed before sending them to
/// the DLQ, set the maxReceiveCount on the source queue's redrive policy to
/// at least 5" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
#[test]
fn no_deployment_can_send_a_message_to_the_dead_letter_queue_before_five_receives() {
    let queues = template().queues;
    assert!(queues.max_receive_count_min >= 5, "{queues:?}");
    assert!(queues.max_receive_count >= queues.max_receive_count_min);
}

#[test]
fn the_access_log_names_the_lambda_request_id_that_5xx_bodies_quote() {
    let api = resource(&yaml(), "NotifyApi");
    let format = api
        .get("Properties")
        .and_then(|p| p.get("AccessLogSettings"))
        .and_then(|s| s.get("Format"))
        .and_then(Yaml::as_str)
        .unwrap_or_default()
        .to_owned();
    assert!(
        format.contains("$context.integration.requestId"),
        "{format}"
    );
    assert!(
        !format.contains("$context.path"),
        "paths carry device tokens"
    );
}

#[test]
fn the_execute_api_endpoint_is_closed_when_a_custom_domain_is_set() {
    let api = resource(&yaml(), "NotifyApi");
    let setting = api
        .get("Properties")
        .and_then(|p| p.get("DisableExecuteApiEndpoint"))
        .cloned()
        .unwrap_or_else(|| panic!("NotifyApi has no DisableExecuteApiEndpoint"));
    let text = serde_norway::to_string(&setting).unwrap_or_default();
    assert!(
        text.contains("HasCustomDomain") && text.contains("true"),
        "{text}"
    );
}

fn alarm_metric(yaml: &Yaml, metric: &str) -> Option<Yaml> {
    yaml.get("Resources")?
        .as_mapping()?
        .values()
        .find(|resource| {
            resource.get("Type").and_then(Yaml::as_str) == Some("AWS::CloudWatch::Alarm")
                && resource
                    .get("Properties")
                    .and_then(|p| p.get("MetricName"))
                    .and_then(Yaml::as_str)
                    == Some(metric)
        })
        .cloned()
}

#[test]
fn alarms_watch_dropped_recursive_invocations_and_lambda_throttles() {
    let yaml = yaml();
    let recursion = alarm_metric(&yaml, "RecursiveInvocationsDropped")
        .unwrap_or_else(|| panic!("no alarm on RecursiveInvocationsDropped"));
    let dimension = serde_norway::to_string(
        &recursion
            .get("Properties")
            .and_then(|p| p.get("Dimensions"))
            .cloned()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert!(dimension.contains("DeliveryWorkerFunction"), "{dimension}");
    assert!(
        alarm_metric(&yaml, "Throttles").is_some(),
        "no alarm on Throttles"
    );
}

#[test]
fn the_workers_reserved_concurrency_is_a_parameter_that_defaults_to_none() {
    let yaml = yaml();
    let worker = resource(&yaml, "DeliveryWorkerFunction");
    let reserved = serde_norway::to_string(
        &worker
            .get("Properties")
            .and_then(|p| p.get("ReservedConcurrentExecutions"))
            .cloned()
            .unwrap_or_else(|| panic!("the worker has no ReservedConcurrentExecutions")),
    )
    .unwrap_or_default();
    assert!(reserved.contains("WorkerReservedConcurrency"), "{reserved}");
    let parameter = yaml
        .get("Parameters")
        .and_then(|p| p.get("WorkerReservedConcurrency"))
        .cloned()
        .unwrap_or_default();
    // 0 would throttle the worker entirely: it means "none" (a condition).
    assert_eq!(
        parameter.get("Default").and_then(Yaml::as_u64),
        Some(0),
        "{parameter:?}"
    );
}

/// The webhook queue lets the dispatcher make every attempt of its retry
/// schedule (the last one included) before the redrive, keeps a message
/// past the schedule's 27.6 hours, and its dead-letter queue is watched.
#[test]
fn the_webhook_queue_fits_the_dispatchers_retry_schedule() {
    use notify_shared::service::webhooks::dispatch::{MAX_ATTEMPTS, RETRY_SCHEDULE};
    let queues = template().webhook_queues;
    assert_eq!(queues.max_receive_count, MAX_ATTEMPTS, "{queues:?}");
    let schedule: u64 = RETRY_SCHEDULE.iter().map(|delay| delay.as_secs()).sum();
    let retention = u64::from(queues.message_retention_seconds.unwrap_or(345_600));
    assert!(
        retention >= 2 * 24 * 3600 && retention > schedule,
        "{retention} s"
    );
    assert!(queues.visibility_timeout_seconds.unwrap_or(30) >= 6 * 15);
    let yaml = yaml();
    let alarm = resource(&yaml, "WebhookDeadLetterQueueAlarm");
    assert_eq!(
        alarm["Properties"]["MetricName"].as_str(),
        Some("ApproximateNumberOfMessagesVisible")
    );
}

/// Receivers at http://127.0.0.1 are a local-stack switch, never deployed.
#[test]
fn no_deployment_allows_loopback_webhook_receivers() {
    assert!(!template_text().contains("NOTIFY_WEBHOOK_ALLOW_LOOPBACK:"));
}
