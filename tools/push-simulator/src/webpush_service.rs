//! The rules of the four browsers' push services, played by subscriptions
//! made with `"service"` (`POST /admin/web-push-subscriptions`). Without
//! one, a subscription plays RFC 8030 alone. Sources: the "Web Push" table
//! of the simulator's README.

use http::header::{HeaderValue, RETRY_AFTER};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::http_util::{self, Resp};

/// RFC 8030 §5.4: a `Topic` is at most 32 base64url characters.
const MAX_TOPIC_CHARS: usize = 32;
/// Mozilla autopush hands a bridged (Firefox for Android/iOS) message to
/// FCM or APNs as base64 in a data field of at most 4,096 bytes
/// (autopush-rs `routers/fcm/settings.rs`, `routers/fcm/client.rs`).
const BRIDGED_MAX_BASE64: usize = 4096;

/// Which push service a subscription plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    /// RFC 8030 only.
    #[default]
    Standard,
    /// `web.push.apple.com` (Safari, iOS home-screen web apps).
    Apple,
    /// Mozilla autopush (Firefox).
    Mozilla,
    /// FCM's Web Push endpoint (Chrome).
    Fcm,
    /// Windows Push Notification Services (Edge).
    Wns,
}

impl Service {
    /// The path under which the service's endpoints live: autopush's are
    /// `/wpush/v2/…`, as on `updates.push.services.mozilla.com`.
    pub fn path_prefix(self) -> &'static str {
        match self {
            Service::Mozilla => MOZILLA_PATH_PREFIX,
            _ => PATH_PREFIX,
        }
    }

    /// The refusal of a `Topic` header the service does not take, if any.
    pub fn check_topic(self, topic: Option<&HeaderValue>) -> Option<Resp> {
        let topic = topic?;
        let bytes = topic.as_bytes();
        let rfc = !bytes.is_empty()
            && bytes.len() <= MAX_TOPIC_CHARS
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        match self {
            // Apple base64-decodes the topic: a length of 1 mod 4 is no
            // base64 at all (field reports: `spike`, `mail-batch-10`).
            Service::Apple if !rfc || bytes.len() % 4 == 1 => {
                Some(apple(StatusCode::BAD_REQUEST, "BadWebPushTopic"))
            }
            _ if !rfc => Some(refuse(
                StatusCode::BAD_REQUEST,
                113,
                "Topic must be at most 32 base64url characters",
            )),
            _ => None,
        }
    }

    /// The answer to a push signed by a key other than the one the
    /// subscription was made with (`applicationServerKey`).
    pub fn key_mismatch(self) -> Resp {
        match self {
            Service::Apple => apple(StatusCode::BAD_REQUEST, "VapidPkHashMismatch"),
            Service::Fcm => http_util::raw_json(
                StatusCode::FORBIDDEN,
                HeaderValue::from_static("text/plain; charset=utf-8"),
                FCM_KEY_MISMATCH.as_bytes().to_vec(),
            ),
            _ => refuse(
                StatusCode::FORBIDDEN,
                109,
                "the VAPID key is not the subscription's applicationServerKey",
            ),
        }
    }

    /// Whether a body of `len` bytes is over the service's limit (4,096
    /// bytes, checked before this, for all).
    pub fn too_large(self, bridged: bool, len: usize) -> bool {
        self == Service::Mozilla && bridged && len.div_ceil(3) * 4 > BRIDGED_MAX_BASE64
    }

    /// The answer to a subscription that is being throttled (`busy…` ids).
    pub fn throttled(self) -> Resp {
        match self {
            // WNS: "406 Not Acceptable: the cloud service exceeded its
            // throttle limit", with no `Retry-After`.
            Service::Wns => http_util::empty(StatusCode::NOT_ACCEPTABLE),
            _ => {
                let mut answer = refuse(StatusCode::TOO_MANY_REQUESTS, 0, "slow down");
                answer
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                answer
            }
        }
    }
}

/// Where every service but Mozilla's keeps its endpoints (`/wp/{id}`).
pub(crate) const PATH_PREFIX: &str = "/wp/";
pub(crate) const MOZILLA_PATH_PREFIX: &str = "/wpush/v2/";

/// FCM's answer (plain text), as public senders quote it.
const FCM_KEY_MISMATCH: &str = "the VAPID credentials in the authorization header do not \
    correspond to the credentials used to create the subscriptions.\n";

/// autopush's error body (`code`, `errno`, `error`), which the others
/// resemble closely enough for a client that reads the status.
pub(crate) fn refuse(status: StatusCode, errno: u16, reason: &str) -> Resp {
    http_util::json(
        status,
        &json!({"code": status.as_u16(), "errno": errno, "error": reason}),
    )
}

/// Apple's error body: `{"reason": "..."}`.
fn apple(status: StatusCode, reason: &str) -> Resp {
    http_util::json(status, &json!({ "reason": reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(service: Service, value: &'static str) -> StatusCode {
        service
            .check_topic(Some(&HeaderValue::from_static(value)))
            .map_or(StatusCode::CREATED, |answer| answer.status())
    }

    #[test]
    fn apple_refuses_topics_of_length_one_mod_four_and_the_others_do_not() {
        for refused in ["spike", "mail-batch-10", "frenz-ai-done", "a"] {
            assert_eq!(topic(Service::Apple, refused), StatusCode::BAD_REQUEST);
            assert_eq!(topic(Service::Mozilla, refused), StatusCode::CREATED);
        }
        for taken in ["mail-batch-8", "neueangebote", "ab"] {
            assert_eq!(topic(Service::Apple, taken), StatusCode::CREATED);
        }
        for everywhere_refused in ["a b", "x.y", "0123456789abcdef0123456789abcdef0"] {
            assert_eq!(
                topic(Service::Wns, everywhere_refused),
                StatusCode::BAD_REQUEST
            );
            assert_eq!(
                topic(Service::Apple, everywhere_refused),
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn bridged_firefox_subscriptions_take_3072_bytes_which_are_4096_in_base64() {
        assert!(!Service::Mozilla.too_large(true, 3072));
        assert!(Service::Mozilla.too_large(true, 3073));
        assert!(!Service::Mozilla.too_large(false, 4096));
        assert!(!Service::Apple.too_large(true, 4096));
    }
}
