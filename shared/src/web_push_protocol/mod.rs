//! Standard Web Push (RFC 8030) without Firebase: which push services may be
//! contacted, what a browser's subscription must look like, the tenant's
//! VAPID key (RFC 8292) and the `aes128gcm` message encryption (RFC 8291).

pub mod ece;
pub mod hosts;
pub mod subscription;
pub mod vapid;

pub use hosts::WebPushHosts;
pub use subscription::{WebPushKeys, WebPushSubscription};
pub use vapid::VapidKey;
