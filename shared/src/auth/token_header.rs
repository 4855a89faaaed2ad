//! A user token's JOSE header, read before anything is verified: its `alg`
//! says which verifier may check it and its `kid` which key. Every other
//! header field (`jku`, `x5u`, `jwk`, ...) is ignored: keys come from the
//! configuration only.

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenHeader {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

fn malformed() -> Error {
    Error::Unauthorized("user token is malformed".to_owned())
}

/// 401 for a token of an algorithm no verifier takes (`none`, HS384,
/// PS256...).
pub fn unsupported_alg() -> Error {
    Error::Unauthorized("user token must be signed with HS256, RS256 or ES256 (`alg`)".to_owned())
}

impl TokenHeader {
    /// The header of a compact JWS (three dot-separated parts).
    pub fn parse(token: &str) -> Result<Self> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| malformed())?;
        serde_json::from_slice(&json).map_err(|_| malformed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(json: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.e30.sig", engine.encode(json))
    }

    #[test]
    fn the_alg_and_kid_are_read_and_other_fields_ignored() {
        let token = header_of(r#"{"alg":"RS256","kid":"k1","jku":"https://evil.example/k"}"#);
        assert_eq!(
            TokenHeader::parse(&token).ok(),
            Some(TokenHeader {
                alg: "RS256".to_owned(),
                kid: Some("k1".to_owned())
            })
        );
    }

    #[test]
    fn a_header_that_is_not_a_jws_header_is_malformed() {
        for bad in [
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            header_of(r#"{"kid":"k1"}"#),
            header_of(r#"{"alg":7}"#),
            header_of("not json"),
        ] {
            let err = TokenHeader::parse(&bad).err().map(|err| err.to_string());
            assert_eq!(err.as_deref(), Some("user token is malformed"), "{bad}");
        }
    }
}
