//! A notification as a Web Push message: the plaintext JSON the service
//! worker reads (contract: `title`, `subtitle`, `body`, `badge`, `sound`,
//! `data`, `message_id`, absent fields left out) and the RFC 8030 headers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::HeaderValue;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{Notification, Priority};
use crate::web_push_protocol::ece::MAX_PLAINTEXT_LEN;

/// `ttl_seconds` when the send has none: four weeks, what push services keep.
pub const DEFAULT_TTL_SECONDS: u32 = 28 * 24 * 3600;
/// Bytes of the SHA-256 a `Topic` carries: 24 are 32 base64url characters,
/// RFC 8030 §5.4's maximum, with no padding.
const TOPIC_DIGEST_BYTES: usize = 24;

#[derive(Debug, Clone)]
pub(crate) struct WebPushMessage {
    pub plaintext: Bytes,
    pub ttl: HeaderValue,
    pub urgency: HeaderValue,
    pub topic: Option<HeaderValue>,
    /// Nothing a browser would show: no `alert`, and either
    /// `content_available` or no `data` a service worker could show.
    pub silent: bool,
}

#[derive(Serialize)]
struct Plaintext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtitle: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    message_id: &'a str,
}

/// `collapse_id` as a `Topic`: the base64url of the first 24 bytes of its
/// SHA-256, 32 characters, for every `collapse_id` and every push service.
/// Apple base64-decodes topics and refuses lengths of 1 mod 4
/// (`BadWebPushTopic`), which about one `collapse_id` in four has; a
/// digest is accepted everywhere, and the same `collapse_id` always
/// replaces the same pending message.
pub fn topic_of(collapse_id: &str) -> String {
    let digest = Sha256::digest(collapse_id.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..TOPIC_DIGEST_BYTES])
}

impl WebPushMessage {
    pub fn encode(notification: &Notification, message_id: &str) -> Self {
        let alert = notification.alert.as_ref();
        let plaintext = Plaintext {
            title: alert.and_then(|a| a.title.as_deref()),
            subtitle: alert.and_then(|a| a.subtitle.as_deref()),
            body: alert.and_then(|a| a.body.as_deref()),
            badge: notification.badge,
            sound: notification.sound.as_deref(),
            data: notification.data.as_ref().filter(|data| !data.is_empty()),
            message_id,
        };
        let high = match notification.priority {
            Some(priority) => priority == Priority::High,
            None => notification.is_visible(),
        };
        Self {
            // Serializing plain structs and JSON values cannot fail.
            plaintext: Bytes::from(serde_json::to_vec(&plaintext).unwrap_or_default()),
            ttl: HeaderValue::from(notification.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS)),
            urgency: HeaderValue::from_static(if high { "high" } else { "normal" }),
            topic: notification
                .collapse_id
                .as_deref()
                .and_then(|id| HeaderValue::try_from(topic_of(id)).ok()),
            silent: alert.is_none()
                && (notification.content_available
                    || notification.data.as_ref().is_none_or(Map::is_empty)),
        }
    }

    /// Whether the message stays within 4096 bytes once encrypted.
    pub fn fits(&self) -> bool {
        self.plaintext.len() <= MAX_PLAINTEXT_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;

    #[test]
    fn the_plaintext_has_the_contracts_fields_and_leaves_absent_ones_out() {
        let notification = Notification {
            alert: Some(Alert {
                title: Some("Hi".to_owned()),
                subtitle: None,
                body: Some("there".to_owned()),
            }),
            badge: Some(3),
            data: serde_json::from_value(serde_json::json!({"k": 1})).ok(),
            ..Notification::default()
        };
        let message = WebPushMessage::encode(&notification, "m-1");
        let plain: Value = serde_json::from_slice(&message.plaintext).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"title": "Hi", "body": "there", "badge": 3, "data": {"k": 1}, "message_id": "m-1"})
        );
        assert_eq!(message.ttl, HeaderValue::from(DEFAULT_TTL_SECONDS));
        assert_eq!(message.urgency, "high");
        assert!(message.topic.is_none());
    }

    #[test]
    fn every_collapse_id_becomes_a_stable_topic_apple_can_decode() {
        for collapse_id in ["spike", "mail-batch-10", "ab", "a b", &"x".repeat(64)] {
            let topic = topic_of(collapse_id);
            assert_eq!(topic.len(), 32, "{collapse_id}");
            assert_ne!(topic.len() % 4, 1);
            assert!(topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(topic, topic_of(collapse_id), "stable");
        }
        assert_ne!(topic_of("a"), topic_of("b"));
    }
}
