//! End-to-end tests: a simulator on port 0, driven over TLS HTTP/2 and h2c
//! with reqwest, credentials signed with jsonwebtoken.

mod admin;
mod apns;
mod faults;
mod fcm;
mod support;
