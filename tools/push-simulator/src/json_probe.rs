//! Checking the shape of JSON without building it: the hot paths only need
//! to know that a payload is an object with an `aps` object, that a map
//! holds strings, or how long a string is.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// Deserializes only far enough to prove the payload is an object holding
/// an `aps` object; everything else is skipped without allocating.
pub(crate) struct PayloadProbe;

impl<'de> Deserialize<'de> for PayloadProbe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = PayloadProbe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object with an `aps` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PayloadProbe, A::Error> {
                let mut has_aps = false;
                while let Some(IsAps(is_aps)) = map.next_key()? {
                    if is_aps {
                        map.next_value::<ObjectProbe>()?;
                        has_aps = true;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                if has_aps {
                    Ok(PayloadProbe)
                } else {
                    Err(de::Error::missing_field("aps"))
                }
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

/// A JSON object of string values (`map<string, string>` in the proto):
/// its size in bytes (keys plus values) and the first key Google reserves.
#[derive(Default)]
pub(crate) struct StringMap {
    pub bytes: usize,
    pub reserved_key: Option<String>,
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
                    reserved: crate::fcm_message::is_reserved_key(key).then(|| key.to_owned()),
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
