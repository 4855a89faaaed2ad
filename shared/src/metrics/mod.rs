//! Operators' metrics, written as CloudWatch embedded metric format (EMF)
//! lines on stdout: Lambda sends them to CloudWatch Logs, which turns them
//! into metrics in the namespace `NOTIFY_METRICS_NAMESPACE` (template
//! parameter `MetricsNamespace`, default `Notify`). `notifyctl metrics`
//! reads the same lines from a local log.
//!
//! What is emitted ([`CATALOGUE`]):
//! - `Pushes` (Count) by `Provider` and `Outcome`, and `ProviderLatency`
//!   (Milliseconds) and `CredentialFailures` (Count) by `Provider`: one
//!   line per provider and outcome of each delivery call (a single send,
//!   a bulk wave), written by `service::delivery::Delivery::push`.
//! - `QueueDwell` (Milliseconds) by `Queue`: how long each record of a
//!   worker invocation waited since it was sent, one line per invocation.
//!
//! The tenant is a property of a line (`tenant_id`), never a dimension:
//! the number of metrics, and their cost, does not grow with tenants, and
//! CloudWatch Logs Insights still finds a tenant's lines.

pub mod emf;
mod pushes;
mod sink;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use emf::{Directive, EmfLine, MetricDefinition};
pub use pushes::{outcome_name, PushMetrics};
pub use sink::MetricsSink;

use crate::model::PushProvider;

/// The namespace without `NOTIFY_METRICS_NAMESPACE` (`Config`).
pub use crate::config::DEFAULT_METRICS_NAMESPACE as DEFAULT_NAMESPACE;

/// Dimension keys.
pub const PROVIDER: &str = "Provider";
pub const OUTCOME: &str = "Outcome";
pub const QUEUE: &str = "Queue";

/// Metric names.
pub const PUSHES: &str = "Pushes";
pub const PROVIDER_LATENCY: &str = "ProviderLatency";
pub const CREDENTIAL_FAILURES: &str = "CredentialFailures";
pub const QUEUE_DWELL: &str = "QueueDwell";

/// The property naming a line's tenant.
pub const TENANT_PROPERTY: &str = "tenant_id";

/// Values of `Provider`, `Outcome` and `Queue`.
pub const PROVIDERS: [&str; 3] = ["apns", "fcm", "webpush"];
pub const OUTCOMES: [&str; 4] = ["delivered", "removed", "failed", "transient"];
/// The delivery queue (`DeliveryQueue`).
pub const DELIVERY_QUEUE: &str = "delivery";

/// One metric the code emits, and the dimension sets it is published under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub dimension_sets: &'static [&'static [&'static str]],
}

/// Every metric the code emits: the dashboard and the alarms of
/// `template.yaml` may name these and no others (`template_rules.rs`).
pub const CATALOGUE: [MetricSpec; 4] = [
    MetricSpec {
        name: PUSHES,
        unit: emf::COUNT,
        dimension_sets: &[&[PROVIDER, OUTCOME]],
    },
    MetricSpec {
        name: PROVIDER_LATENCY,
        unit: emf::MILLISECONDS,
        dimension_sets: &[&[PROVIDER]],
    },
    MetricSpec {
        name: CREDENTIAL_FAILURES,
        unit: emf::COUNT,
        dimension_sets: &[&[PROVIDER]],
    },
    MetricSpec {
        name: QUEUE_DWELL,
        unit: emf::MILLISECONDS,
        dimension_sets: &[&[QUEUE]],
    },
];

/// The values a dimension key takes.
pub fn dimension_values(key: &str) -> &'static [&'static str] {
    match key {
        PROVIDER => &PROVIDERS,
        OUTCOME => &OUTCOMES,
        QUEUE => &[DELIVERY_QUEUE],
        _ => &[],
    }
}

/// The `Provider` value of `provider`.
pub fn provider_name(provider: PushProvider) -> &'static str {
    match provider {
        PushProvider::Apns => PROVIDERS[0],
        PushProvider::Fcm => PROVIDERS[1],
        PushProvider::WebPush => PROVIDERS[2],
    }
}

