//! The delivery pipeline's metric lines, kept in memory where a container
//! writes them to stdout, for tests to read.

use notify_shared::metrics::{EmfLine, Metrics, MetricsSink};
use notify_shared::service::delivery::Delivery;

/// `delivery` with its metric lines kept in memory, as a container would
/// write them to stdout (read them with [`metric_lines`]).
pub fn capturing_metrics(delivery: Delivery) -> Delivery {
    let namespace = delivery.metrics().namespace().to_owned();
    delivery.with_metrics(Metrics::new(namespace, MetricsSink::memory()))
}

/// The metric lines `delivery` (built by [`capturing_metrics`]) wrote, each
/// exactly as it would reach stdout; panics on one that is not valid EMF.
pub fn metric_lines(delivery: &Delivery) -> Vec<(String, EmfLine)> {
    delivery
        .metrics()
        .sink()
        .captured()
        .into_iter()
        .map(|text| match EmfLine::parse(&text) {
            Some(Ok(line)) => (text, line),
            other => panic!("not a valid EMF line ({other:?}): {text}"),
        })
        .collect()
}
