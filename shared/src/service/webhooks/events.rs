//! Events as they travel: what the publisher puts on the webhook queue and
//! what a receiver gets. An event's id is derived from what it is about
//! wherever the same event can be produced twice (a batch completes once,
//! however often its last chunk is delivered), and it is the
//! `webhook-id` of every attempt, so receivers can deduplicate.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::{BulkStatus, EventType};

/// Devices one `devices.removed` event lists at most.
pub const MAX_DEVICES_PER_EVENT: usize = 100;
/// Bytes of devices one event carries at most: SQS takes 256 KiB a
/// message, and 100 FCM tokens of 4 KB would be 400 KB.
pub const MAX_EVENT_DATA_BYTES: usize = 200 * 1024;

/// One event of a tenant, before it is addressed to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339, when the event happened.
    pub timestamp: String,
    pub data: Value,
}

/// A message of the webhook queue: one event for one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    pub tenant_id: String,
    pub webhook_id: String,
    #[serde(flatten)]
    pub event: Event,
}

impl WebhookMessage {
    /// What the receiver is sent: `{"type", "timestamp", "data"}`.
    pub fn payload(&self) -> Value {
        json!({
            "type": self.event.kind,
            "timestamp": self.event.timestamp,
            "data": self.event.data,
        })
    }
}

/// `evt_` and 32 hex digits of a digest of what the event is about.
fn derived_id(kind: EventType, tenant_id: &str, about: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{tenant_id}\n{about}", kind.as_str()));
    format!("evt_{}", &hex::encode(digest)[..32])
}

/// A removed device, as `devices.removed` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedDevice {
    pub user_id: String,
    pub token: String,
    pub platform: crate::model::Platform,
    pub reason: String,
}

/// Where removed devices were found: a bulk batch or a single send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A bulk batch's id.
    Batch(&'a str),
    /// A single send's `message_id`.
    Message(&'a str),
}

impl Origin<'_> {
    fn field(&self) -> (&'static str, &str) {
        match self {
            Origin::Batch(id) => ("batch_id", id),
            Origin::Message(id) => ("message_id", id),
        }
    }
}

impl Event {
    /// `batch.completed`: the batch's status, once per batch.
    pub fn batch_completed(tenant_id: &str, status: &BulkStatus, now: &str) -> Self {
        Self {
            event_id: derived_id(EventType::BatchCompleted, tenant_id, &status.batch_id),
            kind: EventType::BatchCompleted,
            timestamp: now.to_owned(),
            data: serde_json::to_value(status).unwrap_or(Value::Null),
        }
    }

    /// `devices.removed`: one event per [`MAX_DEVICES_PER_EVENT`] devices
    /// and per [`MAX_EVENT_DATA_BYTES`].
    pub fn devices_removed(
        tenant_id: &str,
        origin: Origin<'_>,
        devices: &[RemovedDevice],
        now: &str,
    ) -> Vec<Self> {
        let (field, id) = origin.field();
        let mut events = Vec::new();
        let mut part: Vec<&RemovedDevice> = Vec::new();
        let mut bytes = 0;
        let mut flush = |part: &mut Vec<&RemovedDevice>| {
            if part.is_empty() {
                return;
            }
            let tokens: Vec<&str> = part.iter().map(|device| device.token.as_str()).collect();
            let about = format!("{field}={id}\n{}", tokens.join("\n"));
            events.push(Self {
                event_id: derived_id(EventType::DevicesRemoved, tenant_id, &about),
                kind: EventType::DevicesRemoved,
                timestamp: now.to_owned(),
                data: Value::Object(
                    [
                        ("devices".to_owned(), json!(part)),
                        (field.to_owned(), Value::from(id)),
                    ]
                    .into_iter()
                    .collect(),
                ),
            });
            part.clear();
        };
        for device in devices {
            let size = device.token.len() + device.user_id.len() + device.reason.len() + 64;
            if part.len() >= MAX_DEVICES_PER_EVENT
                || (!part.is_empty() && bytes + size > MAX_EVENT_DATA_BYTES)
            {
                flush(&mut part);
                bytes = 0;
            }
            bytes += size;
            part.push(device);
        }
        flush(&mut part);
        events
    }

