//! A local stand-in for Apple APNs, Google FCM HTTP v1, Google's OAuth2
//! token endpoint and a standard Web Push service.
//!
//! It speaks the providers' wire protocols (HTTP/2 over TLS, h2c and
//! HTTP/1.1), validates requests the way the real services do, records every
//! accepted push for inspection and can be told to fail. Start it with
//! [`Simulator::start`]; bind port 0 in tests and read the bound addresses
//! from the returned [`RunningSimulator`].
#![forbid(unsafe_code)]

mod admin;
mod apns;
mod apns_connection;
mod config;
mod conn;
mod credentials;
mod faults;
mod fcm;
mod fcm_message;
mod fcm_quota;
mod http_util;
mod json_probe;
mod jwt;
mod oauth;
mod recorder;
mod routes;
mod server;
mod state;
mod stats;
mod tls;
mod webpush;
mod webpush_h1;
mod webpush_service;
mod webpush_state;
mod webpush_vapid;

pub use config::SimulatorConfig;
pub use server::{RunningSimulator, Simulator};
