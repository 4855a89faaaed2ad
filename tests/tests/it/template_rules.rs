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

// ------------------------------------------------ dashboard, alarms, metrics

/// A metric a dashboard widget or an alarm names: its namespace and name,
/// and its dimensions (values as written, `!Ref X` for a reference).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NamedMetric {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
}

/// A scalar as written: text, or `!Tag value` for an intrinsic function.
fn written(value: &Yaml) -> String {
    match value {
        Yaml::String(text) => text.clone(),
        Yaml::Number(number) => number.to_string(),
        Yaml::Tagged(tagged) => format!("{} {}", tagged.tag, written(&tagged.value)),
        other => serde_norway::to_string(other).unwrap_or_default(),
    }
}

fn resources_of_type(yaml: &Yaml, kind: &str) -> Vec<(String, Yaml)> {
    yaml.get("Resources")
        .and_then(Yaml::as_mapping)
        .map(|resources| {
            resources
                .iter()
                .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some(kind))
                .map(|(id, r)| (written(id), r.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The metrics an alarm watches: its own, or those of its metric math.
fn alarm_metrics(alarm: &Yaml) -> Vec<NamedMetric> {
    let properties = alarm.get("Properties").cloned().unwrap_or_default();
    let of = |metric: &Yaml| NamedMetric {
        namespace: metric.get("Namespace").map(written).unwrap_or_default(),
        name: metric.get("MetricName").map(written).unwrap_or_default(),
        dimensions: metric
            .get("Dimensions")
            .and_then(Yaml::as_sequence)
            .map(|dimensions| {
                dimensions
                    .iter()
                    .map(|d| {
                        let field = |f: &str| d.get(f).map(written).unwrap_or_default();
                        (field("Name"), field("Value"))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    match properties.get("Metrics").and_then(Yaml::as_sequence) {
        Some(queries) => queries
            .iter()
            .filter_map(|query| query.get("MetricStat")?.get("Metric"))
            .map(of)
            .collect(),
        None => vec![of(&properties)],
    }
}

/// The dashboard's body: the `!Sub` text, which is JSON whose `${...}`
/// references all sit inside strings.
fn dashboard_body(yaml: &Yaml) -> serde_json::Value {
    let dashboards = resources_of_type(yaml, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards[0]
        .1
        .get("Properties")
        .and_then(|p| p.get("DashboardBody"))
        .cloned()
        .unwrap_or_default();
    let Yaml::Tagged(sub) = &body else {
        panic!("DashboardBody is not a !Sub: {body:?}");
    };
    assert!(sub.tag == "Sub", "{:?}", sub.tag);
    let text = sub.value.as_str().unwrap_or_default();
    serde_json::from_str(text).unwrap_or_else(|err| panic!("DashboardBody is not JSON: {err}"))
}

/// The metrics a dashboard's widgets graph: `[namespace, name, key,
/// value, ..., {options}]` (expressions left out).
fn dashboard_metrics(body: &serde_json::Value) -> Vec<NamedMetric> {
    let widgets = body["widgets"].as_array().cloned().unwrap_or_default();
    let mut metrics = Vec::new();
    for widget in widgets.iter().filter(|w| w["type"] == "metric") {
        for entry in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let parts: Vec<&str> = entry
                .as_array()
                .into_iter()
                .flatten()
                .map_while(serde_json::Value::as_str)
                .collect();
            if parts.len() < 2 {
                continue; // an expression
            }
            assert!(
                parts.len().is_multiple_of(2),
                "a dimension without a value: {entry}"
            );
            metrics.push(NamedMetric {
                namespace: parts[0].to_owned(),
                name: parts[1].to_owned(),
                dimensions: parts[2..]
                    .chunks(2)
                    .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
                    .collect(),
            });
        }
    }
    metrics
}

/// Whether `metric`, in Notify's namespace, is one the code emits: a name
/// of the catalogue, exactly one of its dimension sets, and values the code
/// writes.
fn emitted(metric: &NamedMetric) -> Result<(), String> {
    let spec = notify_shared::metrics::CATALOGUE
        .iter()
        .find(|spec| spec.name == metric.name)
        .ok_or(format!("the code emits no metric {}", metric.name))?;
    let mut keys: Vec<&str> = metric.dimensions.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let published = spec.dimension_sets.iter().any(|set| {
        let mut set = set.to_vec();
        set.sort_unstable();
        set == keys
    });
    if !published {
        return Err(format!("{} is not published by {keys:?}", metric.name));
    }
    for (key, value) in &metric.dimensions {
        if !notify_shared::metrics::dimension_values(key).contains(&value.as_str()) {
            return Err(format!("the code never writes {key}={value}"));
        }
    }
    Ok(())
}

#[test]
fn every_metric_of_notify_s_namespace_the_dashboard_and_alarms_name_is_one_the_code_emits() {
    let yaml = yaml();
    let parameter = yaml
        .get("Parameters")
        .and_then(|p| p.get("MetricsNamespace"))
        .cloned()
        .unwrap_or_else(|| panic!("no MetricsNamespace parameter"));
    assert_eq!(
        parameter.get("Default").map(written).as_deref(),
        Some(notify_shared::metrics::DEFAULT_NAMESPACE)
    );
    let variable = yaml
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(|v| v.get("NOTIFY_METRICS_NAMESPACE"))
        .map(written);
    assert_eq!(variable.as_deref(), Some("!Ref MetricsNamespace"));

    let on_dashboard = dashboard_metrics(&dashboard_body(&yaml));
    let in_alarms: Vec<NamedMetric> = resources_of_type(&yaml, "AWS::CloudWatch::Alarm")
        .iter()
        .flat_map(|(_, alarm)| alarm_metrics(alarm))
        .collect();
    let ours = |metric: &&NamedMetric, namespace: &str| {
        !metric.namespace.starts_with("AWS/") && {
            assert_eq!(metric.namespace, namespace, "{metric:?}");
            true
        }
    };
    let mut named = Vec::new();
    for metric in on_dashboard
        .iter()
        .filter(|m| ours(m, "${MetricsNamespace}"))
    {
        emitted(metric).unwrap_or_else(|err| panic!("dashboard: {err}"));
        named.push(metric.name.as_str());
    }
    for metric in in_alarms
        .iter()
        .filter(|m| ours(m, "!Ref MetricsNamespace"))
    {
        emitted(metric).unwrap_or_else(|err| panic!("alarm: {err}"));
    }
    // And the dashboard shows everything the code emits, every push
    // outcome of every provider among it.
    for spec in notify_shared::metrics::CATALOGUE {
        assert!(
            named.contains(&spec.name),
            "the dashboard lacks {}",
            spec.name
        );
    }
    let pushes = on_dashboard.iter().filter(|m| m.name == "Pushes").count();
    assert_eq!(
        pushes,
        notify_shared::metrics::PROVIDERS.len() * notify_shared::metrics::OUTCOMES.len()
    );
}

#[test]
fn a_mistaken_metric_name_dimension_or_value_is_caught() {
    let metric = |name: &str, dimensions: &[(&str, &str)]| NamedMetric {
        namespace: "${MetricsNamespace}".into(),
        name: name.into(),
        dimensions: dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    assert!(emitted(&metric(
        "Pushes",
        &[("Outcome", "removed"), ("Provider", "fcm")]
    ))
    .is_ok());
    assert!(emitted(&metric(
        "Push",
        &[("Provider", "fcm"), ("Outcome", "removed")]
    ))
    .is_err());
    assert!(emitted(&metric("Pushes", &[("Provider", "fcm")])).is_err());
    assert!(emitted(&metric(
        "Pushes",
        &[("Provider", "fcm"), ("Outcome", "dead")]
    ))
    .is_err());
    assert!(emitted(&metric(
        "ProviderLatency",
        &[("Provider", "apns"), ("Tenant", "x")]
    ))
    .is_err());
}

/// What an alarm watches: `namespace`, `name`, and the dimension values it
/// must name (`!Ref X`, `!GetAtt X.Y`); none: account-wide.
fn watches(yaml: &Yaml, namespace: &str, name: &str, dimension: Option<&str>) -> Vec<String> {
    resources_of_type(yaml, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| {
            alarm_metrics(alarm).iter().any(|m| {
                m.namespace == namespace
                    && m.name == name
                    && match dimension {
                        Some(value) => m.dimensions.iter().any(|(_, v)| v == value),
                        None => m.dimensions.is_empty(),
                    }
            })
        })
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn the_alarms_operators_need_exist_notify_the_alarm_topic_and_are_on_the_dashboard() {
    let yaml = yaml();
    let required: [(&str, &str, &str, Option<&str>); 9] = [
        (
            "credential failures, APNs",
            "!Ref MetricsNamespace",
            "CredentialFailures",
            Some("apns"),
        ),
        (
            "credential failures, FCM",
            "!Ref MetricsNamespace",
            "CredentialFailures",
            Some("fcm"),
        ),
        (
            "credential failures, Web Push",
            "!Ref MetricsNamespace",
            "CredentialFailures",
            Some("webpush"),
        ),
        (
            "dead-letter queue depth",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            Some("!GetAtt DeliveryDeadLetterQueue.QueueName"),
        ),
        (
            "worker errors",
            "AWS/Lambda",
            "Errors",
            Some("!Ref DeliveryWorkerFunction"),
        ),
        (
            "API 5xx rate",
            "AWS/ApiGateway",
            "5xx",
            Some("!Ref NotifyApi"),
        ),
        (
            "Lambda throttles, every function",
            "AWS/Lambda",
            "Throttles",
            None,
        ),
        (
            "DynamoDB read throttles",
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            Some("!Ref NotifyTable"),
        ),
        (
            "DynamoDB write throttles",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            Some("!Ref NotifyTable"),
        ),
    ];
    for (what, namespace, name, dimension) in required {
        assert!(
            !watches(&yaml, namespace, name, dimension).is_empty(),
            "no alarm on {what} ({namespace} {name} {dimension:?})"
        );
    }
    let body = dashboard_body(&yaml).to_string();
    for (id, alarm) in resources_of_type(&yaml, "AWS::CloudWatch::Alarm") {
        let properties = alarm.get("Properties").cloned().unwrap_or_default();
        for actions in ["AlarmActions", "OKActions"] {
            let text =
                serde_norway::to_string(&properties.get(actions).cloned().unwrap_or_default())
                    .unwrap_or_default();
            assert!(
                text.contains("HasAlarmTopic") && text.contains("AlarmTopicArn"),
                "{id} {actions}: {text}"
            );
        }
        assert!(
            body.contains(&format!("${{{id}.Arn}}")),
            "{id} is not on the dashboard"
        );
    }
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
