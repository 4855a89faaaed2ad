//! The engine against the local APNs/FCM simulator, over real TLS and h2c.

mod apns;
mod apns_connections;
mod credentials;
mod engine;
mod fcm;
mod harness;
mod token_clock;
mod webpush;
mod webpush_services;
