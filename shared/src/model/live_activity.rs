//! Live Activities: the `live_activity` of a send, as Apple's ActivityKit
//! push `aps` keys ("Starting and updating Live Activities with ActivityKit
//! push notifications") name them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::TokenType;

/// Apple caps a Live Activity's push payload at 4096 bytes; the content
/// state alone may not reach it.
pub const MAX_CONTENT_STATE_BYTES: usize = 4096;
/// `relevance-score` and `attributes-type` are short by nature; bound them.
const MAX_ATTRIBUTES_TYPE_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveActivityEvent {
    Start,
    Update,
    End,
}

impl LiveActivityEvent {
    /// The kind of token an event goes to: `start` to push-to-start tokens,
    /// `update` and `end` to a running activity's tokens.
    pub fn token_type(self) -> TokenType {
        match self {
            LiveActivityEvent::Start => TokenType::PushToStart,
            LiveActivityEvent::Update | LiveActivityEvent::End => TokenType::Liveactivity,
        }
    }
}

/// `live_activity` of a send: Apple's Live Activity `aps` keys, in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveActivity {
    pub event: LiveActivityEvent,
    pub content_state: Map<String, Value>,
    /// Unix seconds; ActivityKit ignores updates older than the last one.
    /// The send's time when absent.
    #[serde(
        default,
        deserialize_with = "unix_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    #[serde(
        default,
        deserialize_with = "unix_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub dismissal_date: Option<i64>,
    #[serde(
        default,
        deserialize_with = "unix_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub stale_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
}

/// Latest Unix time accepted: the end of year 9999 (openapi.yaml's maximum).
pub const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// A Unix time in whole seconds from 0 to [`MAX_UNIX_SECONDS`], written `5`
/// or `5.0` alike (JSON Schema's `integer` accepts both).
fn unix_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<i64>, D::Error> {
    use serde::de::{Error as _, Unexpected};
    let expected = "a Unix time in whole seconds from 0 to 253402300799";
    let in_range = |seconds: i64| (0..=MAX_UNIX_SECONDS).contains(&seconds);
    match Option::<serde_json::Number>::deserialize(deserializer)? {
        None => Ok(None),
        Some(number) => {
            if let Some(seconds) = number.as_i64().filter(|s| in_range(*s)) {
                return Ok(Some(seconds));
            }
            match number.as_f64() {
                Some(value)
                    if value.fract() == 0.0 && (0.0..=MAX_UNIX_SECONDS as f64).contains(&value) =>
                {
                    // Whole and in range: the conversion is exact.
                    Ok(Some(value as i64))
                }
                Some(value) => Err(D::Error::invalid_value(Unexpected::Float(value), &expected)),
                None => Err(D::Error::invalid_value(
                    Unexpected::Other("number"),
                    &expected,
                )),
            }
        }
    }
}

