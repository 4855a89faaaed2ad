//! `notifyctl metrics`: the metric lines (CloudWatch embedded metric
//! format) in a log, summed up as a table per metric and dimension set,
//! so a developer sees locally what the dashboard shows. Lines are read
//! with the functions' own model (`notify_shared::metrics::emf`); every
//! other line is skipped.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{Context, Result};
use notify_shared::metrics::emf::MILLISECONDS;
use notify_shared::metrics::{EmfLine, TENANT_PROPERTY};

/// Which metric lines count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only lines stamped at or after this (milliseconds since the epoch).
    pub since_ms: Option<u64>,
    /// Only the last this many metric lines (after the other filters).
    pub last: Option<usize>,
    /// Only this tenant's lines (those carrying no tenant are left out).
    pub tenant_id: Option<String>,
}

/// One row: a metric under one dimension set with its values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    namespace: String,
    metric: String,
    /// `Key=value` pairs in the directive's order.
    dimensions: String,
    unit: String,
}

/// What a log holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    rows: BTreeMap<RowKey, Vec<f64>>,
    /// Metric lines counted.
    pub lines: usize,
    /// Lines with an `_aws` member that are not valid EMF (CloudWatch
    /// would drop them): a bug to look at.
    pub invalid: usize,
}

/// Reads every line of `log` and sums the selected metric lines up.
pub fn summarize(log: impl BufRead, selection: &Selection) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut selected = Vec::new();
    for line in log.split(b'\n') {
        let line = line.context("reading the log")?;
        // A log may hold anything: read each line as far as it is text.
        let text = String::from_utf8_lossy(&line);
        match EmfLine::parse(&text) {
            None => {}
            Some(Err(problem)) => {
                tracing::warn!(problem, "a metric line that is not valid EMF");
                summary.invalid += 1;
            }
            Some(Ok(line)) if selection.admits(&line) => selected.push(line),
            Some(Ok(_)) => {}
        }
    }
    let skip = selection
        .last
        .map_or(0, |last| selected.len().saturating_sub(last));
    for line in selected.into_iter().skip(skip) {
        summary.add(&line);
    }
    Ok(summary)
}

impl Selection {
    fn admits(&self, line: &EmfLine) -> bool {
        let recent = self.since_ms.is_none_or(|since| line.timestamp_ms >= since);
        let tenant = line
            .properties
            .get(TENANT_PROPERTY)
            .and_then(|v| v.as_str());
        recent
            && self
                .tenant_id
                .as_deref()
                .is_none_or(|wanted| tenant == Some(wanted))
    }
}

impl Summary {
    fn add(&mut self, line: &EmfLine) {
        self.lines += 1;
        for directive in &line.directives {
            for set in &directive.dimensions {
                let dimensions = set
                    .iter()
                    .map(|key| format!("{key}={}", line.dimensions.get(key).map_or("", |v| v)))
                    .collect::<Vec<_>>()
                    .join(" ");
                for metric in &directive.metrics {
                    let key = RowKey {
                        namespace: directive.namespace.clone(),
                        metric: metric.name.clone(),
                        dimensions: dimensions.clone(),
                        unit: metric.unit.clone(),
                    };
                    let values = line.values.get(&metric.name).map_or(&[][..], Vec::as_slice);
                    self.rows.entry(key).or_default().extend_from_slice(values);
                }
            }
        }
    }

