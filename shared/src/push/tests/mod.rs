//! The engine against the local APNs/FCM simulator, over real TLS and h2c.

mod apns;
mod engine;
mod fcm;
mod harness;
mod webpush;
mod webpush_services;
