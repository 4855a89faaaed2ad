//! A browser's `PushSubscription.toJSON()`: the endpoint (the device's
//! token) and the keys its pushes are encrypted to.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Length of an uncompressed P-256 point: `0x04 || x || y`.
pub const P256_POINT_LEN: usize = 65;
/// RFC 8291: the authentication secret is 16 bytes.
pub const AUTH_SECRET_LEN: usize = 16;

/// As the browser sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushSubscription {
    pub endpoint: String,
    pub keys: WebPushKeys,
    /// Browsers include it (`null` mostly); the push service enforces it.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<serde_json::Value>,
}

/// The subscription's keys, base64url as the browser encodes them; stored
/// with the device. Checked by [`WebPushKeys::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// Decodes base64url with or without padding (browsers omit it; some
/// libraries add it).
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE.decode(text).ok())
}

pub fn encode_base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// True when `point` is an uncompressed point on P-256 (parsing checks
/// that it lies on the curve).
pub fn is_p256_point(point: &[u8]) -> bool {
    use aws_lc_rs::agreement::{ParsedPublicKey, UnparsedPublicKey, ECDH_P256};
    point.len() == P256_POINT_LEN
        && point.first() == Some(&0x04)
        && ParsedPublicKey::try_from(&UnparsedPublicKey::new(&ECDH_P256, point)).is_ok()
}

impl WebPushKeys {
    /// The decoded `(p256dh, auth)`; 400 `invalid_token_format` naming the
    /// field when either is not what RFC 8291 requires.
    pub fn validate(&self) -> Result<([u8; P256_POINT_LEN], [u8; AUTH_SECRET_LEN])> {
        let p256dh = decode_base64url(&self.p256dh)
            .filter(|point| is_p256_point(point))
            .and_then(|point| <[u8; P256_POINT_LEN]>::try_from(point).ok())
            .ok_or_else(|| {
                Error::invalid_token_format(
                    "`subscription.keys.p256dh` must be the base64url uncompressed P-256 public key (65 bytes) of the subscription",
                )
            })?;
        let auth = decode_base64url(&self.auth)
            .and_then(|secret| <[u8; AUTH_SECRET_LEN]>::try_from(secret).ok())
            .ok_or_else(|| {
                Error::invalid_token_format(
                    "`subscription.keys.auth` must be the base64url 16-byte authentication secret of the subscription",
                )
            })?;
        Ok((p256dh, auth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_a_curve_point_and_a_16_byte_secret() {
        let private =
            aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::ECDH_P256).unwrap();
        let public = private.compute_public_key().unwrap();
        let good = WebPushKeys {
            p256dh: encode_base64url(public.as_ref()),
            auth: encode_base64url(&[7; 16]),
        };
        assert!(good.validate().is_ok());
        let mut off_curve = public.as_ref().to_vec();
        off_curve[64] ^= 1;
        for (keys, field) in [
            (
                WebPushKeys {
                    p256dh: encode_base64url(&off_curve),
                    ..good.clone()
                },
                "p256dh",
            ),
            (
                WebPushKeys {
                    p256dh: encode_base64url(&public.as_ref()[..64]),
                    ..good.clone()
                },
                "p256dh",
            ),
            (
                WebPushKeys {
                    auth: encode_base64url(&[7; 15]),
                    ..good.clone()
                },
                "auth",
            ),
            (
                WebPushKeys {
                    auth: "not base64!".to_owned(),
                    ..good.clone()
                },
                "auth",
            ),
        ] {
            let err = keys.validate().err();
            assert!(
                matches!(&err, Some(e) if e.code() == "invalid_token_format" && e.to_string().contains(field)),
                "{field}: {err:?}"
            );
        }
    }
}
