//! Token digests as progress items store them: the 8 bytes themselves in a
//! binary set, half the size of their 16 hex digits (the worker records
//! one per delivered push, so this is most of a progress item). The rest
//! of the code speaks hex ([`crate::model::bulk_results::token_digest`]).

use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One digest, raw.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RawDigest(Vec<u8>);

impl RawDigest {
    /// The raw bytes of a hex digest; `None` for anything else.
    pub fn from_hex(digest: &str) -> Option<Self> {
        hex::decode(digest).ok().map(Self)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl Serialize for RawDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

struct BytesVisitor;

impl Visitor<'_> for BytesVisitor {
    type Value = RawDigest;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a binary digest")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<RawDigest, E> {
        Ok(RawDigest(bytes.to_vec()))
    }

    fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<RawDigest, E> {
        Ok(RawDigest(bytes))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<RawDigest, E> {
        Err(E::custom("a digest is binary"))
    }
}

impl<'de> Deserialize<'de> for RawDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

/// `digests` (hex) split into the raw ones and any that are not hex
/// (kept as text: never written so, but nothing is dropped).
pub(super) fn to_raw(digests: Vec<String>) -> (Vec<RawDigest>, Vec<String>) {
    let mut raw = Vec::with_capacity(digests.len());
    let mut text = Vec::new();
    for digest in digests {
        match RawDigest::from_hex(&digest) {
            Some(bytes) => raw.push(bytes),
            None => text.push(digest),
        }
    }
    raw.sort_unstable();
    raw.dedup();
    (raw, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "serde_dynamo::binary_set")]
        digests: Vec<RawDigest>,
    }

    #[test]
    fn digests_round_trip_through_a_binary_set_at_half_their_size() {
        let hex = crate::model::bulk_results::token_digest("some token");
        let (raw, text) = to_raw(vec![hex.clone(), hex.clone(), "not hex".to_owned()]);
        assert_eq!(text, vec!["not hex".to_owned()]);
        assert_eq!(raw.len(), 1);
        let holder = Holder { digests: raw };
        let item: serde_dynamo::Item = serde_dynamo::to_item(&holder).unwrap_or_default();
        let stored = format!("{item:?}");
        assert!(stored.contains("Bs"), "{stored}");
        let back: Option<Holder> = serde_dynamo::from_item(item).ok();
        assert_eq!(
            back.as_ref().map(|h| h.digests[0].to_hex()),
            Some(hex.clone())
        );
        assert_eq!(back.map(|h| h.digests[0].0.len()), Some(hex.len() / 2));
    }
}
