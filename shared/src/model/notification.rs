//! The push payload shared by single and bulk sends, its validation, and a
//! strict way to read it next to a request's own fields.
//!
//! A send body mixes addressing (`user_id` or `user_ids`) with the payload
//! fields. `#[serde(flatten)]` would accept unknown keys silently and lose
//! the field path in errors, so [`WithNotification`] splits the keys while
//! reading instead: payload keys fill the [`Notification`], every other key
//! goes to the request's own struct, whose `deny_unknown_fields` then names
//! any stray key. Errors keep their path (`alert.title`).

use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::push_type::{effective_push_type, validate_push_type, PushType};
use crate::model::whole_number::{self, WholeNumber};
use crate::model::{sqs_text, LiveActivity};

/// APNs allows 64 bytes of `apns-collapse-id`.
pub const MAX_COLLAPSE_ID_BYTES: usize = 64;

/// What a push shows and carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    #[serde(
        default,
        deserialize_with = "whole_number::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub badge: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// Silent/background push.
    #[serde(
        default,
        deserialize_with = "null_as_false",
        skip_serializing_if = "is_false"
    )]
    pub content_available: bool,
    /// Custom keys for the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(
        default,
        deserialize_with = "whole_number::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl_seconds: Option<u32>,
    #[serde(
        default,
        deserialize_with = "null_as_false",
        skip_serializing_if = "is_false"
    )]
    pub mutable_content: bool,
    /// Apple's `apns-push-type`; derived from the payload when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_type: Option<PushType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_activity: Option<LiveActivity>,
}

/// The `Alert` schema of the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    Normal,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Generated clients send `null` for unset optional fields.
fn null_as_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

impl Notification {
    /// The JSON keys of a notification, in the contract's order.
    pub const FIELDS: [&'static str; 13] = [
        "alert",
        "badge",
        "sound",
        "content_available",
        "data",
        "category",
        "thread_id",
        "collapse_id",
        "priority",
        "ttl_seconds",
        "mutable_content",
        "push_type",
        "live_activity",
    ];

    /// Something the user sees or hears: APNs calls this an alert push.
    pub fn is_visible(&self) -> bool {
        self.alert.is_some() || self.badge.is_some() || self.sound.is_some()
    }

    /// The custom data, empty when absent.
    pub fn data_entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.data.iter().flat_map(Map::iter)
    }

    /// The contract's rules beyond types. Every error names its field.
    pub fn validate(&self) -> Result<()> {
        self.validate_text()?;
        let has_data = self.data.as_ref().is_some_and(|data| !data.is_empty());
        // Apple-only push types carry what Apple needs without any of these
        // (a Live Activity its state, a widget push nothing at all).
        let needs_content = !effective_push_type(self).is_apns_only();
        if needs_content && !(self.is_visible() || self.content_available || has_data) {
            return Err(Error::invalid_request(
                "a notification needs at least one of `alert`, `badge`, `sound`, \
                 `content_available` (true) or a non-empty `data`",
            ));
        }
        if let Some(alert) = &self.alert {
            let filled = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.is_empty());
            if !(filled(&alert.title) || filled(&alert.subtitle) || filled(&alert.body)) {
                return Err(Error::invalid_request(
                    "`alert` needs at least one of `title`, `subtitle` or `body`",
                ));
            }
        }
        if let Some(collapse_id) = &self.collapse_id {
            // It travels as the `apns-collapse-id` header: checked here, not
            // only when an APNs message is built, so that a bulk send is
            // refused at the request rather than failing in the worker.
            let printable = collapse_id.bytes().all(|b| (b' '..=b'~').contains(&b));
            if collapse_id.is_empty() || collapse_id.len() > MAX_COLLAPSE_ID_BYTES || !printable {
                return Err(Error::invalid_request(format!(
                    "`collapse_id` must be 1 to {MAX_COLLAPSE_ID_BYTES} printable ASCII characters"
                )));
            }
        }
        for (key, _) in self.data_entries() {
            if let Some(reason) = reserved_data_key(key) {
                return Err(Error::invalid_request(format!(
                    "`data.{key}` is not allowed: {reason}"
                )));
            }
        }
        validate_push_type(self)
    }

    /// Every string of the notification, data keys included, is text SQS
    /// can carry (see [`crate::model::sqs_text`]).
    fn validate_text(&self) -> Result<()> {
        let value = serde_json::to_value(self)
            .map_err(|err| Error::internal("checking notification text", err))?;
        match sqs_text::unsendable_path(&value, "") {
            Some(path) => Err(Error::invalid_request(format!(
                "{path} {}",
                sqs_text::UNSENDABLE
            ))),
            None => Ok(()),
        }
    }

    /// Reads the value of `key` from `map` into its field when `key` is a
    /// notification field; `false` leaves the value unread for the caller.
    fn take_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "alert" => self.alert = map.next_value()?,
            "badge" => self.badge = map.next_value::<Option<WholeNumber>>()?.map(|n| n.0),
            "sound" => self.sound = map.next_value()?,
            "content_available" => {
                self.content_available = map.next_value::<Option<bool>>()?.unwrap_or(false)
            }
            "data" => self.data = map.next_value()?,
            "category" => self.category = map.next_value()?,
            "thread_id" => self.thread_id = map.next_value()?,
            "collapse_id" => self.collapse_id = map.next_value()?,
            "priority" => self.priority = map.next_value()?,
            "ttl_seconds" => {
                self.ttl_seconds = map.next_value::<Option<WholeNumber>>()?.map(|n| n.0)
            }
            "mutable_content" => {
                self.mutable_content = map.next_value::<Option<bool>>()?.unwrap_or(false)
            }
            "push_type" => self.push_type = map.next_value()?,
            "live_activity" => self.live_activity = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Why a custom data key cannot be delivered: `aps` is Apple's envelope, and
