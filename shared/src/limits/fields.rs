//! The `RateLimit-Policy` and `RateLimit` header fields
//! (draft-ietf-httpapi-ratelimit-headers) of an answer to an API key.
//!
//! Authorisation notes the key and its state for the request being
//! handled, a single send the pushes it made, and the response writer reads
//! them: a task-local slot, set up around each handler by
//! [`collect_metering`], so no handler passes it along.

use std::cell::RefCell;
use std::future::Future;

use http::{HeaderMap, HeaderValue};

use super::ActivitySample;

/// One key's rate state after a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// What a request made with an API key did, as far as usage counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metered {
    /// The key, once counted against its rate, and its state then.
    pub key: Option<(String, RateFields)>,
    /// The tenant a single send pushed for, and the device pushes it
    /// attempted, and failed.
    pub tenant_id: Option<String>,
    pub pushes: u32,
    pub pushes_failed: u32,
    /// The key was admitted but its tenant over its rate: a 429 the key's
    /// own note did not count as throttled.
    pub tenant_throttled: bool,
    /// The key's hour passed a sample point of the unusual-activity rule
    /// with this request (see `limits::activity`).
    pub activity: Option<ActivitySample>,
}

tokio::task_local! {
    static METERED: RefCell<Metered>;
}

/// Runs `work` with a slot for what its authorisation and sends note.
pub async fn collect_metering<F: Future>(work: F) -> (F::Output, Metered) {
    METERED
        .scope(RefCell::new(Metered::default()), async {
            let output = work.await;
            (output, METERED.with(|slot| slot.take()))
        })
        .await
}

/// Notes the key and its rate state for the answer of the request being
/// handled (outside [`collect_metering`], nothing happens).
pub fn note_rate_fields(key_id: &str, fields: RateFields) {
    let _ = METERED.try_with(|slot| slot.borrow_mut().key = Some((key_id.to_owned(), fields)));
}

/// The key the request being handled was made with, once authorised
/// (`None` for user tokens and outside [`collect_metering`]).
pub fn metered_key_id() -> Option<String> {
    METERED
        .try_with(|slot| slot.borrow().key.as_ref().map(|(key_id, _)| key_id.clone()))
        .ok()
        .flatten()
}

/// Notes that the key's hour passed a sample point with this request.
pub fn note_activity_sample(sample: ActivitySample) {
    let _ = METERED.try_with(|slot| slot.borrow_mut().activity = Some(sample));
}

/// Notes that the tenant's rate refused the request (see [`Metered`]).
pub fn note_tenant_throttled() {
    let _ = METERED.try_with(|slot| slot.borrow_mut().tenant_throttled = true);
}

/// Notes pushes a single send attempted for `tenant_id`, and how many failed.
pub fn note_pushes(tenant_id: &str, attempted: u32, failed: u32) {
    let _ = METERED.try_with(|slot| {
        let mut metered = slot.borrow_mut();
        metered.tenant_id = Some(tenant_id.to_owned());
        metered.pushes = metered.pushes.saturating_add(attempted);
        metered.pushes_failed = metered.pushes_failed.saturating_add(failed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_fields_noted_inside_the_work_come_out_in_the_draft_s_syntax() {
        let ((), metered) = collect_metering(async {
            note_rate_fields("key_a", RateFields::after(50, 1));
            note_pushes("tnt_a", 3, 1);
        })
        .await;
        assert_eq!((metered.pushes, metered.pushes_failed), (3, 1));
        assert_eq!(metered.tenant_id.as_deref(), Some("tnt_a"));
        let (key_id, fields) = metered.key.unwrap_or_default();
        assert_eq!(key_id, "key_a");
        let mut headers = HeaderMap::new();
        fields.write_to(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"key\";q=50;w=1");
        assert_eq!(headers["ratelimit"], "\"key\";r=49;t=1");
    }

    #[tokio::test]
    async fn nothing_is_noted_outside_a_collecting_scope() {
        note_rate_fields("key_a", RateFields::after(5, 5));
        let ((), metered) = collect_metering(async {}).await;
        assert_eq!(metered, Metered::default());
    }
}
