//! Accepted pushes, kept compactly in memory (bodies as the JSON text that
//! was validated, rendered only when someone asks).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::conn::Listener;
use crate::credentials::{ApnsKey, Environment, FcmAccount};

pub(crate) enum Delivery {
    Apns(ApnsDelivery),
    Fcm(FcmDelivery),
}

pub(crate) struct ApnsDelivery {
    pub token: String,
    pub topic: String,
    pub push_type: Option<&'static str>,
    pub priority: Option<u8>,
    pub expiration: Option<i64>,
    pub collapse_id: Option<String>,
    pub apns_id: Uuid,
    pub key: Arc<ApnsKey>,
    pub payload: Box<str>,
    pub listener: Listener,
    /// The connection it came on, and that connection's environment.
    pub connection: u64,
    pub environment: Environment,
    pub http_version: &'static str,
    pub received_at: DateTime<Utc>,
}

pub(crate) struct FcmDelivery {
    pub project_id: String,
    pub token: Option<String>,
    pub topic: Option<String>,
    pub condition: Option<String>,
    pub message: Box<str>,
    pub name: String,
    pub account: Arc<FcmAccount>,
    pub listener: Listener,
    pub http_version: &'static str,
    pub received_at: DateTime<Utc>,
}

/// `GET /deliveries` query.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub provider: Option<String>,
    pub token: Option<String>,
    pub topic: Option<String>,
    pub project_id: Option<String>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, delivery: &Delivery) -> bool {
        let provider = self.provider.as_deref();
        match delivery {
            Delivery::Apns(d) => {
                provider.is_none_or(|p| p == "apns")
                    && self.project_id.is_none()
                    && self
                        .token
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(&d.token))
                    && self.topic.as_deref().is_none_or(|t| t == d.topic)
            }
            Delivery::Fcm(d) => {
                provider.is_none_or(|p| p == "fcm")
                    && self
                        .token
                        .as_deref()
                        .is_none_or(|t| d.token.as_deref() == Some(t))
                    && self
                        .topic
                        .as_deref()
                        .is_none_or(|t| d.topic.as_deref() == Some(t))
                    && self.project_id.as_deref().is_none_or(|p| p == d.project_id)
            }
        }
    }
}

pub(crate) struct Recorder {
    max: usize,
    deliveries: Mutex<VecDeque<Delivery>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// Keeps the newest `max` deliveries; 0 keeps none (lean mode).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            deliveries: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Delivery>> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// False in lean mode (`max_deliveries` 0): nothing is kept.
    pub fn is_recording(&self) -> bool {
        self.max != 0
    }

    pub fn record(&self, delivery: Delivery) {
        if self.max == 0 {
            return;
        }
        let mut deliveries = self.lock();
        if deliveries.len() >= self.max {
            deliveries.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        deliveries.push_back(delivery);
    }

    pub fn clear(&self) -> usize {
        let mut deliveries = self.lock();
        let cleared = deliveries.len();
        deliveries.clear();
        self.dropped.store(0, Ordering::Relaxed);
        cleared
    }

    /// Stored and dropped (beyond `max_deliveries`) counts.
    pub fn sizes(&self) -> (usize, u64) {
        (self.lock().len(), self.dropped.load(Ordering::Relaxed))
    }

    /// `{"count": N, "deliveries": [...]}`, newest last; `limit` keeps the
    /// newest N matches.
    pub fn query_json(&self, filter: &Filter) -> Vec<u8> {
        #[derive(Serialize)]
        struct Answer<'a> {
            count: usize,
            deliveries: Vec<&'a Delivery>,
        }
        let deliveries = self.lock();
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut matched: Vec<&Delivery> = deliveries
            .iter()
            .rev()
            .filter(|d| filter.matches(d))
            .take(limit)
            .collect();
        matched.reverse();
        let answer = Answer {
            count: matched.len(),
            deliveries: matched,
        };
        serde_json::to_vec(&answer).unwrap_or_default()
    }
}

fn raw(json: &str) -> &RawValue {
    serde_json::from_str(json).unwrap_or(RawValue::NULL)
}

impl Serialize for Delivery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Apns<'a> {
            provider: &'static str,
            token: &'a str,
            topic: &'a str,
            push_type: Option<&'a str>,
            priority: Option<u8>,
            expiration: Option<i64>,
            collapse_id: Option<&'a str>,
            apns_id: Uuid,
            team_id: &'a str,
            key_id: &'a str,
            payload: &'a RawValue,
            listener: Listener,
            connection: u64,
            environment: Environment,
            http_version: &'a str,
            received_at: DateTime<Utc>,
        }
        #[derive(Serialize)]
        struct Fcm<'a> {
            provider: &'static str,
            project_id: &'a str,
            token: Option<&'a str>,
            topic: Option<&'a str>,
            condition: Option<&'a str>,
            message: &'a RawValue,
            name: &'a str,
            client_email: &'a str,
            listener: Listener,
            http_version: &'a str,
            received_at: DateTime<Utc>,
        }
        match self {
            Delivery::Apns(d) => Apns {
                provider: "apns",
                token: &d.token,
                topic: &d.topic,
                push_type: d.push_type,
                priority: d.priority,
                expiration: d.expiration,
                collapse_id: d.collapse_id.as_deref(),
                apns_id: d.apns_id,
                team_id: &d.key.team_id,
                key_id: &d.key.key_id,
                payload: raw(&d.payload),
                listener: d.listener,
                connection: d.connection,
                environment: d.environment,
                http_version: d.http_version,
                received_at: d.received_at,
            }
            .serialize(serializer),
            Delivery::Fcm(d) => Fcm {
                provider: "fcm",
                project_id: &d.project_id,
                token: d.token.as_deref(),
                topic: d.topic.as_deref(),
                condition: d.condition.as_deref(),
                message: raw(&d.message),
                name: &d.name,
                client_email: &d.account.client_email,
                listener: d.listener,
                http_version: d.http_version,
                received_at: d.received_at,
            }
            .serialize(serializer),
        }
    }
}