/// FCM refuses `from`, `notification`, `message_type` and anything starting
/// with `google` or `gcm` (in any case).
fn reserved_data_key(key: &str) -> Option<&'static str> {
    if key == "aps" {
        return Some("`aps` is reserved by APNs");
    }
    let lower = key.to_ascii_lowercase();
    let reserved = matches!(lower.as_str(), "from" | "notification" | "message_type")
        || lower.starts_with("google")
        || lower.starts_with("gcm");
    reserved.then_some("FCM reserves `from`, `notification`, `message_type` and keys starting with `google` or `gcm`")
}

/// A send request: the request's own fields `T` (with
/// `#[serde(deny_unknown_fields)]`) side by side with the notification
/// fields, in one JSON object.
///
/// ```
/// # use notify_shared::model::WithNotification;
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Single { user_id: String }
///
/// let body = br#"{"user_id": "u1", "alert": {"title": "Hi"}}"#;
/// let request: WithNotification<Single> = serde_json::from_slice(body).unwrap();
/// assert_eq!(request.target.user_id, "u1");
/// request.notification.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WithNotification<T> {
    pub target: T,
    pub notification: Notification,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for WithNotification<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SplitVisitor(PhantomData))
    }
}

struct SplitVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for SplitVisitor<T> {
    type Value = WithNotification<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut notification = Notification::default();
        let target = T::deserialize(de::value::MapAccessDeserializer::new(Split {
            inner: map,
            notification: &mut notification,
        }))?;
        Ok(WithNotification {
            target,
            notification,
        })
    }
}

