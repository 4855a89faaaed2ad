//! The Web Push service's VAPID check (RFC 8292): 401 when the
//! authorization is missing, malformed or not signed by the key it names;
//! 403 when the token is expired, valid for more than 24 hours, for another
//! origin, or without a `mailto:`/`https:` subject.
//!
//! A sender may reuse one token for hours (RFC 8292 §2), so, as for APNs
//! provider tokens, the signature of an authorization value is verified
//! once and remembered by its exact bytes; the claims (`aud`, `exp`, `sub`)
//! are checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_FIXED};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Utc;
use http::header::AUTHORIZATION;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// RFC 8292 §2: a token must not be valid for more than 24 hours.
const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;
/// Verified authorization values kept; the map starts over beyond this (a
/// sender that signs a token per request fills it quickly, one that reuses
/// its token hits the first entry).
const MAX_REMEMBERED: usize = 4096;

type Refusal = (StatusCode, &'static str);

/// base64url, padded or not (senders differ).
pub(crate) fn b64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE.decode(text).ok())
}

/// An authorization value whose signature checked out, with its claims.
struct Verified {
    key: Arc<[u8]>,
    aud: Option<String>,
    exp: Option<i64>,
    sub: String,
}

#[derive(Default)]
pub(crate) struct VapidCheck {
    verified: RwLock<HashMap<Box<str>, Arc<Verified>>>,
}

fn unauthorized(reason: &'static str) -> Refusal {
    (StatusCode::UNAUTHORIZED, reason)
}

fn forbidden(reason: &'static str) -> Refusal {
    (StatusCode::FORBIDDEN, reason)
}

impl VapidCheck {
    /// Checks the VAPID authorization for `audience`; `Ok` is the key that
    /// signed, `Err` the refusal.
    pub fn check(&self, headers: &HeaderMap, audience: &str) -> Result<Arc<[u8]>, Refusal> {
        let value = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing VAPID authorization"))?;
        let remembered = self
            .verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(value)
            .cloned();
        let verified = match remembered {
            Some(verified) => verified,
            None => {
                let verified = Arc::new(verify(value)?);
                let mut map = self.verified.write().unwrap_or_else(|e| e.into_inner());
                if map.len() >= MAX_REMEMBERED {
                    map.clear();
                }
                map.insert(value.into(), verified.clone());
                verified
            }
        };
        check_claims(&verified, audience)?;
        Ok(verified.key.clone())
    }
}

/// `vapid t=<jwt>, k=<key>`: the token and the decoded key.
fn vapid_parts(value: &str) -> Option<(&str, Vec<u8>)> {
    let rest = value.strip_prefix("vapid ")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(t) = part.strip_prefix("t=") {
            token = Some(t);
        } else if let Some(k) = part.strip_prefix("k=") {
            key = b64(k);
        }
    }
    Some((token?, key?))
}

/// The form of the authorization value and the token's signature.
fn verify(value: &str) -> Result<Verified, Refusal> {
    let (token, key) = vapid_parts(value)
        .ok_or_else(|| unauthorized("authorization is not `vapid t=..., k=...`"))?;
    let mut pieces = token.split('.');
    let (Some(header), Some(claims), Some(sig), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(unauthorized("the VAPID token is not a JWT"));
    };
    let header: Value = b64(header)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| unauthorized("bad JWT header"))?;
    if header["alg"] != "ES256" {
        return Err(unauthorized("the VAPID token must be ES256"));
    }
    let signature = b64(sig).ok_or_else(|| unauthorized("bad JWT signature"))?;
    let signed = &token[..header_len(token)];
    signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| unauthorized("the VAPID token is not signed by the key in `k`"))?;
    let claims: Value = b64(claims)
        .and_then(|c| serde_json::from_slice(&c).ok())
        .ok_or_else(|| unauthorized("bad JWT claims"))?;
    Ok(Verified {
        key: key.into(),
        aud: claims["aud"].as_str().map(str::to_owned),
        exp: claims["exp"].as_i64(),
        sub: claims["sub"].as_str().unwrap_or_default().to_owned(),
    })
}

/// What depends on the request and the time: checked every time.
fn check_claims(verified: &Verified, audience: &str) -> Result<(), Refusal> {
    if verified.aud.as_deref() != Some(audience) {
        return Err(forbidden(
            "the VAPID token's `aud` is not this push service's origin",
        ));
    }
    let now = Utc::now().timestamp();
    let exp = verified
        .exp
        .ok_or_else(|| forbidden("the VAPID token has no `exp`"))?;
    if exp <= now {
        return Err(forbidden("the VAPID token has expired"));
    }
    if exp > now.saturating_add(MAX_TOKEN_LIFETIME_SECS) {
        return Err(forbidden("the VAPID token is valid for more than 24 hours"));
    }
    let subject = verified.sub.as_str();
    if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
        return Err(forbidden("the VAPID `sub` must be a mailto: or https: URI"));
    }
    Ok(())
}

/// Length of `header.claims` in a JWT.
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}
