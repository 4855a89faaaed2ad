//! What a delivery is addressed to: a tenant's provider settings and the
//! devices. Shared by the engine and the provider clients, which depend on
//! it and not on each other.

use crate::credentials::{ApnsKey, ServiceAccount};
use crate::model::Platform;
use crate::web_push_protocol::{VapidKey, WebPushKeys};

/// A tenant as the engine needs it: provider credentials and APNs settings.
#[derive(Debug, Clone)]
pub struct TenantPush {
    pub tenant_id: String,
    /// The `apns-topic`.
    pub bundle_id: Option<String>,
    pub use_sandbox: bool,
    pub apns: Option<ApnsKey>,
    pub fcm: Option<ServiceAccount>,
    /// The VAPID key for `webpush` devices.
    pub web_push: Option<VapidKey>,
}

/// One device to push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub token: String,
    pub platform: Platform,
    /// A `webpush` device's subscription keys.
    pub web_push_keys: Option<WebPushKeys>,
}
