//! A notification as an FCM HTTP v1 `Message`, serialized once; each device
//! only adds its token.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Notification, Priority};

/// FCM refuses messages whose data plus notification texts exceed this.
pub(crate) const MAX_DATA_BYTES: usize = 4096;
/// FCM keeps messages at most four weeks.
const MAX_TTL_SECONDS: u32 = 28 * 24 * 3600;

const HEAD: &[u8] = br#"{"message":{"token":"#;

/// `{"message":{"token":` + token + `tail`.
#[derive(Debug, Clone)]
pub(crate) struct FcmMessage {
    tail: Bytes,
}

#[derive(Serialize)]
struct Message<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<Texts<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: BTreeMap<&'a str, Cow<'a, str>>,
    android: Android<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webpush: Option<Webpush>,
}

#[derive(Serialize)]
struct Texts<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
}

#[derive(Serialize)]
struct Android<'a> {
    priority: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<String>,
    /// `collapse_id`. FCM keeps at most 4 collapse keys per device at a
    /// time and says not which past that ("Non-collapsible and collapsible
    /// messages"): documented for senders in docs/sending.md.
    #[serde(skip_serializing_if = "Option::is_none")]
    collapse_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<AndroidNotification<'a>>,
}

#[derive(Serialize)]
struct AndroidNotification<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    /// Replaces an earlier notification with the same tag, like APNs'
    /// collapse id.
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    /// The activity intent filter that handles the tap: the category.
    #[serde(skip_serializing_if = "Option::is_none")]
    click_action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_count: Option<u32>,
}

#[derive(Serialize)]
struct Webpush {
    headers: BTreeMap<&'static str, String>,
}

pub(crate) fn encode(notification: &Notification) -> Result<FcmMessage> {
    let data = string_data(notification);
    let alert = notification.alert.as_ref();
    let title = alert.and_then(|a| a.title.as_deref());
    let body = alert.and_then(|a| a.body.as_deref());
    check_size(&data, title, body)?;
    let ttl = notification.ttl_seconds.map(|ttl| ttl.min(MAX_TTL_SECONDS));
    let message = Message {
        // Subtitles have no FCM field; Android shows title and body.
        notification: (title.is_some() || body.is_some()).then_some(Texts { title, body }),
        data,
        android: android(notification, ttl),
        webpush: webpush(notification, ttl),
    };
    let json = serde_json::to_vec(&message)
        .map_err(|err| Error::internal("encoding the FCM message", err))?;
    Ok(FcmMessage { tail: tail(&json) })
}

/// FCM data values are strings: other JSON values travel as JSON text.
fn string_data(notification: &Notification) -> BTreeMap<&str, Cow<'_, str>> {
    notification
        .data_entries()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => Cow::Borrowed(text.as_str()),
                other => Cow::Owned(other.to_string()),
            };
            (key.as_str(), text)
        })
        .collect()
}

/// FCM's limit on data plus notification texts.
fn check_size(
    data: &BTreeMap<&str, Cow<'_, str>>,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<()> {
    let size = data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + title.map_or(0, str::len)
        + body.map_or(0, str::len);
    if size > MAX_DATA_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "the FCM message would carry {size} bytes of data and notification text; \
             FCM accepts at most {MAX_DATA_BYTES}"
        )));
    }
    Ok(())
}

/// The Android options: priority (visible sends are high unless asked
/// otherwise), TTL, collapse key and the notification's extras.
fn android(notification: &Notification, ttl: Option<u32>) -> Android<'_> {
    let high = match notification.priority {
        Some(priority) => priority == Priority::High,
        None => notification.is_visible(),
    };
    let android_notification = notification.alert.as_ref().map(|_| AndroidNotification {
        sound: notification.sound.as_deref(),
        tag: notification.collapse_id.as_deref(),
        click_action: notification.category.as_deref(),
        notification_count: notification.badge,
    });
    Android {
        priority: if high { "HIGH" } else { "NORMAL" },
        ttl: ttl.map(|ttl| format!("{ttl}s")),
        collapse_key: notification.collapse_id.as_deref(),
        notification: android_notification.filter(|n| {
            n.sound.is_some()
                || n.tag.is_some()
                || n.click_action.is_some()
                || n.notification_count.is_some()
        }),
    }
}

