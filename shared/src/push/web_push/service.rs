//! Which browser push service an endpoint belongs to, for the few rules
//! that differ between them (the simulator's README, "Web Push", lists
//! them with their sources). Everything else is sent the same way to all:
//! what every service accepts.

use crate::web_push_protocol::hosts::EndpointOrigin;

/// Mozilla autopush hands a message for Firefox on Android or iOS to FCM or
/// APNs as base64 in a data field of 4,096 bytes, documented as "limited to
/// only 2744 bytes" of message (autopush-rs `docs/src/http.md`). The
/// endpoint does not say whether a subscription is bridged, so every
/// autopush message is held to it.
pub(crate) const AUTOPUSH_MAX_MESSAGE_LEN: usize = 2744;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushService {
    /// `*.push.apple.com`: Safari and iOS home-screen web apps.
    Apple,
    /// Mozilla autopush: `*.push.services.mozilla.com`, endpoints under
    /// `/wpush/`.
    Mozilla,
    /// Anything else: FCM (Chrome), WNS (Edge), a local simulator.
    Other,
}

impl PushService {
    pub fn of(origin: &EndpointOrigin, path: &str) -> Self {
        let host = origin.host.as_str();
        if host == "push.apple.com" || host.ends_with(".push.apple.com") {
            PushService::Apple
        } else if host.ends_with(".push.services.mozilla.com") || path.starts_with("/wpush/") {
            PushService::Mozilla
        } else {
            PushService::Other
        }
    }

    /// The largest encrypted message the service takes.
    pub fn max_message_len(self) -> usize {
        match self {
            PushService::Mozilla => AUTOPUSH_MAX_MESSAGE_LEN,
            _ => crate::web_push_protocol::ece::MAX_MESSAGE_LEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_push_protocol::hosts::endpoint_origin;

    fn of(url: &str) -> PushService {
        let origin = endpoint_origin(url).unwrap();
        let path = url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        PushService::of(&origin, &path)
    }

    #[test]
    fn services_are_told_apart_by_host_and_autopush_also_by_path() {
        assert_eq!(of("https://web.push.apple.com/QGuQ"), PushService::Apple);
        assert_eq!(of("https://api.push.apple.com/x"), PushService::Apple);
        assert_eq!(of("https://evilpush.apple.com/x"), PushService::Other);
        assert_eq!(
            of("https://updates.push.services.mozilla.com/wpush/v2/gAAA"),
            PushService::Mozilla
        );
        assert_eq!(
            of("https://127.0.0.1:9473/wpush/v2/x"),
            PushService::Mozilla
        );
        assert_eq!(
            of("https://fcm.googleapis.com/fcm/send/x"),
            PushService::Other
        );
        assert_eq!(
            of("https://wns2-by3p.notify.windows.com/w/?token=x"),
            PushService::Other
        );
    }
}
