//! A notification as Apple wants it: the JSON payload (built with `a2`'s
//! types) and the request options, computed once per notification.

use a2::request::payload::APS;
use a2::Priority as ApnsPriority;
use a2::{CollapseId, DefaultNotificationBuilder, NotificationBuilder, NotificationOptions};
use bytes::Bytes;
use http::HeaderValue;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::push_type::effective_push_type;
use crate::model::{LiveActivity, LiveActivityEvent, Notification, Priority, PushType};

/// Apple refuses larger payloads (`PayloadTooLarge`)...
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// ...except VoIP ones, which may be this large ("Sending notification
/// requests to APNs").
pub(crate) const MAX_VOIP_PAYLOAD_BYTES: usize = 5120;

/// Everything about a notification that does not depend on the device.
#[derive(Debug, Clone)]
pub(crate) struct ApnsMessage {
    pub payload: Bytes,
    pub push_type: PushType,
    pub priority: ApnsPriority,
    pub ttl_seconds: Option<u32>,
    pub collapse_id: Option<HeaderValue>,
}

/// `{"aps": {..., "thread-id"}, <custom keys>}`. `a2`'s `APS` has no
/// `thread-id`, so it is added beside the flattened `APS` fields.
#[derive(Serialize)]
struct Body<'a> {
    aps: Aps<'a>,
    #[serde(flatten)]
    data: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
struct Aps<'a> {
    #[serde(flatten)]
    aps: &'a APS<'a>,
    #[serde(rename = "thread-id", skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
    /// `a2` has no Live Activity keys: Apple's names, beside its `APS`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    live_activity: Option<ActivityAps<'a>>,
    /// WidgetKit: "the widget's content changed, reload its timeline".
    #[serde(rename = "content-changed", skip_serializing_if = "Option::is_none")]
    content_changed: Option<bool>,
}

/// The `aps` keys of "Starting and updating Live Activities with
/// ActivityKit push notifications".
#[derive(Serialize)]
struct ActivityAps<'a> {
    event: LiveActivityEvent,
    timestamp: i64,
    #[serde(rename = "content-state")]
    content_state: &'a Map<String, Value>,
    #[serde(rename = "dismissal-date", skip_serializing_if = "Option::is_none")]
    dismissal_date: Option<i64>,
    #[serde(rename = "stale-date", skip_serializing_if = "Option::is_none")]
    stale_date: Option<i64>,
    #[serde(rename = "relevance-score", skip_serializing_if = "Option::is_none")]
    relevance_score: Option<f64>,
    #[serde(rename = "attributes-type", skip_serializing_if = "Option::is_none")]
    attributes_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<&'a Map<String, Value>>,
}

impl<'a> ActivityAps<'a> {
    fn new(activity: &'a LiveActivity, now_unix: i64) -> Self {
        Self {
            event: activity.event,
            timestamp: activity.timestamp.unwrap_or(now_unix),
            content_state: &activity.content_state,
            dismissal_date: activity.dismissal_date,
            stale_date: activity.stale_date,
            relevance_score: activity.relevance_score,
            attributes_type: activity.attributes_type.as_deref(),
            attributes: activity.attributes.as_ref(),
        }
    }
}

pub(crate) fn encode(notification: &Notification) -> Result<ApnsMessage> {
    let push_type = effective_push_type(notification);
    let payload = aps_payload(notification, push_type);
    let json = body_json(notification, &payload.aps, push_type)?;
    Ok(ApnsMessage {
        payload: Bytes::from(json),
        push_type,
        priority: priority(notification, push_type),
        ttl_seconds: notification.ttl_seconds,
        collapse_id: collapse_id(notification)?,
    })
}

/// The standard `aps` keys, built with `a2`.
fn aps_payload(
    notification: &Notification,
    push_type: PushType,
) -> a2::request::payload::Payload<'_> {
    let mut builder = DefaultNotificationBuilder::new();
    if let Some(alert) = &notification.alert {
        if let Some(title) = &alert.title {
            builder = builder.set_title(title);
        }
        if let Some(subtitle) = &alert.subtitle {
            builder = builder.set_subtitle(subtitle);
        }
        if let Some(body) = &alert.body {
            builder = builder.set_body(body);
        }
    }
    if let Some(badge) = notification.badge {
        builder = builder.set_badge(badge);
    }
    if let Some(sound) = &notification.sound {
        builder = builder.set_sound(sound);
    }
    if let Some(category) = &notification.category {
        builder = builder.set_category(category);
    }
    // A background push must carry `content-available: 1` ("Pushing
    // background updates to your App"): a send with only `data` is one.
    if notification.content_available || push_type == PushType::Background {
        builder = builder.set_content_available();
    }
    if notification.mutable_content {
        builder = builder.set_mutable_content();
    }
    let mut payload = builder.build("", NotificationOptions::default());
    // The builder always writes `"mutable-content": 0`; Apple's default is
    // the same, so leave it out unless it is on.
    if !notification.mutable_content {
        payload.aps.mutable_content = None;
    }
    payload
}