/// The Web Push headers (`TTL`, `Urgency`) for browsers reached via FCM;
/// `None` without either.
fn webpush(notification: &Notification, ttl: Option<u32>) -> Option<Webpush> {
    let mut web_headers = BTreeMap::new();
    if let Some(ttl) = ttl {
        web_headers.insert("TTL", ttl.to_string());
    }
    if let Some(priority) = notification.priority {
        let urgency = if priority == Priority::High {
            "high"
        } else {
            "normal"
        };
        web_headers.insert("Urgency", urgency.to_owned());
    }
    (!web_headers.is_empty()).then_some(Webpush {
        headers: web_headers,
    })
}

/// `{...}` becomes `,...}}`: the fields after the token, and the close of
/// `message` and of the request.
fn tail(json: &[u8]) -> Bytes {
    let mut tail = BytesMut::with_capacity(json.len() + 2);
    match json.get(1..) {
        Some(rest) if rest.len() > 1 => {
            tail.put_u8(b',');
            tail.put_slice(rest);
        }
        _ => tail.put_u8(b'}'),
    }
    tail.put_u8(b'}');
    tail.freeze()
}

impl FcmMessage {
    /// The request body for one registration token.
    pub fn body(&self, token: &str) -> Bytes {
        let mut body = BytesMut::with_capacity(HEAD.len() + token.len() + 2 + self.tail.len());
        body.put_slice(HEAD);
        // Tokens are URL-safe, but escaping keeps any input valid JSON.
        if serde_json::to_writer((&mut body).writer(), token).is_err() {
            body.put_slice(b"\"\"");
        }
        body.put_slice(&self.tail);
        body.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;
    use serde_json::json;

    fn message(notification: &Notification, token: &str) -> Value {
        let body = encode(notification).unwrap().body(token);
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn an_alert_maps_to_notification_android_and_webpush() {
        let notification = Notification {
            alert: Some(Alert {
                title: Some("Title".into()),
                subtitle: Some("ignored".into()),
                body: Some("Body".into()),
            }),
            badge: Some(3),
            sound: Some("default".into()),
            data: Some(
                json!({"s": "text", "n": 42, "o": {"a": [true]}, "z": null})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            category: Some("OPEN_CHAT".into()),
            collapse_id: Some("chat".into()),
            priority: Some(Priority::High),
            ttl_seconds: Some(3600),
            ..Notification::default()
        };
        assert_eq!(
            message(&notification, "tok"),
            json!({"message": {
                "token": "tok",
                "notification": {"title": "Title", "body": "Body"},
                "data": {"s": "text", "n": "42", "o": "{\"a\":[true]}", "z": "null"},
                "android": {
                    "priority": "HIGH",
                    "ttl": "3600s",
                    "collapse_key": "chat",
                    "notification": {"sound": "default", "tag": "chat", "click_action": "OPEN_CHAT", "notification_count": 3}
                },
                "webpush": {"headers": {"TTL": "3600", "Urgency": "high"}}
            }})
        );
    }

    #[test]
    fn a_data_only_message_is_normal_priority_without_notification_blocks() {
        let notification = Notification {
            data: Some(json!({"k": "v"}).as_object().unwrap().clone()),
            content_available: true,
            ttl_seconds: Some(40 * 24 * 3600),
            ..Notification::default()
        };
        assert_eq!(
            message(&notification, "t"),
            json!({"message": {
                "token": "t",
                "data": {"k": "v"},
                "android": {"priority": "NORMAL", "ttl": "2419200s"},
                "webpush": {"headers": {"TTL": "2419200"}}
            }})
        );
    }

    #[test]
    fn tokens_are_escaped_into_valid_json() {
        let notification = Notification {
            badge: Some(1),
            ..Notification::default()
        };
        assert_eq!(
            message(&notification, "a\"b")["message"]["token"],
            json!("a\"b")
        );
    }

    #[test]
    fn more_than_4096_bytes_of_data_and_text_is_too_large() {
        let fill = |n: usize| Notification {
            alert: Some(Alert {
                title: Some("ab".into()),
                ..Alert::default()
            }),
            data: Some(json!({"k": "x".repeat(n)}).as_object().unwrap().clone()),
            ..Notification::default()
        };
        // "ab" + "k" + the value: exactly 4096, then one over.
        assert!(encode(&fill(4096 - 3)).is_ok());
        assert!(matches!(
            encode(&fill(4096 - 3 + 1)),
            Err(Error::PayloadTooLarge(_))
        ));
    }
}
