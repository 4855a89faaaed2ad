//! Topics: subscribing a tenant's users to a topic, unsubscribing them, and
//! listing one user's topics. Each user is one transaction of its own
//! (`store::topics`), a bounded number of them in flight.

use std::future::Future;

use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::model::device::validate_user_id;
use crate::model::topic::validate_topic;
use crate::model::{TopicList, TopicSubscribed, TopicSubscribersRequest, TopicUnsubscribed};
use crate::store::{Store, Subscription};

/// Users whose transactions are in flight at once: 1,000 users take about
/// 60 round trips, well within an API function's timeout, without one
/// request holding dozens of DynamoDB connections.
pub const USERS_IN_FLIGHT: usize = 16;

/// Subscribes the request's users to `topic`; those at the per-user cap
/// are named in `too_many_topics`, and the others are subscribed whatever
/// those are. 404 when the tenant is deleted meanwhile.
pub async fn subscribe(
    store: &Store,
    tenant_id: &str,
    topic: &str,
    request: TopicSubscribersRequest,
) -> Result<TopicSubscribed> {
    validate_topic(topic)?;
    let user_ids = request.distinct_user_ids()?;
    let outcomes = for_each_user(&user_ids, |user_id| {
        store.subscribe_to_topic(tenant_id, topic, user_id)
    })
    .await?;
    let too_many_topics: Vec<String> = user_ids
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| **outcome == Subscription::TooManyTopics)
        .map(|(user_id, _)| user_id.clone())
        .collect();
    let subscribed = count(user_ids.len().saturating_sub(too_many_topics.len()));
    tracing::info!(
        tenant_id,
        subscribed,
        too_many_topics = too_many_topics.len(),
        "users subscribed to topic"
    );
    Ok(TopicSubscribed {
        topic: topic.to_owned(),
        subscribed,
        too_many_topics,
    })
}

/// Unsubscribes the request's users from `topic`; a user who was not
/// subscribed is no error.
pub async fn unsubscribe(
    store: &Store,
    tenant_id: &str,
    topic: &str,
    request: TopicSubscribersRequest,
) -> Result<TopicUnsubscribed> {
    validate_topic(topic)?;
    let user_ids = request.distinct_user_ids()?;
    for_each_user(&user_ids, |user_id| {
        store.unsubscribe_from_topic(tenant_id, topic, user_id)
    })
    .await?;
    let unsubscribed = count(user_ids.len());
    tracing::info!(tenant_id, unsubscribed, "users unsubscribed from topic");
    Ok(TopicUnsubscribed {
        topic: topic.to_owned(),
        unsubscribed,
    })
}

/// The topics of the user named in the path, sorted.
pub async fn user_topics(store: &Store, tenant_id: &str, path_user_id: &str) -> Result<TopicList> {
    let user_id = checked_path_user_id(path_user_id)?;
    let mut topics = store.user_topics(tenant_id, user_id).await?;
    topics.sort_unstable();
    Ok(TopicList { topics })
}

/// The user of `.../users/{user_id}/topics`, decoded once by
/// [`crate::http::path_param`]. A user id with `/` cannot travel as a path
/// segment (API Gateway decodes `%2F` before routing and answers its own
/// 404), and one with `%` would be decoded twice behind API Gateway (a
/// literal `%41` read as `A`): both are refused on every router alike,
/// rather than answered for another user.
pub fn checked_path_user_id(user_id: &str) -> Result<&str> {
    validate_user_id(user_id)?;
    if user_id.contains(['/', '%']) {
        return Err(Error::invalid_request(
            "`user_id` in the path cannot contain `/` or `%` (API Gateway decodes the path \
             before routing, so such an id cannot be told apart from another)",
        ));
    }
    Ok(user_id)
}

/// `write` for each user, [`USERS_IN_FLIGHT`] at a time: the outcomes in
/// the users' order, or the first error (the users written by then stay
/// written; each write is idempotent, so the request may be sent again).
async fn for_each_user<'u, T, F, Fut>(user_ids: &'u [String], write: F) -> Result<Vec<T>>
where
    F: Fn(&'u str) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    // Built up front: a stream that maps borrowed ids lazily makes the
    // handler's future fail to be `Send` (a closure over a borrow).
    let writes: Vec<_> = user_ids
        .iter()
        .enumerate()
        .map(|(index, user_id)| {
            let written = write(user_id);
            async move { written.await.map(|outcome| (index, outcome)) }
        })
        .collect();
    let mut outcomes: Vec<(usize, T)> = futures::stream::iter(writes)
        .buffer_unordered(USERS_IN_FLIGHT)
        .try_collect()
        .await?;
    outcomes.sort_unstable_by_key(|(index, _)| *index);
    Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
}

fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_path_user_id_with_a_slash_or_a_percent_sign_is_refused_naming_user_id() {
        assert_eq!(checked_path_user_id("user-123").ok(), Some("user-123"));
        assert_eq!(checked_path_user_id("ü@x.com").ok(), Some("ü@x.com"));
        for bad in ["a/b", "a%41", "100%", "", "a\nb"] {
            let text = checked_path_user_id(bad)
                .err()
                .map(|err| err.to_string())
                .unwrap_or_default();
            assert!(text.contains("`user_id`"), "{bad:?}: {text}");
        }
    }

    fn users(count: usize) -> Vec<String> {
        (0..count).map(|n| format!("u{n}")).collect()
    }

    #[tokio::test]
    async fn outcomes_come_in_the_users_order_whatever_order_they_finish_in() {
        let user_ids = users(40);
        let outcomes = for_each_user(&user_ids, |user_id| async move {
            // Later users finish first.
            let n: u64 = user_id.trim_start_matches('u').parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(40 - n)).await;
            Ok(user_id.to_owned())
        })
        .await;
        assert_eq!(outcomes.ok(), Some(user_ids));
    }

    #[tokio::test]
    async fn a_failed_write_is_the_answer() {
        let user_ids = users(20);
        let outcome = for_each_user(&user_ids, |user_id| async move {
            if user_id == "u7" {
                Err(Error::invalid_request("u7"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(
            outcome.err().map(|err| err.to_string()),
            Some("u7".to_owned())
        );
    }

    #[tokio::test]
    async fn no_more_than_the_bound_of_writes_are_in_flight_at_once() {
        let user_ids = users(100);
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let outcome = for_each_user(&user_ids, |_| async {
            use std::sync::atomic::Ordering::SeqCst;
            let now = in_flight.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
            in_flight.fetch_sub(1, SeqCst);
            Ok(())
        })
        .await;
        assert_eq!(outcome.map(|done| done.len()).ok(), Some(100));
        assert_eq!(most.into_inner(), USERS_IN_FLIGHT);
    }
}
