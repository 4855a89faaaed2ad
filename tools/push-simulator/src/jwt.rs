//! Compact JWS parsing and signature checks (ES256 for APNs provider tokens,
//! RS256 for OAuth assertions), done by hand so each provider can answer
//! with its own precise error.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;

pub(crate) struct CompactJws<'a> {
    header: Vec<u8>,
    claims: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Splits `header.claims.signature` and base64url-decodes the parts.
pub(crate) fn parse(token: &str) -> Option<CompactJws<'_>> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, claims) = signing_input.split_once('.')?;
    Some(CompactJws {
        header: URL_SAFE_NO_PAD.decode(header).ok()?,
        claims: URL_SAFE_NO_PAD.decode(claims).ok()?,
        signing_input,
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    })
}

impl CompactJws<'_> {
    pub fn header<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.header).ok()
    }

    pub fn claims<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.claims).ok()
    }

    /// `public_key` is the uncompressed P-256 point; the signature is JOSE's
    /// fixed 64-byte `r || s`.
    pub fn verify_es256(&self, public_key: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }

    /// `public_key` is a DER `RSAPublicKey` (PKCS#1).
    pub fn verify_rs256(&self, public_key: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_without_three_base64url_parts_does_not_parse() {
        assert!(parse("abc").is_none());
        assert!(parse("abc.def").is_none());
        assert!(parse("a+b.def.ghi").is_none());
        assert!(parse("eyJ9.e30.AA").is_some());
    }
}
