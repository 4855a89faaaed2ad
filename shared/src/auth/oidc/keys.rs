//! The identity provider's published keys (its JWKS), reduced to what can
//! verify our two algorithms: RSA keys for RS256, P-256 keys for ES256.
//! A key is never used for an algorithm of another kind: the kind is fixed
//! when the key is read, and a lookup names the algorithm.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Keys published in one JWKS more than this are not read: a JWKS holds a
/// handful (the current key and the next).
pub const MAX_KEYS: usize = 100;

/// A usable key: its algorithm (RS256 or ES256) and the key itself.
#[derive(Clone)]
struct UsableKey {
    alg: Algorithm,
    key: Arc<DecodingKey>,
}

/// The keys of one JWKS document, by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, Vec<UsableKey>>,
}

/// What a JWKS offers for a token's `kid` and `alg`.
pub enum Lookup {
    Found(Arc<DecodingKey>),
    /// The `kid` is published, but for another kind of key than `alg` needs.
    OtherKind,
    Missing,
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Reads a JWKS document. Keys that cannot serve RS256 or ES256 (other
    /// types, curves or algorithms, `use` other than `sig`, no `kid`, bad
    /// numbers) are skipped, so one odd key does not hide the others.
    pub fn from_jwks(body: &[u8]) -> Result<Self, serde_json::Error> {
        let document: JwksDocument = serde_json::from_slice(body)?;
        let mut set = Self::default();
        for value in document.keys.into_iter().take(MAX_KEYS) {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if let Some((kid, usable)) = usable(&jwk) {
                set.by_kid.entry(kid).or_default().push(usable);
            }
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    pub fn lookup(&self, kid: &str, alg: Algorithm) -> Lookup {
        match self.by_kid.get(kid) {
            None => Lookup::Missing,
            Some(keys) => keys
                .iter()
                .find(|key| key.alg == alg)
                .map_or(Lookup::OtherKind, |key| Lookup::Found(key.key.clone())),
        }
    }
}

/// The key's `kid` and the one algorithm it may verify, if any.
fn usable(jwk: &Jwk) -> Option<(String, UsableKey)> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return None;
    }
    let (alg, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    // A key that names its algorithm serves that one only.
    if jwk
        .common
        .key_algorithm
        .as_ref()
        .is_some_and(|named| *named != declared)
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        UsableKey {
            alg,
            key: Arc::new(key),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oidc::test_keys::{EcKey, RsaKey};

    fn found(set: &KeySet, kid: &str, alg: Algorithm) -> bool {
        matches!(set.lookup(kid, alg), Lookup::Found(_))
    }

    #[test]
    fn an_rsa_key_serves_rs256_only_and_an_ec_key_es256_only() {
        let rsa = RsaKey::generate("r1");
        let ec = EcKey::generate("e1");
        let body = serde_json::json!({"keys": [rsa.jwk(), ec.jwk()]}).to_string();
        let set = KeySet::from_jwks(body.as_bytes()).unwrap_or_default();
        assert!(found(&set, "r1", Algorithm::RS256));
        assert!(found(&set, "e1", Algorithm::ES256));
        assert!(matches!(
            set.lookup("r1", Algorithm::ES256),
            Lookup::OtherKind
        ));
        assert!(matches!(
            set.lookup("e1", Algorithm::RS256),
            Lookup::OtherKind
        ));
        assert!(matches!(
            set.lookup("zz", Algorithm::RS256),
            Lookup::Missing
        ));
    }

    #[test]
    fn keys_for_other_uses_algorithms_or_curves_and_keys_without_kid_are_skipped() {
        let rsa = RsaKey::generate("r1");
        let with = |extra: serde_json::Value| {
            let mut jwk = rsa.jwk();
            if let (Some(jwk), Some(extra)) = (jwk.as_object_mut(), extra.as_object()) {
                jwk.extend(extra.clone());
            }
            jwk
        };
        let mut no_kid = rsa.jwk();
        if let Some(jwk) = no_kid.as_object_mut() {
            jwk.remove("kid");
        }
        let body = serde_json::json!({"keys": [
            with(serde_json::json!({"kid": "enc", "use": "enc"})),
            with(serde_json::json!({"kid": "ps", "alg": "PS256"})),
            with(serde_json::json!({"kid": "weird", "alg": "RS256K"})),
            with(serde_json::json!({"kid": "ok", "alg": "RS256", "use": "sig"})),
            {"kid": "p384", "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kid": "hmac", "kty": "oct", "k": "c2VjcmV0"},
            no_kid,
            "not a key",
        ]})
        .to_string();
        let set = KeySet::from_jwks(body.as_bytes()).unwrap_or_default();
        for skipped in ["enc", "ps", "weird", "p384", "hmac"] {
            assert!(
                matches!(set.lookup(skipped, Algorithm::RS256), Lookup::Missing),
                "{skipped}"
            );
        }
        assert!(found(&set, "ok", Algorithm::RS256));
        assert_eq!(set.by_kid.len(), 1);
    }

    #[test]
    fn a_document_without_keys_is_not_a_jwks() {
        assert!(KeySet::from_jwks(b"{}").is_err());
        assert!(KeySet::from_jwks(b"<html>").is_err());
        assert!(KeySet::from_jwks(br#"{"keys": []}"#).is_ok_and(|set| set.is_empty()));
    }
}
