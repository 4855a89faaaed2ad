//! Harness for the integration tests: each test gets its own DynamoDB table,
//! signing secret and secret prefix in the AWS emulator, so tests run in
//! parallel without seeing each other.
#![forbid(unsafe_code)]

pub mod aws_actions;
pub mod bulk_results;
pub mod calls;
pub mod delivery;
mod devices;
pub mod env;
pub mod eventually;
pub mod faults;
pub mod flows;
pub mod hooks;
pub mod keys;
pub mod lambda_trace;
pub mod repo;
pub mod rig_flows;
pub mod sim_tenant;
pub mod simulator;
pub mod webhooks;
pub mod webpush;

pub use calls::{call, parts, Call};
pub use delivery::BulkRig;
pub use env::TestEnv;
pub use eventually::eventually;
pub use faults::Faults;
pub use simulator::PushSimulator;
pub use webpush::BrowserSubscription;

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
