//! What a push service's answer means for the device.
//!
//! - 2xx: delivered (autopush answers only 201; others 201 or 200).
//! - 404, 410: the subscription is gone (RFC 8030 §7.3): remove the device.
//! - A subscription bound to another VAPID key (Apple 400
//!   `VapidPkHashMismatch`; FCM 403 "do not correspond to the credentials
//!   used to create the subscriptions"): the browser made it with another
//!   `applicationServerKey`, typically before the tenant's key was rotated.
//!   It can never accept this tenant's pushes again, so it is removed; the
//!   site's page subscribes again with the current key and registers anew.
//! - 429, 5xx and WNS's 406 ("exceeded its throttle limit"): throttled or
//!   unavailable, retried later.
//! - Anything else fails the push and keeps the device.

use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

use crate::push::outcome::{dead, failed, transient, DeliveryOutcome, VAPID_REFUSED};
use crate::push::retry::{server_error_wait, THROTTLED_WAIT};

/// Apple's error body.
#[derive(Deserialize)]
struct AppleError {
    reason: String,
}

/// Apple's documented reasons: only these names reach an answer.
const APPLE_REASONS: [&str; 8] = [
    "BadJwtToken",
    "BadWebPushTopic",
    "BadExpirationDate",
    "BadPriority",
    "PayloadTooLarge",
    "TooManyRequests",
    "VapidPkHashMismatch",
    "InternalServerError",
];

const FCM_KEY_MISMATCH: &str =
    "do not correspond to the credentials used to create the subscriptions";

pub(super) fn outcome(status: StatusCode, body: &[u8]) -> DeliveryOutcome {
    let code = status.as_u16();
    let apple_reason = serde_json::from_slice::<AppleError>(body)
        .ok()
        .and_then(|e| APPLE_REASONS.iter().copied().find(|r| *r == e.reason));
    let key_mismatch = apple_reason == Some("VapidPkHashMismatch")
        || (status == StatusCode::FORBIDDEN
            && std::str::from_utf8(body).is_ok_and(|text| text.contains(FCM_KEY_MISMATCH)));
    if status.is_success() {
        DeliveryOutcome::Delivered
    } else if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        dead(format!("webpush status {code}: subscription gone"))
    } else if key_mismatch {
        dead(format!(
            "webpush status {code}: the subscription was made with another VAPID key (VapidPkHashMismatch)"
        ))
    } else if status == StatusCode::NOT_ACCEPTABLE {
        transient("webpush status 406: throttled by the push service")
    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        transient(format!("webpush status {code}"))
    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        failed(format!("webpush status {code}: {VAPID_REFUSED}"))
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        failed("webpush status 413: payload too large")
    } else if let Some(reason) = apple_reason {
        failed(format!("webpush status {code}: {reason}"))
    } else {
        failed(format!("webpush status {code}"))
    }
}

/// How long to wait before trying again after `status`: the push
/// service's `Retry-After` (autopush sends about 120 s), at least a minute
/// when throttled without one, and a short backoff after a 5xx.
pub(super) fn wait(
    status: StatusCode,
    retry_after: Option<Duration>,
    attempt: u32,
) -> Option<Duration> {
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::NOT_ACCEPTABLE {
        Some(retry_after.unwrap_or(THROTTLED_WAIT))
    } else if status.is_server_error() {
        Some(server_error_wait(retry_after, attempt))
    } else {
        retry_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_what_happens_to_the_device() {
        let cases: [(u16, &str, &str); 9] = [
            (201, "", "delivered"),
            (410, "", "dead"),
            (404, "", "dead"),
            (400, r#"{"reason":"VapidPkHashMismatch"}"#, "dead"),
            (
                403,
                "the VAPID credentials in the authorization header do not correspond to the credentials used to create the subscriptions.",
                "dead",
            ),
            (403, r#"{"reason":"BadJwtToken"}"#, "failed"),
            (406, "", "transient"),
            (429, "", "transient"),
            (400, r#"{"reason":"BadWebPushTopic"}"#, "failed"),
        ];
        for (status, body, expected) in cases {
            let outcome = outcome(StatusCode::from_u16(status).unwrap(), body.as_bytes());
            let kind = match outcome {
                DeliveryOutcome::Delivered => "delivered",
                DeliveryOutcome::DeadToken(_) => "dead",
                DeliveryOutcome::Transient(_) => "transient",
                DeliveryOutcome::Failed(_) => "failed",
            };
            assert_eq!(kind, expected, "{status} {body}");
        }
        assert_eq!(
            outcome(StatusCode::BAD_REQUEST, br#"{"reason":"BadWebPushTopic"}"#).error(),
            Some("webpush status 400: BadWebPushTopic")
        );
        assert_eq!(
            outcome(StatusCode::BAD_REQUEST, br#"{"reason":"<script>"}"#).error(),
            Some("webpush status 400")
        );
    }
}
