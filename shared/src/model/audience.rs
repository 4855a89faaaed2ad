//! Who a bulk send reaches and when: the request's audience (`user_ids`,
//! `topic` or `all_users`) and its `send_at`, checked; and the audience as
//! the batch record keeps it for the delivery worker's audience reader.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::topic::validate_topic;

/// How far ahead `send_at` may be: 30 days.
pub const MAX_SCHEDULE_AHEAD_SECS: i64 = 30 * 24 * 3600;

/// Batches of one tenant waiting for their `send_at` at once. The
/// account's EventBridge Scheduler schedules are shared by every tenant
/// (10,000,000 a Region by default): no tenant may take them all.
pub const MAX_SCHEDULED_BATCHES_PER_TENANT: u32 = 1_000;

/// The audience of a request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The ids as sent (their own rules: `service::bulk::recipients`).
    Users(Vec<String>),
    /// Every user subscribed to the topic when the audience is read.
    Topic(String),
    /// Every user with a device when the audience is read.
    AllUsers,
}

/// Where an audience batch's users come from, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudienceSource {
    /// A list of user ids, stored as pages when the batch was made (a
    /// scheduled `user_ids` send).
    List,
    Topic {
        topic: String,
    },
    AllUsers,
}

impl AudienceSource {
    /// Whether `total` is known before the audience is read.
    pub fn total_known_upfront(&self) -> bool {
        matches!(self, AudienceSource::List)
    }
}

/// Exactly one audience of `user_ids`, `topic` and `all_users` (`false`
/// counts as absent), else 400 naming them.
pub fn audience_of(
    user_ids: Option<Vec<String>>,
    topic: Option<String>,
    all_users: Option<bool>,
) -> Result<Audience> {
    let everyone = all_users == Some(true);
    match (user_ids, topic, everyone) {
        (Some(user_ids), None, false) => Ok(Audience::Users(user_ids)),
        (None, Some(topic), false) => {
            validate_topic(&topic)?;
            Ok(Audience::Topic(topic))
        }
        (None, None, true) => Ok(Audience::AllUsers),
        (None, None, false) => Err(Error::invalid_request(
            "an audience is required: `user_ids`, `topic` or `all_users` (true)",
        )),
        _ => Err(Error::invalid_request(
            "give exactly one audience: `user_ids`, `topic` or `all_users`, not several",
        )),
    }
}

/// `send_at` checked against `now` (epoch seconds): `None` to send now
/// (absent, or a time already past), else the epoch second to send at. 400
/// naming `send_at` when it is not RFC 3339 or more than 30 days ahead.
pub fn send_time(send_at: Option<&str>, now: i64) -> Result<Option<i64>> {
    let Some(text) = send_at else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            Error::invalid_request(
                "`send_at` must be an RFC 3339 time with its offset, e.g. 2026-12-24T09:00:00Z",
            )
        })?
        .with_timezone(&Utc)
        .timestamp();
    if at - now > MAX_SCHEDULE_AHEAD_SECS {
        return Err(Error::invalid_request(
            "`send_at` may be at most 30 days ahead",
        ));
    }
    // A time already past sends now, as a send without `send_at`.
    Ok((at > now).then_some(at))
}

/// Epoch seconds as RFC 3339 UTC, as the contract writes times.
pub fn rfc3339(epoch_seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch_seconds, 0)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Option<Vec<String>> {
        Some(vec!["u1".to_owned()])
    }

    #[test]
    fn exactly_one_audience_is_accepted() {
        assert_eq!(
            audience_of(ids(), None, None).ok(),
            Some(Audience::Users(vec!["u1".to_owned()]))
        );
        assert_eq!(
            audience_of(None, Some("sports".to_owned()), Some(false)).ok(),
            Some(Audience::Topic("sports".to_owned()))
        );
        assert_eq!(
            audience_of(None, None, Some(true)).ok(),
            Some(Audience::AllUsers)
        );
        for (user_ids, topic, all) in [
            (ids(), Some("sports".to_owned()), None),
            (ids(), None, Some(true)),
            (None, Some("sports".to_owned()), Some(true)),
            (None, None, None),
            (None, None, Some(false)),
        ] {
            let err = audience_of(user_ids, topic, all).err();
            assert_eq!(err.as_ref().map(Error::code), Some("invalid_request"));
            assert!(err.is_some_and(|err| err.to_string().contains("`all_users`")));
        }
    }

    #[test]
    fn a_bad_topic_name_is_refused_by_name() {
        let err = audience_of(None, Some("a/b".to_owned()), None).err();
        assert!(err.is_some_and(|err| err.to_string().contains("`topic`")));
    }

    #[test]
    fn send_at_is_rfc_3339_at_most_thirty_days_ahead_and_past_means_now() {
        let now = 1_796_000_000;
        let at = |secs: i64| rfc3339(now + secs);
        assert_eq!(send_time(None, now).ok(), Some(None));
        assert_eq!(send_time(Some(&at(-5)), now).ok(), Some(None));
        assert_eq!(send_time(Some(&at(90)), now).ok(), Some(Some(now + 90)));
        let limit = MAX_SCHEDULE_AHEAD_SECS;
        assert_eq!(
            send_time(Some(&at(limit)), now).ok(),
            Some(Some(now + limit))
        );
        for bad in [
            at(limit + 1),
            "tomorrow".to_owned(),
            "2026-12-24 09:00".to_owned(),
        ] {
            let err = send_time(Some(&bad), now).err();
            assert!(
                err.is_some_and(|err| err.to_string().contains("`send_at`")),
                "{bad}"
            );
        }
        assert_eq!(
            send_time(Some("2026-12-24T10:00:00+01:00"), 1_798_000_000).ok(),
            Some(Some(1_798_102_800))
        );
    }
}
