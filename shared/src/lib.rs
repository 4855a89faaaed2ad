//! What every Notify Lambda shares: configuration, the error type and its JSON
//! body, credential checks, the DynamoDB store and the push providers.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod http;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod push;
pub mod schedules;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod web_push_protocol;

#[cfg(test)]
mod properties;

pub use app::App;
pub use config::Config;
pub use error::{Error, Result};