    /// The sum of a metric's values under exactly these dimensions
    /// (`"Provider=apns Outcome=delivered"`), if it occurred.
    pub fn sum(&self, metric: &str, dimensions: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|(key, _)| key.metric == metric && key.dimensions == dimensions)
            .map(|(_, values)| values.iter().sum())
    }

    /// The table: per namespace, a row per metric and dimension set with
    /// the values' count and sum, and for times their p50, p90, p99 and
    /// maximum.
    pub fn table(&self) -> String {
        if self.rows.is_empty() {
            return format!("no metric lines ({} not valid EMF)\n", self.invalid);
        }
        let header = [
            "METRIC",
            "DIMENSIONS",
            "COUNT",
            "SUM",
            "P50",
            "P90",
            "P99",
            "MAX",
        ];
        let mut out = String::new();
        let mut namespaces: Vec<&str> = self.rows.keys().map(|k| k.namespace.as_str()).collect();
        namespaces.dedup();
        for namespace in namespaces {
            let rows: Vec<[String; 8]> = self
                .rows
                .iter()
                .filter(|(key, _)| key.namespace == namespace)
                .map(|(key, values)| row(key, values))
                .collect();
            out.push_str(&format!("namespace {namespace}\n"));
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].len())
                        .fold(header[i].len(), usize::max)
                })
                .collect();
            let header = header.map(str::to_owned);
            for cells in std::iter::once(&header).chain(&rows) {
                let line: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (cell, width))| match i {
                        0 | 1 => format!("{cell:<width$}"),
                        _ => format!("{cell:>width$}"),
                    })
                    .collect();
                out.push_str(line.join("  ").trim_end());
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "{} metric line(s){}\n",
            self.lines,
            match self.invalid {
                0 => String::new(),
                n => format!(", {n} not valid EMF"),
            }
        ));
        out
    }
}

fn row(key: &RowKey, values: &[f64]) -> [String; 8] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let timed = key.unit == MILLISECONDS;
    let pick = |p: f64| {
        if !timed || sorted.is_empty() {
            return "-".to_owned();
        }
        number(percentile(&sorted, p))
    };
    [
        key.metric.clone(),
        key.dimensions.clone(),
        sorted.len().to_string(),
        number(sorted.iter().sum()),
        pick(50.0),
        pick(90.0),
        pick(99.0),
        pick(100.0),
    ]
}

