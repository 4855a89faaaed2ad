//! An identity provider's token, checked and read into [`UserClaims`]:
//! signature with exactly the header's algorithm, `exp` and `nbf` with
//! [`LEEWAY_SECS`], `iss` equal to the issuer, the audience in `aud` (or,
//! without `aud`, Cognito access tokens' `client_id`), `sub`, and the orgs
//! claim read as the settings say.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::user_token::UserClaims;
use crate::config::OidcSettings;
use crate::error::{Error, Result};

/// Seconds of clock skew tolerated on `exp` and `nbf` of these tokens.
pub const LEEWAY_SECS: u64 = 60;

fn refused(detail: impl Into<String>) -> Error {
    Error::Unauthorized(detail.into())
}

pub fn verify(
    token: &str,
    alg: Algorithm,
    key: &DecodingKey,
    settings: &OidcSettings,
) -> Result<UserClaims> {
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    // `aud` and `iss` are checked below, by this service's rules.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
        .map_err(|err| refused(decode_refusal(err.kind())))?
        .claims;
    if claims.get("iss").and_then(Value::as_str) != Some(settings.issuer.as_str()) {
        return Err(refused("user token was issued by another issuer (`iss`)"));
    }
    check_audience(&claims, &settings.audience)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.trim().is_empty())
        .ok_or_else(|| refused("user token's `sub` must be a non-empty string"))?;
    let exp = claims
        .get("exp")
        .and_then(seconds)
        .ok_or_else(|| refused("user token's `exp` must be a number of seconds"))?;
    Ok(UserClaims {
        sub: sub.to_owned(),
        exp,
        orgs: orgs(claims.get(&settings.orgs_claim), &settings.orgs_claim)?,
        email: claims
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned),
        iat: claims.get("iat").and_then(seconds),
    })
}

fn decode_refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "user token has expired",
        ErrorKind::ImmatureSignature => "user token is not valid yet (its `nbf` is in the future)",
        ErrorKind::InvalidSignature => "user token signature is invalid",
        ErrorKind::InvalidAlgorithm => "user token's `alg` does not match its key",
        ErrorKind::MissingRequiredClaim(_) => {
            "user token lacks a required claim (`sub`, `exp` and `iss` are required)"
        }
        _ => "user token is malformed",
    }
}

/// A whole number of seconds (some providers write `exp` as a float).
fn seconds(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// `aud` (a string, or an array of strings) names the audience; without
/// `aud`, `client_id` equals it (Cognito access tokens carry no `aud`).
fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<()> {
    let matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
        Some(_) => false,
        None => claims.get("client_id").and_then(Value::as_str) == Some(audience),
    };
    if matches {
        Ok(())
    } else {
        Err(refused(
            "user token was issued for another audience (`aud`, or `client_id` of an access token)",
        ))
    }
}

/// The org ids of the orgs claim: an array of strings, or one string of
/// comma-separated ids (trimmed, empties dropped); none when missing.
fn orgs(value: Option<&Value>, claim: &str) -> Result<Vec<String>> {
    let wrong_type = || {
        refused(format!(
            "user token's `{claim}` claim must be a string or an array of strings"
        ))
    };
    let ids: Vec<&str> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(list)) => list.split(',').collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(wrong_type))
            .collect::<Result<_>>()?,
        Some(_) => return Err(wrong_type()),
    };
    Ok(ids
        .into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orgs_of(value: Value) -> Result<Vec<String>> {
        orgs(Some(&value), "cognito:groups")
    }

    #[test]
    fn orgs_come_from_an_array_or_a_comma_separated_string() {
        assert_eq!(
            orgs_of(serde_json::json!(["acme", "beta"])).ok(),
            Some(vec!["acme".to_owned(), "beta".to_owned()])
        );
        assert_eq!(
            orgs_of(serde_json::json!(" acme , beta,,")).ok(),
            Some(vec!["acme".to_owned(), "beta".to_owned()])
        );
        assert_eq!(orgs(None, "orgs").ok(), Some(Vec::new()));
    }

    #[test]
    fn an_orgs_claim_of_another_type_is_refused_naming_the_claim() {
        for bad in [
            serde_json::json!(7),
            serde_json::json!(["acme", 7]),
            serde_json::json!({"acme": true}),
        ] {
            let err = orgs_of(bad.clone()).err();
            assert_eq!(
                err.map(|err| (err.status().as_u16(), err.to_string())),
                Some((
                    401,
                    "user token's `cognito:groups` claim must be a string or an array of strings"
                        .to_owned()
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_audience_is_in_aud_or_for_a_token_without_aud_the_client_id() {
        let claims = |value: Value| value.as_object().cloned().unwrap_or_default();
        let passes = |value: Value| check_audience(&claims(value), "notify").is_ok();
        assert!(passes(serde_json::json!({"aud": "notify"})));
        assert!(passes(serde_json::json!({"aud": ["other", "notify"]})));
        assert!(passes(serde_json::json!({"client_id": "notify"})));
        assert!(!passes(serde_json::json!({"aud": "other"})));
        assert!(!passes(serde_json::json!({"aud": ["other"]})));
        assert!(!passes(serde_json::json!({"client_id": "other"})));
        assert!(!passes(
            serde_json::json!({"aud": "other", "client_id": "notify"})
        ));
        assert!(!passes(serde_json::json!({})));
    }
}
