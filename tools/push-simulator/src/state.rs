//! Everything the request handlers share.

use std::time::Duration;

use crate::credentials::Registry;
use crate::faults::Faults;
use crate::recorder::Recorder;
use crate::stats::Stats;

pub(crate) struct State {
    pub registry: Registry,
    pub recorder: Recorder,
    pub faults: Faults,
    pub stats: Stats,
    pub web_push: crate::webpush_state::WebPushState,
    /// What each open connection is bound to, for APNs.
    pub apns_connections: crate::apns_connection::Bindings,
}

impl State {
    pub fn new(max_deliveries: usize, apns_token_update_window: Duration) -> Self {
        Self {
            apns_connections: crate::apns_connection::Bindings::new(apns_token_update_window),
            registry: Registry::default(),
            recorder: Recorder::new(max_deliveries),
            faults: Faults::default(),
            stats: Stats::default(),
            web_push: crate::webpush_state::WebPushState::default(),
        }
    }
}
