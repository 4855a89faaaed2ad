//! Devices: registering, listing and unregistering, the permission rows of
//! the device endpoints, bad input, the per-user cap, and what tenant
//! deletion leaves behind.

mod access;
mod caps;
mod deletion;
mod one_at_a_time;
mod register;
mod unregister;

fn is_rfc3339_utc_seconds(text: &str) -> bool {
    text.len() == 20 && text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
