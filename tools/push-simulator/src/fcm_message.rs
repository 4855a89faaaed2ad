//! The FCM v1 `Message` as Google's JSON parser sees it: unknown top-level
//! fields, non-string data values, a missing or doubled target and malformed
//! tokens are all `INVALID_ARGUMENT`, naming the offending field.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_probe::{ObjectProbe, StrLen};

/// FCM's limit on what it carries for the app: data keys and values plus
/// the notification texts.
const MAX_PAYLOAD: usize = 4096;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// e.g. `message.token`
    pub field: String,
    pub description: String,
}

impl Violation {
    fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Target {
    pub token: Option<String>,
    pub topic: Option<String>,
    pub condition: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendRequest<'a> {
    #[serde(borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(default, alias = "validateOnly")]
    pub validate_only: bool,
}

// Fields are read by serde for their types; only some are looked at again.
// Strings that are only measured are not copied (`StrLen`, `StringMap`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Message<'a> {
    name: Option<StrLen>,
    data: Option<StringMap>,
    notification: Option<Notification>,
    #[serde(borrow)]
    android: Option<AndroidConfig<'a>>,
    webpush: Option<WebpushConfig>,
    apns: Option<ApnsConfig>,
    #[serde(alias = "fcmOptions")]
    fcm_options: Option<ObjectProbe>,
    token: Option<String>,
    topic: Option<String>,
    condition: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Notification {
    title: Option<StrLen>,
    body: Option<StrLen>,
    image: Option<StrLen>,
}

// The platform blocks have many fields; only the ones with a type worth
// checking are listed, the rest pass.
#[derive(Deserialize)]
#[allow(dead_code)]
struct AndroidConfig<'a> {
    #[serde(alias = "collapseKey")]
    collapse_key: Option<StrLen>,
    #[serde(borrow)]
    priority: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ttl: Option<Cow<'a, str>>,
    #[serde(alias = "restrictedPackageName")]
    restricted_package_name: Option<StrLen>,
    data: Option<StringMap>,
    notification: Option<ObjectProbe>,
    #[serde(alias = "fcmOptions")]
    fcm_options: Option<ObjectProbe>,
    #[serde(alias = "directBootOk")]
    direct_boot_ok: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ApnsConfig {
    headers: Option<StringMap>,
    payload: Option<ObjectProbe>,
    #[serde(alias = "fcmOptions")]
    fcm_options: Option<ObjectProbe>,
    #[serde(alias = "liveActivityToken")]
    live_activity_token: Option<StrLen>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct WebpushConfig {
    headers: Option<StringMap>,
    data: Option<StringMap>,
    notification: Option<ObjectProbe>,
    #[serde(alias = "fcmOptions")]
    fcm_options: Option<ObjectProbe>,
}

/// Google keeps these data keys for itself.
fn is_reserved_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    matches!(lower.as_str(), "from" | "notification" | "message_type")
        || lower.starts_with("google")
        || lower.starts_with("gcm")
}

/// A JSON object of string values (`map<string, string>` in the proto):
/// its size in bytes (keys plus values) and the first key Google reserves.
#[derive(Default)]
struct StringMap {
    bytes: usize,
    reserved_key: Option<String>,
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut summary = StringMap::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let StrLen(value) = map.next_value()?;
                    summary.bytes += key.len + value;
                    if summary.reserved_key.is_none() {
                        summary.reserved_key = key.reserved;
                    }
                }
                Ok(summary)
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

/// A data key: its length, and itself when Google reserves it.
struct Key {
    len: usize,
    reserved: Option<String>,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(Key {
                    len: key.len(),
                    reserved: is_reserved_key(key).then(|| key.to_owned()),
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

pub(crate) fn parse_request(body: &[u8]) -> Result<SendRequest<'_>, Violation> {
    // Path tracking costs; only a failed parse needs it, so parse again then.
    if let Ok(request) = serde_json::from_slice(body) {
        return Ok(request);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let request: SendRequest = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_violation("", e.path().to_string(), e.inner()))?;
    de.end()
        .map_err(|e| json_violation("", String::new(), &e))?;
    Ok(request)
}

pub(crate) fn validate(raw: &RawValue) -> Result<Target, Violation> {
    let message: Message = match serde_json::from_str(raw.get()) {
        Ok(message) => message,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            serde_path_to_error::deserialize(&mut de)
                .map_err(|e| json_violation("message", e.path().to_string(), e.inner()))?
        }
    };

    let targets = [&message.token, &message.topic, &message.condition];
    match targets.iter().filter(|t| t.is_some()).count() {
        0 => {
            return Err(Violation::new(
                "message",
                "Recipient of the message is not set.",
            ))
        }
        1 => {}
        _ => {
            return Err(Violation::new(
                "message",
                "Invalid value at 'message' (oneof), oneof field 'target' is already set. \
                 Only one of token, topic or condition may be set.",
            ))
        }
    }
    if let Some(token) = &message.token {
        if !is_registration_token(token) {
            return Err(Violation::new(
                "message.token",
                "The registration token is not a valid FCM registration token",
            ));
        }
    }
    if let Some(topic) = &message.topic {
        if !is_topic(topic) {
            return Err(Violation::new("message.topic", "Invalid topic name."));
        }
    }
    if message
        .condition
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(Violation::new("message.condition", "Invalid condition."));
    }
    check_data_keys("message.data", message.data.as_ref())?;
    if let Some(android) = &message.android {
        check_android(android)?;
    }
    let size = payload_size(&message);
    if size > MAX_PAYLOAD {
        return Err(Violation::new(
            "message",
            format!("Message is too big: {size} bytes of data and notification, the limit is {MAX_PAYLOAD}."),
        ));
    }
    Ok(Target {
        token: message.token,
        topic: message.topic,
        condition: message.condition,
    })
}

/// 100 to 4096 characters of `[A-Za-z0-9_:-]`, like Notify's own rule.
pub(crate) fn is_registration_token(token: &str) -> bool {
    (100..=4096).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-'))
}

fn is_topic(topic: &str) -> bool {
    let name = topic.strip_prefix("/topics/").unwrap_or(topic);
    !name.is_empty()
        && name.len() <= 900
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'%'))
}

