//! Harness for the integration tests: each test gets its own DynamoDB table,
//! signing secret and secret prefix in the AWS emulator, so tests run in
//! parallel without seeing each other.
#![forbid(unsafe_code)]

pub mod aws_actions;
pub mod bulk_results;
pub mod calls;
pub mod cognito;
pub mod delivery;
mod devices;
pub mod env;
pub mod eventually;
pub mod faults;
pub mod flows;
pub mod hooks;
pub mod keys;
pub mod lambda_trace;
pub mod metrics;
pub mod repo;
pub mod rig_flows;
pub mod schedules;
pub mod sim_tenant;
pub mod simulator;
pub mod stack;
pub mod webhooks;
pub mod webpush;

pub use calls::{call, parts, Call};
pub use delivery::BulkRig;
pub use env::TestEnv;
pub use eventually::eventually;
pub use faults::Faults;
pub use metrics::{capturing_metrics, metric_lines};
pub use simulator::PushSimulator;
pub use webpush::BrowserSubscription;
