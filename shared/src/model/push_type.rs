//! APNs push types, the kinds of Apple tokens, and who a send reaches.
//!
//! Apple's rules per push type ("Sending notification requests to APNs",
//! the `apns-push-type` table): the `apns-topic` suffix appended to the
//! app's bundle id, the `apns-priority` values allowed, and what the
//! payload may carry. `mdm` is left out: its topic is the UID of an MDM
//! push certificate and it authenticates with that certificate, while a
//! tenant here has a token-signing key and an app bundle id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Notification, Priority};

/// `push_type` of a send, named as Apple's `apns-push-type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushType {
    Alert,
    Background,
    Liveactivity,
    Voip,
    Location,
    Complication,
    Fileprovider,
    Pushtotalk,
    Widgets,
}

impl PushType {
    pub const ALL: [PushType; 9] = [
        PushType::Alert,
        PushType::Background,
        PushType::Liveactivity,
        PushType::Voip,
        PushType::Location,
        PushType::Complication,
        PushType::Fileprovider,
        PushType::Pushtotalk,
        PushType::Widgets,
    ];

    /// The `apns-push-type` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            PushType::Alert => "alert",
            PushType::Background => "background",
            PushType::Liveactivity => "liveactivity",
            PushType::Voip => "voip",
            PushType::Location => "location",
            PushType::Complication => "complication",
            PushType::Fileprovider => "fileprovider",
            PushType::Pushtotalk => "pushtotalk",
            PushType::Widgets => "widgets",
        }
    }

    /// What Apple wants appended to the bundle id in `apns-topic`.
    pub fn topic_suffix(self) -> &'static str {
        match self {
            PushType::Alert | PushType::Background => "",
            PushType::Liveactivity => ".push-type.liveactivity",
            PushType::Voip => ".voip",
            PushType::Location => ".location-query",
            PushType::Complication => ".complication",
            PushType::Fileprovider => ".pushkit.fileprovider",
            PushType::Pushtotalk => ".voip-ptt",
            PushType::Widgets => ".push-type.widgets",
        }
    }

    /// The `apns-priority` values Apple accepts: background and File
    /// Provider pushes only 5, push-to-talk only 10, the others 5 or 10.
    pub fn allows(self, priority: Priority) -> bool {
        match self {
            PushType::Background | PushType::Fileprovider => priority == Priority::Normal,
            PushType::Pushtotalk => priority == Priority::High,
            _ => true,
        }
    }

    /// The priority when the send names none.
    pub fn default_priority(self) -> Priority {
        match self {
            PushType::Background | PushType::Fileprovider | PushType::Widgets => Priority::Normal,
            _ => Priority::High,
        }
    }

    /// Types only APNs has: their sends reach Apple devices only.
    pub fn is_apns_only(self) -> bool {
        !matches!(self, PushType::Alert | PushType::Background)
    }
}

impl fmt::Display for PushType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of Apple token a device is. Apple hands an app a token of its
/// own for each of these, distinct from its device token (`device`), and a
/// push of each kind goes only to a token of that kind:
/// - `liveactivity`, `push_to_start`: ActivityKit's update and push-to-start
///   tokens;
/// - `voip`, `complication`, `fileprovider`: PushKit's token for that push
///   type (`PKPushRegistry` / `PKPushCredentials.token`);
/// - `location`: Core Location's location-push token
///   (`CLLocationManager.startMonitoringLocationPushes`);
/// - `pushtotalk`: the PushToTalk framework's ephemeral push token
///   (`PTChannelManagerDelegate` `receivedEphemeralPushToken`);
/// - `widgets`: WidgetKit's widget push token (`WidgetPushInfo.token`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    #[default]
    Device,
    Liveactivity,
    PushToStart,
    Voip,
    Location,
    Complication,
    Fileprovider,
    Pushtotalk,
    Widgets,
}