/// The JSON body: `aps` with the keys `a2` lacks, and the custom data;
/// refused past Apple's size limit for the push type.
fn body_json(notification: &Notification, aps: &APS<'_>, push_type: PushType) -> Result<Vec<u8>> {
    let body = Body {
        aps: Aps {
            aps,
            thread_id: notification.thread_id.as_deref(),
            live_activity: notification
                .live_activity
                .as_ref()
                .map(|activity| ActivityAps::new(activity, crate::clock::now_epoch_seconds())),
            content_changed: (push_type == PushType::Widgets).then_some(true),
        },
        data: notification.data.as_ref(),
    };
    let json = serde_json::to_vec(&body)
        .map_err(|err| Error::internal("encoding the APNs payload", err))?;
    let limit = if push_type == PushType::Voip {
        MAX_VOIP_PAYLOAD_BYTES
    } else {
        MAX_PAYLOAD_BYTES
    };
    if json.len() > limit {
        return Err(Error::PayloadTooLarge(format!(
            "the APNs payload would be {} bytes; Apple accepts at most {limit} for this push type",
            json.len()
        )));
    }
    Ok(json)
}

/// Each push type has the priorities Apple allows (checked by
/// `Notification::validate`) and a default; a background push is 5.
fn priority(notification: &Notification, push_type: PushType) -> ApnsPriority {
    match notification
        .priority
        .filter(|priority| push_type.allows(*priority))
        .unwrap_or_else(|| push_type.default_priority())
    {
        Priority::High => ApnsPriority::High,
        Priority::Normal => ApnsPriority::Normal,
    }
}

/// `apns-collapse-id`: at most 64 bytes of header-safe text.
fn collapse_id(notification: &Notification) -> Result<Option<HeaderValue>> {
    let Some(id) = notification.collapse_id.as_deref() else {
        return Ok(None);
    };
    let id = CollapseId::new(id)
        .map_err(|_| Error::invalid_request("`collapse_id` must be 1 to 64 bytes"))?;
    let value = HeaderValue::from_str(id.value).map_err(|_| {
        Error::invalid_request("`collapse_id` must be printable text without line breaks")
    })?;
    Ok(Some(value))
}

impl ApnsMessage {
    /// `apns-expiration`: a TTL of 0 keeps Apple's meaning of 0 ("try
    /// once, do not store"), any other TTL counts from `now`.
    pub fn expiration(&self, now_unix: u64) -> Option<u64> {
        self.ttl_seconds.map(|ttl| {
            if ttl == 0 {
                0
            } else {
                now_unix.saturating_add(u64::from(ttl))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;
    use serde_json::json;

    fn payload(notification: &Notification) -> Value {
        let message = encode(notification).unwrap();
        serde_json::from_slice(&message.payload).unwrap()
    }

    #[test]
    fn every_field_lands_where_apple_expects_it() {
        let notification = Notification {
            alert: Some(Alert {
                title: Some("Title".into()),
                subtitle: Some("Sub".into()),
                body: Some("Body".into()),
            }),
            badge: Some(7),
            sound: Some("chime.caf".into()),
            content_available: true,
            data: Some(
                json!({"order": 42, "nested": {"a": [1]}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            category: Some("REPLY".into()),
            thread_id: Some("chat-9".into()),
            collapse_id: Some("c1".into()),
            priority: Some(Priority::Normal),
            ttl_seconds: Some(60),
            mutable_content: true,
            push_type: None,
            live_activity: None,
        };
        assert_eq!(
            payload(&notification),
            json!({
                "aps": {
                    "alert": {"title": "Title", "subtitle": "Sub", "body": "Body"},
                    "badge": 7,
                    "sound": "chime.caf",
                    "content-available": 1,
                    "category": "REPLY",
                    "mutable-content": 1,
                    "thread-id": "chat-9"
                },
                "order": 42,
                "nested": {"a": [1]}
            })
        );
        let message = encode(&notification).unwrap();
        assert_eq!(message.push_type, PushType::Alert);
        assert_eq!(message.priority.to_string(), "5");
        assert_eq!(message.expiration(1_000), Some(1_060));
        assert_eq!(message.collapse_id, Some(HeaderValue::from_static("c1")));
    }

    #[test]
    fn a_content_available_push_is_background_at_priority_5_even_if_asked_high() {
        let notification = Notification {
            content_available: true,
            priority: Some(Priority::High),
            ttl_seconds: Some(0),
            ..Notification::default()
        };
        assert_eq!(
            payload(&notification),
            json!({"aps": {"content-available": 1}})
        );
        let message = encode(&notification).unwrap();
        assert_eq!(message.push_type, PushType::Background);
        assert_eq!(message.priority.to_string(), "5");
        assert_eq!(message.expiration(1_000), Some(0));
    }

    #[test]
    fn alerts_default_to_priority_10() {
        let notification = Notification {
            alert: Some(Alert {
                body: Some("b".into()),
                ..Alert::default()
            }),
            ..Notification::default()
        };
        let message = encode(&notification).unwrap();
        assert_eq!(
            (message.push_type, message.priority.to_string()),
            (PushType::Alert, "10".to_owned())
        );
        assert_eq!(message.expiration(5), None);
    }

    #[test]
    fn payloads_over_4096_bytes_are_refused_as_too_large() {
        let envelope = br#"{"aps":{"badge":1},"k":""}"#.len();
        let fill = |n: usize| Notification {
            badge: Some(1),
            data: Some(json!({"k": "x".repeat(n)}).as_object().unwrap().clone()),
            ..Notification::default()
        };
        assert_eq!(
            encode(&fill(MAX_PAYLOAD_BYTES - envelope))
                .unwrap()
                .payload
                .len(),
            4096
        );
        let err = encode(&fill(MAX_PAYLOAD_BYTES - envelope + 1)).err();
        assert!(matches!(err, Some(Error::PayloadTooLarge(_))));
    }
}
