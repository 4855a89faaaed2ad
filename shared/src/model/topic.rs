//! Topics: named groups of a tenant's users, which a bulk send can target.
//! A user subscribes to a topic whether or not they have devices.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::device::validate_user_id;

/// Topics one user may be subscribed to. Bounds the user's topics item (a
/// string set read whole) and what unsubscribing a user from everything
/// costs: a subscription beyond it is refused for that user alone, who is
/// named in the answer's `too_many_topics`.
pub const MAX_TOPICS_PER_USER: usize = 100;
/// Longest topic name, in characters (all of them ASCII).
pub const MAX_TOPIC_CHARS: usize = 100;
/// User ids one subscribe or unsubscribe request may name.
pub const MAX_SUBSCRIBERS_PER_REQUEST: usize = 1_000;

/// 1 to [`MAX_TOPIC_CHARS`] characters of `A-Z a-z 0-9 _ . -`. `.` and
/// `..` are refused besides: as a path segment they mean "this" and
/// "parent", and clients remove them from a URL before sending it.
pub fn validate_topic(topic: &str) -> Result<()> {
    let alphabet = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if topic.is_empty()
        || topic.len() > MAX_TOPIC_CHARS
        || !topic.chars().all(alphabet)
        || topic == "."
        || topic == ".."
    {
        return Err(Error::invalid_request(format!(
            "`topic` must be 1 to {MAX_TOPIC_CHARS} characters of A-Z, a-z, 0-9, `_`, `.` and `-` \
             (and neither `.` nor `..`)"
        )));
    }
    Ok(())
}

/// `POST` and `DELETE /tenants/{tenant_id}/topics/{topic}/subscribers`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSubscribersRequest {
    pub user_ids: Vec<String>,
}

impl TopicSubscribersRequest {
    /// The distinct user ids, in request order: 1 to
    /// [`MAX_SUBSCRIBERS_PER_REQUEST`] ids, each a valid user id (400
    /// naming the first that is not).
    pub fn distinct_user_ids(self) -> Result<Vec<String>> {
        let count = self.user_ids.len();
        if count == 0 || count > MAX_SUBSCRIBERS_PER_REQUEST {
            return Err(Error::invalid_request(format!(
                "`user_ids` must hold 1 to {MAX_SUBSCRIBERS_PER_REQUEST} user ids; it holds {count}"
            )));
        }
        let mut seen = HashSet::with_capacity(count);
        let mut distinct = Vec::with_capacity(count);
        for (index, user_id) in self.user_ids.into_iter().enumerate() {
            if validate_user_id(&user_id).is_err() {
                return Err(Error::invalid_request(format!(
                    "`user_ids[{index}]` is not a valid user id (1 to 256 characters without \
                     control characters, U+FFFE or U+FFFF)"
                )));
            }
            if seen.insert(user_id.clone()) {
                distinct.push(user_id);
            }
        }
        Ok(distinct)
    }
}

/// The answer to a subscription (schema `TopicSubscribeResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSubscribed {
    pub topic: String,
    /// Distinct users of the request subscribed now (before or by it).
    pub subscribed: u32,
    /// Users refused: already subscribed to [`MAX_TOPICS_PER_USER`] other
    /// topics. In request order.
    pub too_many_topics: Vec<String>,
}

/// The answer to an unsubscription (schema `TopicUnsubscribeResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicUnsubscribed {
    pub topic: String,
    /// Distinct users of the request, none of them subscribed any more
    /// (whether they were or not).
    pub unsubscribed: u32,
}

/// `GET /tenants/{tenant_id}/users/{user_id}/topics` (schema `TopicList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicList {
    /// In byte order.
    pub topics: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse_json;

    fn refused(topic: &str) -> String {
        match validate_topic(topic) {
            Ok(()) => panic!("{topic:?} accepted"),
            Err(err) => {
                assert_eq!(err.code(), "invalid_request");
                err.to_string()
            }
        }
    }

    fn request(user_ids: Vec<String>) -> TopicSubscribersRequest {
        TopicSubscribersRequest { user_ids }
    }

    #[test]
    fn topic_names_are_1_to_100_characters_of_letters_digits_underscore_dot_and_dash() {
        for good in [
            "sports",
            "a",
            "News_2026.eu-west",
            "...",
            ".a",
            &"x".repeat(100),
        ] {
            assert!(validate_topic(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            &"x".repeat(101),
            "a/b",
            "é",
            "a b",
            "a#b",
            "a%2Fb",
            ".",
            "..",
        ] {
            assert!(refused(bad).contains("`topic`"), "{bad:?}");
        }
    }

    #[test]
    fn user_ids_are_deduplicated_in_request_order() {
        let ids = ["b", "a", "b", "c", "a"].map(str::to_owned).to_vec();
        assert_eq!(
            request(ids).distinct_user_ids().ok(),
            Some(["b", "a", "c"].map(str::to_owned).to_vec())
        );
    }

    #[test]
    fn one_to_a_thousand_user_ids_are_taken_and_more_or_none_are_refused_naming_user_ids() {
        let ids = |count: usize| (0..count).map(|n| format!("u{n}")).collect::<Vec<_>>();
        assert_eq!(
            request(ids(1000))
                .distinct_user_ids()
                .map(|ids| ids.len())
                .ok(),
            Some(1000)
        );
        for count in [0, 1001] {
            let err = request(ids(count)).distinct_user_ids().err();
            let text = err.map(|err| err.to_string()).unwrap_or_default();
            assert!(text.contains("`user_ids`"), "{count}: {text}");
        }
    }

    #[test]
    fn an_invalid_user_id_is_refused_naming_its_position() {
        let ids = vec!["ok".to_owned(), "ok".to_owned(), "a\nb".to_owned()];
        let text = request(ids)
            .distinct_user_ids()
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(text.contains("`user_ids[2]`"), "{text}");
        let long = vec!["x".repeat(257)];
        assert!(request(long).distinct_user_ids().is_err());
    }

    #[test]
    fn unknown_fields_of_a_body_are_refused() {
        let parsed: Result<TopicSubscribersRequest> =
            parse_json(br#"{"user_ids": ["u1"], "topic": "sports"}"#);
        let text = parsed.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(text.contains("unknown field `topic`"), "{text}");
    }

    #[test]
    fn answers_have_the_contracts_shapes() {
        let subscribed = TopicSubscribed {
            topic: "sports".to_owned(),
            subscribed: 2,
            too_many_topics: vec!["u3".to_owned()],
        };
        assert_eq!(
            serde_json::to_value(subscribed).ok(),
            Some(
                serde_json::json!({"topic": "sports", "subscribed": 2, "too_many_topics": ["u3"]})
            )
        );
        let unsubscribed = TopicUnsubscribed {
            topic: "sports".to_owned(),
            unsubscribed: 3,
        };
        assert_eq!(
            serde_json::to_value(unsubscribed).ok(),
            Some(serde_json::json!({"topic": "sports", "unsubscribed": 3}))
        );
        let listed = TopicList { topics: Vec::new() };
        assert_eq!(
            serde_json::to_value(listed).ok(),
            Some(serde_json::json!({"topics": []}))
        );
    }
}