impl TokenType {
    pub const ALL: [TokenType; 9] = [
        TokenType::Device,
        TokenType::Liveactivity,
        TokenType::PushToStart,
        TokenType::Voip,
        TokenType::Location,
        TokenType::Complication,
        TokenType::Fileprovider,
        TokenType::Pushtotalk,
        TokenType::Widgets,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Device => "device",
            TokenType::Liveactivity => "liveactivity",
            TokenType::PushToStart => "push_to_start",
            TokenType::Voip => "voip",
            TokenType::Location => "location",
            TokenType::Complication => "complication",
            TokenType::Fileprovider => "fileprovider",
            TokenType::Pushtotalk => "pushtotalk",
            TokenType::Widgets => "widgets",
        }
    }

    /// Live Activity tokens: short-lived, with a cap and counter of their
    /// own. Every other kind counts towards the user's device cap.
    pub fn is_activity(self) -> bool {
        matches!(self, TokenType::Liveactivity | TokenType::PushToStart)
    }

    /// Tokens only Apple hands out: for `ios`, `watchos` and `macos` devices.
    pub fn is_apple_only(self) -> bool {
        self != TokenType::Device
    }

    /// The kind of token a push of `push_type` goes to (Live Activity
    /// pushes: see [`crate::model::LiveActivityEvent::token_type`]).
    pub fn for_push_type(push_type: PushType) -> Self {
        match push_type {
            PushType::Alert | PushType::Background | PushType::Liveactivity => TokenType::Device,
            PushType::Voip => TokenType::Voip,
            PushType::Location => TokenType::Location,
            PushType::Complication => TokenType::Complication,
            PushType::Fileprovider => TokenType::Fileprovider,
            PushType::Pushtotalk => TokenType::Pushtotalk,
            PushType::Widgets => TokenType::Widgets,
        }
    }

    pub fn parse(value: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|token_type| token_type.as_str() == value)
            .ok_or_else(|| {
                Error::invalid_request(format!(
                    "`token_type` must be one of {}",
                    Self::ALL.map(TokenType::as_str).join(", ")
                ))
            })
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The push type a send has: the one it names, else `liveactivity` with
/// `live_activity`, `alert` with something visible, `background` otherwise.
pub fn effective_push_type(notification: &Notification) -> PushType {
    match notification.push_type {
        Some(push_type) => push_type,
        None if notification.live_activity.is_some() => PushType::Liveactivity,
        None if notification.is_visible() => PushType::Alert,
        None => PushType::Background,
    }
}

/// Apple's payload and priority rules for the push type. Every error names
/// the field at fault.
pub(crate) fn validate_push_type(notification: &Notification) -> Result<()> {
    let push_type = effective_push_type(notification);
    check_priority(notification, push_type)?;
    check_live_activity(notification, push_type)?;
    check_fields(notification, push_type)
}

/// A derived push type takes the priority it allows (a background push
/// asked `high` goes at 5, as before push types); a named one is strict.
fn check_priority(notification: &Notification, push_type: PushType) -> Result<()> {
    if let (Some(priority), Some(_)) = (notification.priority, notification.push_type) {
        if !push_type.allows(priority) {
            return Err(Error::invalid_request(format!(
                "`priority` `{}` is not allowed for `push_type` `{push_type}`: Apple accepts {}",
                match priority {
                    Priority::High => "high",
                    Priority::Normal => "normal",
                },
                match push_type {
                    PushType::Background | PushType::Fileprovider => "only `normal` (5)",
                    PushType::Pushtotalk => "only `high` (10)",
                    _ => "`high` (10) or `normal` (5)",
                }
            )));
        }
    }
    Ok(())
}

/// `live_activity` comes with `liveactivity` and only with it.
fn check_live_activity(notification: &Notification, push_type: PushType) -> Result<()> {
    match (push_type, &notification.live_activity) {
        (PushType::Liveactivity, None) => Err(Error::invalid_request(
            "`live_activity` is required with `push_type` `liveactivity`",
        )),
        (PushType::Liveactivity, Some(activity)) => activity.validate(),
        (_, Some(_)) => Err(Error::invalid_request(format!(
            "`live_activity` is only for `push_type` `liveactivity`, not `{push_type}`"
        ))),
        (_, None) => Ok(()),
    }
}