fn check_data_keys(field: &str, data: Option<&StringMap>) -> Result<(), Violation> {
    match data.and_then(|d| d.reserved_key.as_deref()) {
        Some(key) => Err(Violation::new(
            field,
            format!("Invalid data payload key: {key}"),
        )),
        None => Ok(()),
    }
}

fn check_android(android: &AndroidConfig) -> Result<(), Violation> {
    if let Some(priority) = android.priority.as_deref() {
        if !["normal", "high"]
            .iter()
            .any(|p| priority.eq_ignore_ascii_case(p))
        {
            return Err(Violation::new(
                "message.android.priority",
                format!("Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), \"{priority}\""),
            ));
        }
    }
    if let Some(ttl) = android.ttl.as_deref() {
        if !is_duration(ttl) {
            return Err(Violation::new(
                "message.android.ttl",
                format!("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), \"{ttl}\""),
            ));
        }
    }
    check_data_keys("message.android.data", android.data.as_ref())
}

/// Protobuf JSON duration: seconds with up to nine fractional digits, `s`.
fn is_duration(value: &str) -> bool {
    let Some(number) = value.strip_suffix('s') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match number.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction) && fraction.len() <= 9,
        None => digits(number),
    }
}

fn payload_size(message: &Message) -> usize {
    let data = message.data.as_ref().map_or(0, |d| d.bytes);
    let notification: usize = message
        .notification
        .iter()
        .flat_map(|n| [&n.title, &n.body, &n.image])
        .flatten()
        .map(|StrLen(len)| len)
        .sum();
    data + notification
}

fn json_violation(prefix: &str, path: String, err: &serde_json::Error) -> Violation {
    let join = |path: &str| match (prefix, path) {
        (_, "." | "" | "?") => prefix.to_owned(),
        ("", path) => path.to_owned(),
        (prefix, path) => format!("{prefix}.{path}"),
    };
    // serde's text carries a position that means nothing to the caller.
    let text = err.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    // Google names the object holding an unknown field, not the field.
    if let Some(rest) = text.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let parent = join(path.rsplit_once('.').map_or("", |(parent, _)| parent));
        let at = if parent.is_empty() {
            String::new()
        } else {
            format!(" at '{parent}'")
        };
        return Violation::new(
            parent,
            format!(
                "Invalid JSON payload received. Unknown name \"{name}\"{at}: Cannot find field."
            ),
        );
    }
    Violation::new(
        join(&path),
        format!("Invalid JSON payload received. {text}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(message: &str) -> Result<Target, Violation> {
        let raw: Box<RawValue> = serde_json::from_str(message).unwrap();
        validate(&raw)
    }

    fn field_of(message: &str) -> String {
        check(message).unwrap_err().field
    }

    const TOKEN: &str = "dGVzdC10b2tlbi1mb3ItZmNtOkFQQTkxYkhfZXhhbXBsZV9yZWdpc3RyYXRpb25fdG9rZW5fdGhhdF9pc19sb25nX2Vub3VnaF90b19wYXNz";

    #[test]
    fn a_message_to_one_token_with_string_data_is_valid() {
        let target = check(&format!(
            r#"{{"token":"{TOKEN}","data":{{"k":"v"}},"notification":{{"title":"t"}},
               "android":{{"priority":"HIGH","ttl":"3600s"}},"apns":{{"payload":{{"aps":{{}}}}}}}}"#
        ))
        .unwrap();
        assert_eq!(target.token.as_deref(), Some(TOKEN));
    }

    #[test]
    fn invalid_messages_name_the_offending_field() {
        assert_eq!(
            field_of(r#"{"topic":"news","data":{"n":1}}"#),
            "message.data.n"
        );
        assert_eq!(field_of(r#"{"topic":"news","bogus":1}"#), "message");
        assert_eq!(field_of(r#"{"data":{}}"#), "message");
        assert_eq!(
            field_of(r#"{"topic":"a","condition":"'a' in topics"}"#),
            "message"
        );
        assert_eq!(field_of(r#"{"token":"short"}"#), "message.token");
        assert_eq!(field_of(r#"{"topic":"bad topic"}"#), "message.topic");
        assert_eq!(
            field_of(r#"{"topic":"a","data":{"from":"x"}}"#),
            "message.data"
        );
        assert_eq!(
            field_of(r#"{"topic":"a","android":{"ttl":"1h"}}"#),
            "message.android.ttl"
        );
        assert_eq!(
            field_of(r#"{"topic":"a","notification":{"title":5}}"#),
            "message.notification.title"
        );
        assert_eq!(field_of(r#"{"topic":"a","apns":[]}"#), "message.apns");
        let big = "x".repeat(4097);
        assert_eq!(
            field_of(&format!(r#"{{"topic":"a","data":{{"k":"{big}"}}}}"#)),
            "message"
        );
    }

    #[test]
    fn durations_follow_protobuf_json() {
        assert!(is_duration("0s") && is_duration("3.5s") && is_duration("1.000000001s"));
        assert!(
            !is_duration("s") && !is_duration("1") && !is_duration("1.s") && !is_duration("-1s")
        );
    }
}