/// The nearest-rank percentile of sorted, non-empty values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APNS_DELIVERED: &str = r#"{"_aws":{"Timestamp":1000,"CloudWatchMetrics":[{"Namespace":"Notify","Dimensions":[["Provider","Outcome"]],"Metrics":[{"Name":"Pushes","Unit":"Count"}]},{"Namespace":"Notify","Dimensions":[["Provider"]],"Metrics":[{"Name":"ProviderLatency","Unit":"Milliseconds"}]}]},"Provider":"apns","Outcome":"delivered","Pushes":2,"ProviderLatency":[10,30],"tenant_id":"tnt_a"}"#;
    const FCM_REMOVED: &str = r#"{"_aws":{"Timestamp":2000,"CloudWatchMetrics":[{"Namespace":"Notify","Dimensions":[["Provider","Outcome"]],"Metrics":[{"Name":"Pushes","Unit":"Count"}]},{"Namespace":"Notify","Dimensions":[["Provider"]],"Metrics":[{"Name":"ProviderLatency","Unit":"Milliseconds"}]}]},"Provider":"fcm","Outcome":"removed","Pushes":1,"ProviderLatency":20,"tenant_id":"tnt_b"}"#;
    const APNS_AGAIN: &str = r#"{"_aws":{"Timestamp":3000,"CloudWatchMetrics":[{"Namespace":"Notify","Dimensions":[["Provider","Outcome"]],"Metrics":[{"Name":"Pushes","Unit":"Count"}]},{"Namespace":"Notify","Dimensions":[["Provider"]],"Metrics":[{"Name":"ProviderLatency","Unit":"Milliseconds"}]}]},"Provider":"apns","Outcome":"delivered","Pushes":3,"ProviderLatency":[40,50,1000],"tenant_id":"tnt_a"}"#;

    fn log() -> String {
        [
            r#"{"timestamp":"2026-12-07T17:00:00Z","level":"INFO","fields":{"message":"delivery finished"}}"#,
            APNS_DELIVERED,
            "Compiling notify-send v0.1.0",
            FCM_REMOVED,
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}"#,
            APNS_AGAIN,
        ]
        .join("\n")
    }

    fn summary(selection: &Selection) -> Summary {
        summarize(log().as_bytes(), selection).unwrap_or_else(|err| panic!("{err:#}"))
    }

    #[test]
    fn metric_lines_are_summed_by_metric_and_dimensions_and_other_lines_skipped() {
        let summary = summary(&Selection::default());
        assert_eq!((summary.lines, summary.invalid), (3, 1));
        assert_eq!(
            summary.sum("Pushes", "Provider=apns Outcome=delivered"),
            Some(5.0)
        );
        assert_eq!(
            summary.sum("Pushes", "Provider=fcm Outcome=removed"),
            Some(1.0)
        );
        assert_eq!(
            summary.sum("ProviderLatency", "Provider=apns"),
            Some(1130.0)
        );
        let table = summary.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "namespace Notify");
        assert!(lines[1].starts_with("METRIC"), "{table}");
        let latency = lines
            .iter()
            .find(|l| l.starts_with("ProviderLatency") && l.contains("Provider=apns"))
            .unwrap_or_else(|| panic!("{table}"));
        // 5 values: 10 30 40 50 1000 → p50 40, p90 1000, max 1000.
        let cells: Vec<&str> = latency.split_whitespace().collect();
        assert_eq!(
            cells[2..],
            ["5", "1130", "40", "1000", "1000", "1000"],
            "{table}"
        );
        let pushes = lines
            .iter()
            .find(|l| l.starts_with("Pushes") && l.contains("apns"))
            .unwrap_or_else(|| panic!("{table}"));
        let cells: Vec<&str> = pushes.split_whitespace().collect();
        assert_eq!(cells[3..], ["2", "5", "-", "-", "-", "-"], "{table}");
        assert!(
            table.ends_with("3 metric line(s), 1 not valid EMF\n"),
            "{table}"
        );
    }

    #[test]
    fn lines_are_selected_by_time_tenant_and_count() {
        let recent = summary(&Selection {
            since_ms: Some(2000),
            ..Selection::default()
        });
        assert_eq!(
            recent.sum("Pushes", "Provider=apns Outcome=delivered"),
            Some(3.0)
        );
        let tenant = summary(&Selection {
            tenant_id: Some("tnt_b".into()),
            ..Selection::default()
        });
        assert_eq!(tenant.lines, 1);
        assert_eq!(
            tenant.sum("Pushes", "Provider=apns Outcome=delivered"),
            None
        );
        let last = summary(&Selection {
            last: Some(2),
            ..Selection::default()
        });
        assert_eq!(
            last.sum("Pushes", "Provider=apns Outcome=delivered"),
            Some(3.0)
        );
        assert_eq!(
            last.sum("Pushes", "Provider=fcm Outcome=removed"),
            Some(1.0)
        );
    }

    #[test]
    fn an_empty_log_says_so() {
        let summary = summarize(&b"nothing here\n"[..], &Selection::default());
        let table = summary.map(|s| s.table()).unwrap_or_default();
        assert_eq!(table, "no metric lines (0 not valid EMF)\n");
    }

    #[test]
    fn what_the_functions_write_is_what_this_reads() {
        use notify_shared::metrics::{Metrics, MetricsSink, PushMetrics};
        use notify_shared::model::PushProvider;
        use notify_shared::push::{DeliveryOutcome, TargetResult};
        let metrics = Metrics::new("Notify", MetricsSink::memory());
        let result = |outcome| TargetResult {
            outcome,
            attempts: 1,
            retry_after: None,
        };
        let results = [
            result(DeliveryOutcome::Delivered),
            result(DeliveryOutcome::Failed("InvalidProviderToken".into())),
        ];
        let latency = Some(std::time::Duration::from_millis(7));
        let pushes = PushMetrics::of(
            [PushProvider::Apns, PushProvider::Apns],
            &results,
            &[latency, latency],
        );
        metrics.record_pushes("tnt_a", &pushes);
        let log = metrics.sink().captured().join("\n");
        let summary = summarize(log.as_bytes(), &Selection::default());
        let summary = summary.unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(summary.invalid, 0);
        assert_eq!(
            summary.sum("Pushes", "Provider=apns Outcome=failed"),
            Some(1.0)
        );
        assert_eq!(
            summary.sum("CredentialFailures", "Provider=apns"),
            Some(1.0)
        );
        assert_eq!(summary.sum("ProviderLatency", "Provider=apns"), Some(14.0));
    }
}