/// The visible fields (`alert`, `badge`, `sound`) and flags each push type
/// needs or refuses.
fn check_fields(notification: &Notification, push_type: PushType) -> Result<()> {
    let refuse = |field: &str| {
        Err(Error::invalid_request(format!(
            "`{field}` is not allowed with `push_type` `{push_type}`"
        )))
    };
    match push_type {
        PushType::Alert => {
            if !notification.is_visible() {
                return Err(Error::invalid_request(
                    "`push_type` `alert` needs at least one of `alert`, `badge` or `sound`",
                ));
            }
        }
        PushType::Background => {
            if notification.alert.is_some() {
                return refuse("alert");
            }
            if notification.badge.is_some() {
                return refuse("badge");
            }
            if notification.sound.is_some() {
                return refuse("sound");
            }
            if notification.push_type.is_some() && !notification.content_available {
                return Err(Error::invalid_request(
                    "`push_type` `background` needs `content_available` (true)",
                ));
            }
        }
        // An activity update may alert (title, body, sound); a badge or a
        // background wake-up is not part of it.
        PushType::Liveactivity => {
            if notification.badge.is_some() {
                return refuse("badge");
            }
            if notification.content_available {
                return refuse("content_available");
            }
        }
        // Not shown by the system: the app or extension handles them.
        PushType::Voip
        | PushType::Location
        | PushType::Complication
        | PushType::Fileprovider
        | PushType::Pushtotalk
        | PushType::Widgets => {
            if notification.alert.is_some() {
                return refuse("alert");
            }
            if notification.badge.is_some() {
                return refuse("badge");
            }
            if notification.sound.is_some() {
                return refuse("sound");
            }
            if notification.content_available {
                return refuse("content_available");
            }
            if notification.mutable_content {
                return refuse("mutable_content");
            }
        }
    }
    Ok(())
}

/// The devices a send goes to: Live Activity sends only to the tokens of
/// their event, VoIP, location, complication, File Provider, push-to-talk
/// and widget sends only to tokens of their own kind, alert and background
/// sends only to device tokens, and the push types only APNs has only to
/// Apple devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    pub token_type: TokenType,
    pub apple_only: bool,
}

impl Audience {
    pub fn of(notification: &Notification) -> Self {
        Self {
            token_type: notification.live_activity.as_ref().map_or_else(
                || TokenType::for_push_type(effective_push_type(notification)),
                |activity| activity.event.token_type(),
            ),
            apple_only: effective_push_type(notification).is_apns_only(),
        }
    }

