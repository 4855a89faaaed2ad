//! Apple's error `reason`, read as text: every reason Apple documents
//! ("Handling notification responses from APNs") is reported by its name,
//! including those `a2 0.10`'s `ErrorReason` lacks (`ExpiredToken`,
//! `InvalidPushType`, `UnrelatedKeyIdInToken`,
//! `BadEnvironmentKeyIdInToken`). Anything else is remote text and is not
//! repeated.

use serde::Deserialize;

/// Apple's documented reasons.
const DOCUMENTED: [&str; 32] = [
    "BadCollapseId",
    "BadDeviceToken",
    "BadExpirationDate",
    "BadMessageId",
    "BadPriority",
    "BadTopic",
    "DeviceTokenNotForTopic",
    "DuplicateHeaders",
    "IdleTimeout",
    "InvalidPushType",
    "MissingDeviceToken",
    "MissingTopic",
    "PayloadEmpty",
    "TopicDisallowed",
    "BadCertificate",
    "BadCertificateEnvironment",
    "ExpiredProviderToken",
    "Forbidden",
    "InvalidProviderToken",
    "MissingProviderToken",
    "UnrelatedKeyIdInToken",
    "BadEnvironmentKeyIdInToken",
    "BadPath",
    "MethodNotAllowed",
    "ExpiredToken",
    "Unregistered",
    "PayloadTooLarge",
    "TooManyProviderTokenUpdates",
    "TooManyRequests",
    "InternalServerError",
    "ServiceUnavailable",
    "Shutdown",
];

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    reason: Option<std::borrow::Cow<'a, str>>,
}

/// The documented reason in an error body, if it names one.
pub(super) fn of(body: &[u8]) -> Option<&'static str> {
    let reason = serde_json::from_slice::<ErrorBody<'_>>(body).ok()?.reason?;
    DOCUMENTED.iter().copied().find(|known| *known == reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_reason_is_read_by_name_even_those_a2_lacks() {
        for reason in DOCUMENTED {
            let body = format!(r#"{{"reason":"{reason}","timestamp":1700000000000}}"#);
            assert_eq!(of(body.as_bytes()), Some(reason));
        }
        assert_eq!(
            of(br#"{"reason":"UnrelatedKeyIdInToken"}"#),
            Some("UnrelatedKeyIdInToken")
        );
        assert_eq!(of(br#"{"reason":"<script>"}"#), None);
        assert_eq!(of(b"not json"), None);
        assert_eq!(of(b"{}"), None);
    }
}