impl LiveActivity {
    pub(crate) fn validate(&self) -> Result<()> {
        let state_bytes = serde_json::to_vec(&self.content_state)
            .map(|json| json.len())
            .unwrap_or(usize::MAX);
        if state_bytes > MAX_CONTENT_STATE_BYTES {
            return Err(Error::invalid_request(format!(
                "`live_activity.content_state` is {state_bytes} bytes; a Live Activity push \
                 carries at most {MAX_CONTENT_STATE_BYTES}"
            )));
        }
        for (field, value) in [
            ("timestamp", self.timestamp),
            ("dismissal_date", self.dismissal_date),
            ("stale_date", self.stale_date),
        ] {
            if value.is_some_and(|seconds| !(0..=MAX_UNIX_SECONDS).contains(&seconds)) {
                return Err(Error::invalid_request(format!(
                    "`live_activity.{field}` must be a Unix time in seconds from 0 to \
                     {MAX_UNIX_SECONDS}"
                )));
            }
        }
        if self
            .relevance_score
            .is_some_and(|score| !score.is_finite() || score < 0.0)
        {
            return Err(Error::invalid_request(
                "`live_activity.relevance_score` must be a number of 0 or more",
            ));
        }
        let starting = self.event == LiveActivityEvent::Start;
        match (&self.attributes_type, &self.attributes) {
            (Some(kind), Some(_)) if starting => {
                if kind.is_empty()
                    || kind.chars().count() > MAX_ATTRIBUTES_TYPE_CHARS
                    || kind.chars().any(char::is_control)
                {
                    return Err(Error::invalid_request(format!(
                        "`live_activity.attributes_type` must be 1 to {MAX_ATTRIBUTES_TYPE_CHARS} \
                         characters without control characters"
                    )));
                }
            }
            _ if starting => {
                return Err(Error::invalid_request(
                    "`live_activity.attributes_type` and `live_activity.attributes` are required \
                     to start a Live Activity (event `start`)",
                ));
            }
            (None, None) => {}
            _ => {
                return Err(Error::invalid_request(
                    "`live_activity.attributes_type` and `live_activity.attributes` are only for \
                     event `start`",
                ));
            }
        }
        if self.dismissal_date.is_some() && self.event != LiveActivityEvent::End {
            return Err(Error::invalid_request(
                "`live_activity.dismissal_date` is only for event `end`",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::push_type::validate_push_type;
    use crate::model::Notification;
    use serde_json::json;

    /// A minimal activity of `event`, for the tests here and in `push_type`.
    pub(crate) fn activity(event: LiveActivityEvent) -> LiveActivity {
        LiveActivity {
            event,
            content_state: Map::new(),
            timestamp: Some(1),
            dismissal_date: None,
            stale_date: None,
            relevance_score: None,
            attributes_type: None,
            attributes: None,
        }
    }

    /// Why `notification` is refused (panics when it is accepted).
    pub(crate) fn detail(notification: &Notification) -> String {
        match validate_push_type(notification) {
            Ok(()) => panic!("accepted: {notification:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn live_activity_fields_are_checked() {
        let mut start = activity(LiveActivityEvent::Start);
        let n = |a: &LiveActivity| Notification {
            live_activity: Some(a.clone()),
            ..Notification::default()
        };
        assert!(detail(&n(&start)).contains("`live_activity.attributes_type`"));
        start.attributes_type = Some("DeliveryAttributes".into());
        start.attributes = Some(Map::new());
        assert!(validate_push_type(&n(&start)).is_ok());
        let mut update = activity(LiveActivityEvent::Update);
        update.attributes_type = Some("X".into());
        update.attributes = Some(Map::new());
        assert!(detail(&n(&update)).contains("`live_activity.attributes_type`"));
        let mut huge = activity(LiveActivityEvent::Update);
        huge.content_state = json!({"s": "x".repeat(MAX_CONTENT_STATE_BYTES)})
            .as_object()
            .cloned()
            .unwrap();
        assert!(detail(&n(&huge)).contains("`live_activity.content_state`"));
        let mut dismissed_update = activity(LiveActivityEvent::Update);
        dismissed_update.dismissal_date = Some(5);
        assert!(detail(&n(&dismissed_update)).contains("`live_activity.dismissal_date`"));
    }

    #[test]
    fn activity_times_are_whole_seconds_in_range_written_either_way() {
        let parse = |json: &str| serde_json::from_str::<LiveActivity>(json);
        let activity =
            parse(r#"{"event":"end","content_state":{},"timestamp":5.0,"dismissal_date":7}"#);
        assert_eq!(
            activity.ok().map(|a| (a.timestamp, a.dismissal_date)),
            Some((Some(5), Some(7)))
        );
        for bad in ["-1", "1.5", "253402300800", "1e300", "\"5\""] {
            let json = format!(r#"{{"event":"update","content_state":{{}},"stale_date":{bad}}}"#);
            assert!(parse(&json).is_err(), "{bad}");
        }
        assert!(parse(r#"{"event":"update","content_state":{},"timestamp":null}"#).is_ok());
    }
}