    pub fn admits(self, token_type: TokenType, apple: bool) -> bool {
        token_type == self.token_type && (apple || !self.apple_only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live_activity::tests::{activity, detail};
    use crate::model::{Alert, LiveActivityEvent};

    #[test]
    fn topic_suffixes_are_apples() {
        let suffixes: Vec<(&str, &str)> = PushType::ALL
            .iter()
            .map(|t| (t.as_str(), t.topic_suffix()))
            .collect();
        assert_eq!(
            suffixes,
            [
                ("alert", ""),
                ("background", ""),
                ("liveactivity", ".push-type.liveactivity"),
                ("voip", ".voip"),
                ("location", ".location-query"),
                ("complication", ".complication"),
                ("fileprovider", ".pushkit.fileprovider"),
                ("pushtotalk", ".voip-ptt"),
                ("widgets", ".push-type.widgets"),
            ]
        );
        for push_type in PushType::ALL {
            let json = serde_json::to_string(&push_type).unwrap();
            assert_eq!(json, format!("\"{push_type}\""));
        }
    }

    #[test]
    fn the_push_type_follows_the_payload_when_not_named() {
        let mut n = Notification {
            content_available: true,
            ..Notification::default()
        };
        assert_eq!(effective_push_type(&n), PushType::Background);
        n.badge = Some(1);
        assert_eq!(effective_push_type(&n), PushType::Alert);
        n.badge = None;
        n.content_available = false;
        n.live_activity = Some(activity(LiveActivityEvent::Update));
        assert_eq!(effective_push_type(&n), PushType::Liveactivity);
    }

    #[test]
    fn priorities_apple_refuses_are_400_naming_priority() {
        let n = Notification {
            push_type: Some(PushType::Background),
            content_available: true,
            priority: Some(Priority::High),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`priority`"));
        let n = Notification {
            push_type: Some(PushType::Pushtotalk),
            priority: Some(Priority::Normal),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`priority`"));
        let n = Notification {
            push_type: Some(PushType::Liveactivity),
            live_activity: Some(activity(LiveActivityEvent::Update)),
            priority: Some(Priority::Normal),
            ..Notification::default()
        };
        assert!(validate_push_type(&n).is_ok());
    }

    #[test]
    fn payload_rules_name_the_field() {
        let n = Notification {
            push_type: Some(PushType::Background),
            badge: Some(1),
            content_available: true,
            ..Notification::default()
        };
        assert!(detail(&n).contains("`badge`"));
        let n = Notification {
            push_type: Some(PushType::Background),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`content_available`"));
        let n = Notification {
            push_type: Some(PushType::Widgets),
            alert: Some(Alert {
                body: Some("b".into()),
                ..Alert::default()
            }),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`alert`"));
        let n = Notification {
            push_type: Some(PushType::Liveactivity),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`live_activity`"));
        let n = Notification {
            push_type: Some(PushType::Alert),
            badge: Some(1),
            live_activity: Some(activity(LiveActivityEvent::Update)),
            ..Notification::default()
        };
        assert!(detail(&n).contains("`live_activity`"));
    }

    #[test]
    fn activity_sends_and_other_sends_reach_separate_tokens() {
        let update = Notification {
            live_activity: Some(activity(LiveActivityEvent::Update)),
            ..Notification::default()
        };
        assert!(Audience::of(&update).admits(TokenType::Liveactivity, true));
        assert!(!Audience::of(&update).admits(TokenType::PushToStart, true));
        assert!(!Audience::of(&update).admits(TokenType::Device, true));
        let start = Notification {
            live_activity: Some(activity(LiveActivityEvent::Start)),
            ..Notification::default()
        };
        assert!(Audience::of(&start).admits(TokenType::PushToStart, true));
        assert!(!Audience::of(&start).admits(TokenType::Liveactivity, true));
        let alert = Notification {
            badge: Some(1),
            ..Notification::default()
        };
        assert!(Audience::of(&alert).admits(TokenType::Device, true));
        assert!(Audience::of(&alert).admits(TokenType::Device, false));
        assert!(!Audience::of(&alert).admits(TokenType::Liveactivity, true));
        assert!(!Audience::of(&alert).admits(TokenType::PushToStart, true));
    }

    #[test]
    fn each_apple_push_type_reaches_only_tokens_of_its_own_kind() {
        for push_type in PushType::ALL {
            if push_type == PushType::Liveactivity {
                continue;
            }
            let send = Notification {
                push_type: Some(push_type),
                content_available: push_type == PushType::Background,
                badge: (push_type == PushType::Alert).then_some(1),
                ..Notification::default()
            };
            let audience = Audience::of(&send);
            let reached: Vec<TokenType> = TokenType::ALL
                .into_iter()
                .filter(|token_type| audience.admits(*token_type, true))
                .collect();
            assert_eq!(
                reached,
                [TokenType::for_push_type(push_type)],
                "{push_type}"
            );
            assert_eq!(
                audience.admits(reached[0], false),
                !push_type.is_apns_only(),
                "{push_type}"
            );
        }
        for token_type in TokenType::ALL {
            assert_eq!(TokenType::parse(token_type.as_str()).ok(), Some(token_type));
            let json = serde_json::to_string(&token_type).unwrap_or_default();
            assert_eq!(json, format!("\"{token_type}\""));
        }
    }
}
