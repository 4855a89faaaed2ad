//! Counters for `GET /stats`. Atomics on the hot path; the per-reason map is
//! only touched by rejections.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

#[derive(Default)]
pub(crate) struct Stats {
    accepted_apns: AtomicU64,
    accepted_fcm: AtomicU64,
    accepted_webpush: AtomicU64,
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    rejected: Mutex<HashMap<(&'static str, &'static str), u64>>,
}

/// Which front a counter belongs to.
pub(crate) const APNS: &str = "apns";
pub(crate) const FCM: &str = "fcm";
pub(crate) const OAUTH: &str = "oauth";
pub(crate) const WEBPUSH: &str = "webpush";

impl Stats {
    pub fn accepted(&self, provider: &'static str) {
        let counter = match provider {
            APNS => &self.accepted_apns,
            WEBPUSH => &self.accepted_webpush,
            _ => &self.accepted_fcm,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected(&self, provider: &'static str, reason: &'static str) {
        let mut rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        *rejected.entry((provider, reason)).or_default() += 1;
    }

    pub fn token_requested(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for counter in [
            &self.accepted_apns,
            &self.accepted_fcm,
            &self.accepted_webpush,
            &self.token_requests,
            &self.tokens_issued,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn snapshot(&self) -> Value {
        let apns = self.accepted_apns.load(Ordering::Relaxed);
        let fcm = self.accepted_fcm.load(Ordering::Relaxed);
        let webpush = self.accepted_webpush.load(Ordering::Relaxed);
        let mut by_reason: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        let mut rejected_total = 0;
        for (&(provider, reason), &count) in self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            rejected_total += count;
            by_reason.entry(provider).or_default().insert(reason, count);
        }
        json!({
            "accepted": apns + fcm + webpush,
            "accepted_by_provider": {"apns": apns, "fcm": fcm, "webpush": webpush},
            "rejected": rejected_total,
            "rejected_by_reason": by_reason,
            "token_requests": self.token_requests.load(Ordering::Relaxed),
            "tokens_issued": self.tokens_issued.load(Ordering::Relaxed),
        })
    }
}
