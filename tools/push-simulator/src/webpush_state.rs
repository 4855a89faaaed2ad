//! What the Web Push service keeps: the subscriptions it made (with the
//! browser's keys, to decrypt what is sent to them) and the pushes it
//! accepted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};

use aws_lc_rs::agreement::PrivateKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::conn::Listener;
use crate::webpush_service::Service;
use crate::webpush_vapid::VapidCheck;

/// Recordings kept; the oldest are dropped first.
const MAX_DELIVERIES: usize = 20_000;

/// A subscription the simulator made: it holds the browser's side.
pub(crate) struct Subscription {
    pub private_key: PrivateKey,
    pub auth: [u8; 16],
    pub application_server_key: Option<Vec<u8>>,
    pub service: Service,
    /// A Firefox for Android/iOS subscription, which autopush bridges.
    pub bridged: bool,
}

/// One accepted push, as recorded.
pub(crate) struct WebPushDelivery {
    pub endpoint: String,
    pub headers: Map<String, Value>,
    pub body: Vec<u8>,
    pub plaintext: Option<Value>,
    pub listener: Listener,
    pub received_at: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct WebPushState {
    subscriptions: Mutex<HashMap<String, Subscription>>,
    deliveries: Mutex<VecDeque<WebPushDelivery>>,
    /// `https://ip:port` of the listener without HTTP/2.
    http1_origin: OnceLock<String>,
    /// The VAPID check, with the authorization values it verified.
    pub vapid: VapidCheck,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl WebPushState {
    pub fn set_http1_origin(&self, origin: String) {
        let _ = self.http1_origin.set(origin);
    }

    /// `https://ip:port` of the listener without HTTP/2, once it runs.
    pub fn http1_origin(&self) -> Option<String> {
        self.http1_origin.get().cloned()
    }

    pub fn clear(&self) -> usize {
        let mut deliveries = lock(&self.deliveries);
        let count = deliveries.len();
        deliveries.clear();
        count
    }

    /// `{"count", "deliveries"}` of the pushes to `endpoint` (all when
    /// `None`), oldest first, the newest `limit`.
    pub fn query(&self, endpoint: Option<&str>, limit: Option<usize>) -> Value {
        let deliveries = lock(&self.deliveries);
        let mut matched: Vec<Value> = deliveries
            .iter()
            .rev()
            .filter(|d| endpoint.is_none_or(|e| e == d.endpoint))
            .take(limit.unwrap_or(usize::MAX))
            .map(|d| {
                json!({
                    "provider": "webpush",
                    "token": d.endpoint,
                    "headers": d.headers,
                    "body_b64": URL_SAFE_NO_PAD.encode(&d.body),
                    "plaintext": d.plaintext,
                    "listener": d.listener,
                    "received_at": d.received_at,
                })
            })
            .collect();
        matched.reverse();
        json!({"count": matched.len(), "deliveries": matched})
    }

    pub fn subscribe(&self, endpoint: String, subscription: Subscription) {
        lock(&self.subscriptions).insert(endpoint, subscription);
    }

    /// The subscriptions the simulator made, by endpoint.
    pub fn subscriptions(&self) -> MutexGuard<'_, HashMap<String, Subscription>> {
        lock(&self.subscriptions)
    }

    /// Keeps `delivery`, dropping the oldest once `MAX_DELIVERIES` are kept.
    pub fn record(&self, delivery: WebPushDelivery) {
        let mut deliveries = lock(&self.deliveries);
        if deliveries.len() >= MAX_DELIVERIES {
            deliveries.pop_front();
        }
        deliveries.push_back(delivery);
    }
}
