//! Push delivery to APNs, FCM HTTP v1 and standard Web Push.
//!
//! Build [`PushEngine`] once per container and reuse it: it owns the HTTP/2
//! connections (a few per provider host, each multiplexing hundreds of
//! streams), the APNs provider tokens and the FCM access tokens.
//! [`PushEngine::deliver`] sends one notification to many devices
//! concurrently; payloads are serialized once per notification.

mod apns;
mod engine;
mod fcm;
mod outcome;
mod retry;
mod target;
mod transport;
mod web_push;

#[cfg(test)]
mod tests;

pub use engine::{EncodedNotification, PushConfig, PushEngine, DEADLINE_REACHED};
pub use outcome::{DeliveryOutcome, TargetResult};
pub use retry::RetryPolicy;
pub use target::{Target, TenantPush};
pub use transport::HttpClient;
