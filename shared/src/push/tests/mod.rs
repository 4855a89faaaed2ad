//! The engine against the local APNs/FCM simulator, over real TLS and h2c.

mod apns;
mod apns_connections;
mod engine;
mod fcm;
mod harness;
mod token_clock;
mod webpush;
mod webpush_services;

/// A usable APNs key of its own (a fresh P-256 key), for unit tests that
/// need no simulator.
pub(crate) fn apns_key() -> crate::credentials::ApnsKey {
    let pair = crate::web_push::VapidKey::generate("mailto:ops@example.com")
        .unwrap_or_else(|err| panic!("generating a P-256 key: {err}"));
    crate::credentials::ApnsKey {
        team_id: "TEAM012345".into(),
        key_id: "KEY0123456".into(),
        private_key: pair.private_key,
    }
}