    /// `credentials.failed`: a provider refused the tenant's credentials;
    /// one id per provider and `window` (the hour it is let through in).
    pub fn credentials_failed(
        tenant_id: &str,
        provider: &str,
        reason: &str,
        window: i64,
        now: &str,
    ) -> Self {
        Self {
            event_id: derived_id(
                EventType::CredentialsFailed,
                tenant_id,
                &format!("{provider}\n{window}"),
            ),
            kind: EventType::CredentialsFailed,
            timestamp: now.to_owned(),
            data: json!({ "provider": provider, "reason": reason }),
        }
    }

    /// `key.unusual_activity`: an API key's activity turned unusual; one
    /// id per key and episode (`episode`: the hour it began, epoch
    /// seconds). Never the key itself nor its hash.
    pub fn key_unusual_activity(
        tenant_id: &str,
        key: &UnusualKey<'_>,
        episode: i64,
        now: &str,
    ) -> Self {
        Self {
            event_id: derived_id(
                EventType::KeyUnusualActivity,
                tenant_id,
                &format!("{}\n{episode}", key.key_id),
            ),
            kind: EventType::KeyUnusualActivity,
            timestamp: now.to_owned(),
            data: json!({
                "key_id": key.key_id,
                "name": key.name,
                "requests_last_hour": key.requests_last_hour,
                "hourly_mean_7d": key.hourly_mean_7d,
            }),
        }
    }
}

/// What `key.unusual_activity` tells of the key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnusualKey<'a> {
    pub key_id: &'a str,
    pub name: &'a str,
    pub requests_last_hour: u64,
    pub hourly_mean_7d: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BatchStatus, Platform};

    fn device(n: usize, token_len: usize) -> RemovedDevice {
        RemovedDevice {
            user_id: format!("user-{n}"),
            token: format!("{n:0>width$}", width = token_len),
            platform: Platform::Android,
            reason: "UNREGISTERED".to_owned(),
        }
    }

    #[test]
    fn a_batch_completes_with_one_id_however_often_it_is_told() {
        let status = BulkStatus {
            batch_id: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f".to_owned(),
            status: BatchStatus::Done,
            total: Some(3),
            delivered: 2,
            failed: 1,
            no_devices: 0,
            send_at: None,
        };
        let first = Event::batch_completed("tnt_a", &status, "2026-12-07T10:00:00Z");
        let again = Event::batch_completed("tnt_a", &status, "2026-12-07T10:05:00Z");
        assert_eq!(first.event_id, again.event_id);
        assert!(first.event_id.starts_with("evt_") && first.event_id.len() == 36);
        assert_ne!(
            first.event_id,
            Event::batch_completed("tnt_b", &status, "x").event_id
        );
        assert_eq!(first.data["delivered"], 2);
        assert_eq!(first.data["status"], "done");
    }

    #[test]
    fn removed_devices_are_split_by_count_and_by_bytes() {
        let few: Vec<_> = (0..250).map(|n| device(n, 64)).collect();
        let origin = Origin::Batch("b");
        let events = Event::devices_removed("tnt_a", origin, &few, "now");
        let sizes: Vec<usize> = events
            .iter()
            .map(|event| event.data["devices"].as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(events[0].data["batch_id"], "b");
        assert!(events[0].data.get("message_id").is_none());

        let large: Vec<_> = (0..100).map(|n| device(n, 4096)).collect();
        let origin = Origin::Message("m");
        let events = Event::devices_removed("tnt_a", origin, &large, "now");
        assert!(events.len() >= 2, "{}", events.len());
        for event in &events {
            assert!(
                serde_json::to_vec(&event.data).map_or(0, |v| v.len())
                    <= MAX_EVENT_DATA_BYTES + 8192
            );
            assert_eq!(event.data["message_id"], "m");
        }
        let total: usize = events
            .iter()
            .map(|event| event.data["devices"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(total, 100);
        assert!(Event::devices_removed("tnt_a", origin, &[], "now").is_empty());
    }

    #[test]
    fn the_receiver_gets_type_timestamp_and_data_only() {
        let message = WebhookMessage {
            tenant_id: "tnt_a".to_owned(),
            webhook_id: "wh_a".to_owned(),
            event: Event::credentials_failed("tnt_a", "apns", "InvalidProviderToken", 7, "now"),
        };
        let payload = message.payload();
        assert_eq!(
            payload,
            json!({"type": "credentials.failed", "timestamp": "now", "data": {"provider": "apns", "reason": "InvalidProviderToken"}})
        );
        let text = serde_json::to_string(&message).unwrap_or_default();
        let back: Option<WebhookMessage> = serde_json::from_str(&text).ok();
        assert_eq!(back, Some(message));
    }
}
