//! The `RateLimit-Policy` and `RateLimit` header fields
//! (draft-ietf-httpapi-ratelimit-headers) of an answer to an API key.
//!
//! Authorisation notes the key's state for the request being handled, and
//! the response writer reads it: a task-local slot, set up around each
//! handler by [`collect_rate_fields`], so no handler passes it along.

use std::cell::Cell;
use std::future::Future;

use http::{HeaderMap, HeaderValue};

/// One key's rate state after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateFields {
    /// Requests per second.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

impl RateFields {
    /// After a counted request, the `used`-th of its one-second window.
    pub fn after(limit: u32, used: u32) -> Self {
        Self {
            limit,
            remaining: limit.saturating_sub(used),
            reset_secs: 1,
        }
    }

    pub fn exhausted(limit: u32, reset_secs: i64) -> Self {
        Self {
            limit,
            remaining: 0,
            reset_secs: u64::try_from(reset_secs.max(1)).unwrap_or(1),
        }
    }

    pub fn write_to(&self, headers: &mut HeaderMap) {
        let policy = format!("\"key\";q={};w=1", self.limit);
        let state = format!("\"key\";r={};t={}", self.remaining, self.reset_secs);
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}

tokio::task_local! {
    static RATE_FIELDS: Cell<Option<RateFields>>;
}

/// Runs `work` with a slot for the rate fields its authorisation notes.
pub async fn collect_rate_fields<F: Future>(work: F) -> (F::Output, Option<RateFields>) {
    RATE_FIELDS
        .scope(Cell::new(None), async {
            let output = work.await;
            (output, RATE_FIELDS.with(Cell::get))
        })
        .await
}

/// Notes the fields for the answer of the request being handled (outside
/// [`collect_rate_fields`], nothing happens).
pub fn note_rate_fields(fields: RateFields) {
    let _ = RATE_FIELDS.try_with(|slot| slot.set(Some(fields)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_fields_noted_inside_the_work_come_out_in_the_draft_s_syntax() {
        let ((), fields) =
            collect_rate_fields(async { note_rate_fields(RateFields::after(50, 1)) }).await;
        let mut headers = HeaderMap::new();
        fields
            .unwrap_or(RateFields::exhausted(1, 1))
            .write_to(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"key\";q=50;w=1");
        assert_eq!(headers["ratelimit"], "\"key\";r=49;t=1");
    }

    #[tokio::test]
    async fn nothing_is_noted_outside_a_collecting_scope() {
        note_rate_fields(RateFields::after(5, 5));
        let ((), fields) = collect_rate_fields(async {}).await;
        assert_eq!(fields, None);
    }
}
