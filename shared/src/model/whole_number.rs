//! Whole numbers in request bodies: JSON does not tell `3` from `3.0`, nor
//! does the `integer` of JSON Schema (openapi.yaml), and some encoders write
//! every number with a fraction, so both are read alike.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON number that is a whole number from 0 to `u32::MAX`, written `3`
/// or `3.0` alike.
pub struct WholeNumber(pub u32);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WholeVisitor;

        impl Visitor<'_> for WholeVisitor {
            type Value = WholeNumber;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number from 0 to 4294967295")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<WholeNumber, E> {
                u32::try_from(value)
                    .map(WholeNumber)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<WholeNumber, E> {
                u32::try_from(value)
                    .map(WholeNumber)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<WholeNumber, E> {
                if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
                    // Whole and in range: the conversion is exact.
                    Ok(WholeNumber(value as u32))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(value), &self))
                }
            }
        }

        deserializer.deserialize_any(WholeVisitor)
    }
}

/// For `#[serde(default, deserialize_with = "whole_number::optional")]`:
/// absent or `null` is `None`.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(Option::<WholeNumber>::deserialize(deserializer)?.map(|n| n.0))
}