/// Where a container's metric lines go, under which namespace: built once
/// per cold start (with the `Delivery`), cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    sink: MetricsSink,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE, MetricsSink::stdout())
    }
}

impl Metrics {
    pub fn new(namespace: impl Into<String>, sink: MetricsSink) -> Self {
        Self {
            namespace: namespace.into(),
            sink,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn sink(&self) -> &MetricsSink {
        &self.sink
    }

    /// Writes `line`, unless it is not valid EMF (a bug: logged instead,
    /// as CloudWatch would drop it).
    pub fn emit(&self, line: &EmfLine) {
        match line.problem() {
            None => self.sink.write(&line.to_json()),
            Some(problem) => tracing::error!(problem, "metric line not written: not valid EMF"),
        }
    }

    /// One delivery call's pushes to `tenant_id`'s devices.
    pub fn record_pushes(&self, tenant_id: &str, pushes: &PushMetrics) {
        for line in pushes.lines(&self.namespace, tenant_id, now_ms()) {
            self.emit(&line);
        }
    }

    /// How long each record of one invocation waited in `queue` (see
    /// [`QUEUE`]); nothing when there is none.
    pub fn record_queue_dwell(&self, queue: &str, dwell: &[Duration]) {
        if dwell.is_empty() {
            return;
        }
        let values = dwell.iter().map(|d| millis(*d)).collect();
        let line = EmfLine {
            timestamp_ms: now_ms(),
            directives: vec![directive(
                &self.namespace,
                &[QUEUE],
                &[(QUEUE_DWELL, emf::MILLISECONDS)],
            )],
            dimensions: [(QUEUE.to_owned(), queue.to_owned())].into(),
            values: [(QUEUE_DWELL.to_owned(), pushes::spread(values))].into(),
            ..EmfLine::default()
        };
        self.emit(&line);
    }
}

/// A directive of one dimension set.
fn directive(namespace: &str, dimensions: &[&str], metrics: &[(&str, &str)]) -> Directive {
    Directive {
        namespace: namespace.to_owned(),
        dimensions: vec![dimensions.iter().map(|key| (*key).to_owned()).collect()],
        metrics: metrics
            .iter()
            .map(|(name, unit)| MetricDefinition {
                name: (*name).to_owned(),
                unit: (*unit).to_owned(),
            })
            .collect(),
    }
}

/// A duration in milliseconds, to the hundredth.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the epoch (an SQS `SentTimestamp`) until now; `None`
/// for text that is not a number. A time ahead of this clock counts as 0.
pub fn since_epoch_ms(sent_ms: &str) -> Option<Duration> {
    let sent: u64 = sent_ms.trim().parse().ok()?;
    Some(Duration::from_millis(now_ms().saturating_sub(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_dwell_is_one_valid_line_without_a_tenant() {
        let metrics = Metrics::new("Notify/test", MetricsSink::memory());
        metrics.record_queue_dwell(
            DELIVERY_QUEUE,
            &[Duration::from_millis(1500), Duration::from_micros(2_345)],
        );
        metrics.record_queue_dwell(DELIVERY_QUEUE, &[]);
        let lines = metrics.sink().captured();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = EmfLine::parse(&lines[0]).and_then(Result::ok);
        let line = line.unwrap_or_else(|| panic!("not valid EMF: {}", lines[0]));
        assert_eq!(line.values[QUEUE_DWELL], vec![2.35, 1500.0]);
        assert_eq!(line.dimensions[QUEUE], DELIVERY_QUEUE);
        assert_eq!(line.directives[0].namespace, "Notify/test");
        assert!(line.properties.is_empty());
    }

    #[test]
    fn a_sent_timestamp_gives_the_time_since_and_garbage_gives_none() {
        let sent = now_ms().saturating_sub(4_000).to_string();
        let dwell = since_epoch_ms(&sent).unwrap_or_default();
        assert!(dwell >= Duration::from_secs(4) && dwell < Duration::from_secs(60));
        assert_eq!(since_epoch_ms("soon"), None);
        assert_eq!(
            since_epoch_ms(&(now_ms() + 60_000).to_string()),
            Some(Duration::ZERO)
        );
    }
}
