//! Device platforms, the provider that delivers to each, and the contract's
//! device-token formats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A device platform as the contract names it (`"ios"`, `"android"`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Ios,
    Watchos,
    Macos,
    Android,
    Web,
    /// Standard Web Push (RFC 8030) straight to the browser's push service;
    /// `web` goes through FCM.
    Webpush,
}

/// The push service that delivers to a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushProvider {
    Apns,
    Fcm,
    WebPush,
}

/// APNs tokens are hex; 64 characters today, longer ones announced.
const APNS_TOKEN_LEN: std::ops::RangeInclusive<usize> = 64..=200;
/// FCM registration tokens are opaque but bounded and URL-safe.
const FCM_TOKEN_LEN: std::ops::RangeInclusive<usize> = 100..=4096;

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Ios,
        Platform::Watchos,
        Platform::Macos,
        Platform::Android,
        Platform::Web,
        Platform::Webpush,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Watchos => "watchos",
            Platform::Macos => "macos",
            Platform::Android => "android",
            Platform::Web => "web",
            Platform::Webpush => "webpush",
        }
    }

    pub fn provider(self) -> PushProvider {
        match self {
            Platform::Ios | Platform::Watchos | Platform::Macos => PushProvider::Apns,
            Platform::Android | Platform::Web => PushProvider::Fcm,
            Platform::Webpush => PushProvider::WebPush,
        }
    }

    /// Checks `token` against this platform's format and returns the form to
    /// store: APNs tokens lowercased (so one device is one row whatever case
    /// the app sent), FCM tokens unchanged.
    pub fn normalize_token(self, token: &str) -> Result<String> {
        match self.provider() {
            PushProvider::Apns if is_apns_token(token) => Ok(token.to_ascii_lowercase()),
            PushProvider::Apns => Err(Error::invalid_token_format(format!(
                "`token` is not a valid APNs device token for platform `{self}`: \
                 expected an even number (64 to 200) of hexadecimal characters"
            ))),
            PushProvider::Fcm if is_fcm_token(token) => Ok(token.to_owned()),
            PushProvider::Fcm => Err(Error::invalid_token_format(format!(
                "`token` is not a valid FCM registration token for platform `{self}`: \
                 expected 100 to 4096 characters of A-Z, a-z, 0-9, `_`, `:` and `-`"
            ))),
            // The token of a Web Push device is its subscription's endpoint
            // (whose host the service checks against the allow-list).
            PushProvider::WebPush if is_web_push_endpoint(token) => Ok(token.to_owned()),
            PushProvider::WebPush => Err(Error::invalid_token_format(
                "`token` of a `webpush` device is its subscription's `endpoint`: an https URL of a push service",
            )),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    /// For query strings and path segments; JSON bodies use serde.
    fn from_str(value: &str) -> Result<Self> {
        Platform::ALL
            .into_iter()
            .find(|platform| platform.as_str() == value)
            .ok_or_else(|| {
                Error::invalid_request(
                    "`platform` must be one of ios, watchos, macos, android, web, webpush",
                )
            })
    }
}

/// Hex, even length, 64 to 200 characters (either case).
pub fn is_apns_token(token: &str) -> bool {
    APNS_TOKEN_LEN.contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An absolute `http(s)` URL of at most 2048 characters without user info
/// or fragment: the shape of a subscription endpoint.
pub fn is_web_push_endpoint(token: &str) -> bool {
    crate::web_push_protocol::hosts::endpoint_origin(token).is_some()
}

/// 100 to 4096 characters of `[A-Za-z0-9_:-]`.
pub fn is_fcm_token(token: &str) -> bool {
    FCM_TOKEN_LEN.contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_platforms_go_to_apns_and_the_others_to_fcm() {
        assert_eq!(Platform::Ios.provider(), PushProvider::Apns);
        assert_eq!(Platform::Watchos.provider(), PushProvider::Apns);
        assert_eq!(Platform::Macos.provider(), PushProvider::Apns);
        assert_eq!(Platform::Android.provider(), PushProvider::Fcm);
        assert_eq!(Platform::Web.provider(), PushProvider::Fcm);
        assert_eq!(Platform::Webpush.provider(), PushProvider::WebPush);
    }

    #[test]
    fn platforms_read_and_write_lowercase() {
        assert_eq!(
            serde_json::to_string(&Platform::Watchos).ok().as_deref(),
            Some("\"watchos\"")
        );
        assert_eq!(
            serde_json::from_str::<Platform>("\"web\"").ok(),
            Some(Platform::Web)
        );
        assert!(serde_json::from_str::<Platform>("\"IOS\"").is_err());
        assert_eq!("macos".parse::<Platform>().ok(), Some(Platform::Macos));
        let err = "blackberry".parse::<Platform>().err();
        assert!(
            matches!(&err, Some(e) if e.code() == "invalid_request" && e.to_string().contains("`platform`"))
        );
    }

    #[test]
    fn apns_tokens_are_even_length_hex_and_stored_lowercase() {
        let token = "AB".repeat(32);
        assert_eq!(
            Platform::Ios.normalize_token(&token).ok(),
            Some("ab".repeat(32))
        );
        assert!(Platform::Ios.normalize_token(&"a".repeat(200)).is_ok());
        for bad in [
            "a".repeat(62),
            "a".repeat(65),
            "a".repeat(202),
            "g".repeat(64),
            String::new(),
        ] {
            let err = Platform::Ios.normalize_token(&bad).err();
            assert!(
                matches!(&err, Some(e) if e.code() == "invalid_token_format" && e.to_string().contains("`token`")),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn fcm_tokens_are_100_to_4096_url_safe_characters_kept_as_sent() {
        let token = format!("cAbC:{}", "x_-9".repeat(30));
        assert_eq!(
            Platform::Android.normalize_token(&token).ok(),
            Some(token.clone())
        );
        assert!(Platform::Web.normalize_token(&"a".repeat(4096)).is_ok());
        for bad in [
            "a".repeat(99),
            "a".repeat(4097),
            format!("{}+", "a".repeat(120)),
        ] {
            let err = Platform::Web.normalize_token(&bad).err();
            assert!(matches!(&err, Some(e) if e.code() == "invalid_token_format"));
        }
    }
}
