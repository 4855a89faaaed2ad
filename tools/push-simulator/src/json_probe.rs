//! Checking the shape of JSON without building it: the hot paths only need
//! to know that a payload is an object with an `aps` object, that a value
//! is an object, or how long a string is. (FCM's maps of strings are
//! measured in `fcm_message`, beside the keys Google reserves.)

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// Deserializes only far enough to prove the payload is an object holding
/// an `aps` object, noting which `aps` keys a push type's rules look at;
/// everything else is skipped without allocating.
pub(crate) struct PayloadProbe(pub(crate) ApsKeys);

/// The `aps` keys present, and a Live Activity's `event`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ApsKeys {
    pub alert: bool,
    pub badge: bool,
    pub sound: bool,
    pub content_available: bool,
    pub content_changed: bool,
    pub timestamp: bool,
    pub content_state: bool,
    pub attributes_type: bool,
    pub attributes: bool,
    pub event: Option<ActivityEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivityEvent {
    Start,
    Update,
    End,
    Other,
}

impl<'de> Deserialize<'de> for ApsKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ApsVisitor;
        impl<'de> Visitor<'de> for ApsVisitor {
            type Value = ApsKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ApsKeys, A::Error> {
                let mut keys = ApsKeys::default();
                while let Some(KeyName(name)) = map.next_key()? {
                    let flag = match name {
                        ApsKey::Event => {
                            keys.event = Some(map.next_value::<ActivityEvent>()?);
                            continue;
                        }
                        ApsKey::Alert => &mut keys.alert,
                        ApsKey::Badge => &mut keys.badge,
                        ApsKey::Sound => &mut keys.sound,
                        ApsKey::ContentAvailable => &mut keys.content_available,
                        ApsKey::ContentChanged => &mut keys.content_changed,
                        ApsKey::Timestamp => &mut keys.timestamp,
                        ApsKey::ContentState => &mut keys.content_state,
                        ApsKey::AttributesType => &mut keys.attributes_type,
                        ApsKey::Attributes => &mut keys.attributes,
                        ApsKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    map.next_value::<IgnoredAny>()?;
                    *flag = true;
                }
                Ok(keys)
            }
        }
        deserializer.deserialize_map(ApsVisitor)
    }
}

impl<'de> Deserialize<'de> for ActivityEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl Visitor<'_> for EventVisitor {
            type Value = ActivityEvent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ActivityEvent, E> {
                Ok(match value {
                    "start" => ActivityEvent::Start,
                    "update" => ActivityEvent::Update,
                    "end" => ActivityEvent::End,
                    _ => ActivityEvent::Other,
                })
            }
        }
        deserializer.deserialize_str(EventVisitor)
    }
}

#[derive(Clone, Copy)]
enum ApsKey {
    Alert,
    Badge,
    Sound,
    ContentAvailable,
    ContentChanged,
    Event,
    Timestamp,
    ContentState,
    AttributesType,
    Attributes,
    Other,
}

struct KeyName(ApsKey);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyName, E> {
                Ok(KeyName(match key {
                    "alert" => ApsKey::Alert,
                    "badge" => ApsKey::Badge,
                    "sound" => ApsKey::Sound,
                    "content-available" => ApsKey::ContentAvailable,
                    "content-changed" => ApsKey::ContentChanged,
                    "event" => ApsKey::Event,
                    "timestamp" => ApsKey::Timestamp,
                    "content-state" => ApsKey::ContentState,
                    "attributes-type" => ApsKey::AttributesType,
                    "attributes" => ApsKey::Attributes,
                    _ => ApsKey::Other,
                }))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for PayloadProbe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = PayloadProbe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object with an `aps` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PayloadProbe, A::Error> {
                let mut aps = None;
                while let Some(IsAps(is_aps)) = map.next_key()? {
                    if is_aps {
                        aps = Some(map.next_value::<ApsKeys>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                aps.map(PayloadProbe)
                    .ok_or_else(|| de::Error::missing_field("aps"))
            }
        }
        deserializer.deserialize_map(PayloadVisitor)
    }
}

struct IsAps(bool);

impl<'de> Deserialize<'de> for IsAps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = IsAps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<IsAps, E> {
                Ok(IsAps(key == "aps"))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Any JSON object, contents skipped.
pub(crate) struct ObjectProbe;

impl<'de> Deserialize<'de> for ObjectProbe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = ObjectProbe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectProbe, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ObjectProbe)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A JSON string, kept as its length only.
pub(crate) struct StrLen(pub usize);

impl<'de> Deserialize<'de> for StrLen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenVisitor;
        impl Visitor<'_> for LenVisitor {
            type Value = StrLen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<StrLen, E> {
                Ok(StrLen(value.len()))
            }
        }
        deserializer.deserialize_str(LenVisitor)
    }
}