/// The request's map as `T` sees it: notification keys are consumed on the
/// way past, reading through the original map so error paths survive.
struct Split<'n, A> {
    inner: A,
    notification: &'n mut Notification,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Split<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.inner.next_key::<String>()? {
            if !self.notification.take_field(&key, &mut self.inner)? {
                let key: de::value::StringDeserializer<A::Error> = key.into_deserializer();
                return seed.deserialize(key).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse_json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Single {
        user_id: String,
    }

    fn parse(body: &str) -> Result<WithNotification<Single>> {
        parse_json(body.as_bytes())
    }

    fn detail(body: &str) -> String {
        match parse(body) {
            Ok(request) => match request.notification.validate() {
                Ok(()) => panic!("accepted: {body}"),
                Err(err) => err.to_string(),
            },
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn request_fields_and_notification_fields_are_read_from_one_object() {
        let request = parse(
            r#"{"alert":{"title":"T","subtitle":"S","body":"B"},"user_id":"u1","badge":3,
                "sound":"ping.caf","content_available":true,"data":{"k":[1]},"category":"c",
                "thread_id":"t","collapse_id":"x","priority":"normal","ttl_seconds":60,
                "mutable_content":true}"#,
        )
        .unwrap();
        assert_eq!(
            request.target,
            Single {
                user_id: "u1".into()
            }
        );
        let n = &request.notification;
        assert_eq!(
            n.alert.as_ref().and_then(|a| a.subtitle.as_deref()),
            Some("S")
        );
        assert_eq!(
            (n.badge, n.ttl_seconds, n.priority),
            (Some(3), Some(60), Some(Priority::Normal))
        );
        assert!(n.content_available && n.mutable_content);
        assert!(n.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_named_at_any_depth() {
        assert!(
            detail(r#"{"user_id":"u","badge":1,"urgent":true}"#).contains("unknown field `urgent`")
        );
        let nested = detail(r#"{"user_id":"u","alert":{"title":"x","icon":"y"}}"#);
        assert!(
            nested.contains("`alert.icon`") && nested.contains("unknown field `icon`"),
            "{nested}"
        );
    }

    #[test]
    fn wrong_types_name_the_field_path() {
        assert!(detail(r#"{"user_id":"u","badge":-1}"#).contains("`badge`"));
        assert!(detail(r#"{"user_id":"u","alert":{"title":5}}"#).contains("`alert.title`"));
        assert!(detail(r#"{"user_id":"u","priority":"urgent","badge":1}"#).contains("`priority`"));
        assert!(detail(r#"{"user_id":"u","ttl_seconds":-5,"badge":1}"#).contains("`ttl_seconds`"));
        assert!(detail(r#"{"user_id":5,"badge":1}"#).contains("`user_id`"));
        assert!(detail(r#"{"badge":1}"#).contains("missing field `user_id`"));
    }

    #[test]
    fn null_means_absent() {
        let request = parse(
            r#"{"user_id":"u","badge":1,"content_available":null,"mutable_content":null,"data":null}"#,
        )
        .unwrap();
        assert!(!request.notification.content_available && request.notification.data.is_none());
    }

    #[test]
    fn a_notification_needs_something_to_deliver() {
        let detail =
            detail(r#"{"user_id":"u","category":"c","content_available":false,"data":{}}"#);
        assert!(detail.contains("at least one of `alert`"), "{detail}");
        for body in [
            r#"{"user_id":"u","badge":0}"#,
            r#"{"user_id":"u","sound":"default"}"#,
            r#"{"user_id":"u","content_available":true}"#,
            r#"{"user_id":"u","data":{"k":"v"}}"#,
            r#"{"user_id":"u","alert":{"body":"b"}}"#,
        ] {
            assert!(
                parse(body).unwrap().notification.validate().is_ok(),
                "{body}"
            );
        }
    }

    #[test]
    fn an_alert_needs_a_title_subtitle_or_body() {
        assert!(detail(r#"{"user_id":"u","alert":{}}"#).contains("`alert` needs"));
        assert!(detail(r#"{"user_id":"u","alert":{"title":""}}"#).contains("`alert` needs"));
    }

    #[test]
    fn collapse_ids_are_1_to_64_printable_ascii_characters() {
        let ok = format!(
            r#"{{"user_id":"u","badge":1,"collapse_id":"{}"}}"#,
            "a~ ".repeat(21)
        );
        assert!(parse(&ok).unwrap().notification.validate().is_ok());
        let long = format!(
            r#"{{"user_id":"u","badge":1,"collapse_id":"{}"}}"#,
            "a".repeat(65)
        );
        assert!(detail(&long).contains("`collapse_id`"));
        assert!(detail(r#"{"user_id":"u","badge":1,"collapse_id":""}"#).contains("`collapse_id`"));
        for header_breaking in [r"caf\u00e9", r"a\nb", r"a\tb"] {
            let body = format!(r#"{{"user_id":"u","badge":1,"collapse_id":"{header_breaking}"}}"#);
            assert!(detail(&body).contains("`collapse_id`"), "{body}");
        }
    }

    #[test]
    fn badge_and_ttl_take_whole_numbers_written_with_a_fraction() {
        let request = parse(r#"{"user_id":"u","badge":3.0,"ttl_seconds":4294967295.0}"#).unwrap();
        assert_eq!(request.notification.badge, Some(3));
        assert_eq!(request.notification.ttl_seconds, Some(u32::MAX));
        for bad in [
            r#"{"user_id":"u","badge":1.5}"#,
            r#"{"user_id":"u","badge":-1}"#,
            r#"{"user_id":"u","badge":4294967296}"#,
            r#"{"user_id":"u","ttl_seconds":4294967296.0}"#,
            r#"{"user_id":"u","badge":"1"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_data_keys_are_refused_by_name() {
        for key in [
            "aps",
            "from",
            "notification",
            "message_type",
            "google.c.a",
            "gcm.n.e",
            "GoogleX",
            "GCM",
        ] {
            let body = format!(r#"{{"user_id":"u","data":{{"{key}":"v"}}}}"#);
            let detail = detail(&body);
            assert!(detail.contains(&format!("`data.{key}`")), "{detail}");
        }
        assert!(parse(r#"{"user_id":"u","data":{"APS":1,"sender":"x"}}"#)
            .unwrap()
            .notification
            .validate()
            .is_ok());
    }

    #[test]
    fn every_field_the_struct_serializes_is_read_by_the_split() {
        let full = Notification {
            alert: Some(Alert {
                title: Some("t".into()),
                ..Alert::default()
            }),
            badge: Some(1),
            sound: Some("s".into()),
            content_available: true,
            data: Some(Map::new()),
            category: Some("c".into()),
            thread_id: Some("t".into()),
            collapse_id: Some("c".into()),
            priority: Some(Priority::High),
            ttl_seconds: Some(1),
            mutable_content: true,
            push_type: Some(PushType::Liveactivity),
            live_activity: Some(LiveActivity {
                event: crate::model::LiveActivityEvent::End,
                content_state: Map::new(),
                timestamp: Some(1),
                dismissal_date: Some(2),
                stale_date: Some(3),
                relevance_score: Some(0.5),
                attributes_type: None,
                attributes: None,
            }),
        };
        let Ok(Value::Object(mut object)) = serde_json::to_value(&full) else {
            panic!("a notification serializes to an object");
        };
        let keys: Vec<String> = object.keys().cloned().collect();
        assert_eq!(keys.len(), Notification::FIELDS.len());
        assert!(keys
            .iter()
            .all(|k| Notification::FIELDS.contains(&k.as_str())));
        object.insert("user_id".into(), Value::from("u"));
        let split: WithNotification<Single> =
            serde_json::from_value(Value::Object(object)).unwrap();
        assert_eq!(split.notification, full);
        let alone: Notification =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(alone, full);
    }
}
