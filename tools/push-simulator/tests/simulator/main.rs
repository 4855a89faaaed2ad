//! End-to-end tests: a simulator on port 0, driven over TLS HTTP/2 and h2c
//! with reqwest, credentials signed with jsonwebtoken.
// A test crate: its helpers may unwrap like its tests (workspace lints deny
// it only outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod apns;
mod faults;
mod fcm;
mod support;
mod webpush;
mod webpush_services;
