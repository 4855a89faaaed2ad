//! Timestamps as the contract writes them: RFC 3339, UTC, whole seconds.

use chrono::{SecondsFormat, Utc};

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn now_epoch_seconds() -> i64 {
    Utc::now().timestamp()
}
