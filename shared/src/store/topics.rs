//! Topic subscriptions. Each subscription is two writes in one transaction,
//! both in the tenant's partition (so the tenant purge finds them):
//!
//! - the subscription: SK `TOPIC#{topic}#USER#{user}` (see
//!   `keys::topic_subscription_sk`), `entity = "topic_subscription"`,
//!   `user_id`, `topic`, `subscribed_at`: a topic's subscribers are one
//!   prefix query, read in pages as a send's audience;
//! - the user's topics: SK `USER_TOPICS#{sha256 of user}`,
//!   `entity = "user_topics"`, `user_id`, `topics` (a string set): a user's
//!   topics are one read, and the set's size is the per-user cap, checked
//!   by the transaction's own condition, so it holds exactly under
//!   concurrent subscriptions.
//!
//! Unsubscribing deletes the subscription and takes the topic out of the
//! set; a set emptied so loses its attribute (DynamoDB keeps no empty set)
//! and the item stays, holding only `user_id`: a user who unsubscribes from
//! their last topic most likely subscribes again, and removing it would
//! cost a second transaction whenever a set might be emptied.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::keys::{topic_subscription_sk, user_topics_sk};
use super::ops::{decode, delete_item, encode, live_tenant_check, update_item};
use super::{key, n, s, tenant_pk, Store};
use crate::clock::now_rfc3339;
use crate::error::Result;
use crate::model::MAX_TOPICS_PER_USER;

/// What subscribing one user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// Subscribed now, or already before (its `subscribed_at` kept).
    Subscribed,
    /// Refused: the user has [`MAX_TOPICS_PER_USER`] other topics.
    TooManyTopics,
}

/// A subscription item as stored.
#[derive(Serialize)]
struct SubscriptionItem<'a> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: &'static str,
    user_id: &'a str,
    topic: &'a str,
    subscribed_at: String,
}

/// A user's topics item, as read.
#[derive(Deserialize)]
struct UserTopicsItem {
    /// Absent once the user's last topic was taken out.
    #[serde(default)]
    topics: Vec<String>,
}

/// Where the subscription's items sit in its transaction (the tenant check
/// first, as `transact_for_tenant` expects).
const USER_TOPICS_AT: usize = 1;
const SUBSCRIPTION_AT: usize = 2;

impl Store {
    /// Subscribes `user_id` to `topic`, unless the user already has
    /// [`MAX_TOPICS_PER_USER`] other topics. Subscribing again keeps the
    /// first subscription. Atomic with the tenant's existence: nothing is
    /// written for a tenant deleted meanwhile (`NotFound`).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, topic = %topic))]
    pub async fn subscribe_to_topic(
        &self,
        tenant_id: &str,
        topic: &str,
        user_id: &str,
    ) -> Result<Subscription> {
        let items = vec![
            live_tenant_check(&self.table, tenant_id)?,
            self.add_user_topic(tenant_id, topic, user_id)?,
            self.put_subscription(tenant_id, topic, user_id)?,
        ];
        // No request token: a retried transaction that had landed finds its
        // subscription there, which is the answer it wanted.
        match self
            .transact_for_tenant(items, None, "subscribing to topic")
            .await?
        {
            Ok(()) => Ok(Subscription::Subscribed),
            // Subscribed before: the set holds the topic too.
            Err(cancelled) if cancelled.condition_failed(SUBSCRIPTION_AT) => {
                Ok(Subscription::Subscribed)
            }
            Err(cancelled) if cancelled.condition_failed(USER_TOPICS_AT) => {
                tracing::info!(
                    cap = MAX_TOPICS_PER_USER,
                    "subscription refused: the user is at the topic cap"
                );
                Ok(Subscription::TooManyTopics)
            }
            Err(cancelled) => Err(cancelled.into_error("subscribing to topic")),
        }
    }

    /// Unsubscribes `user_id` from `topic`; nothing to do when the user is
    /// not subscribed.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id, topic = %topic))]
    pub async fn unsubscribe_from_topic(
        &self,
        tenant_id: &str,
        topic: &str,
        user_id: &str,
    ) -> Result<()> {
        // Only while the set holds the topic: an unsubscription never
        // creates an item, so none can outlive the tenant's purge.
        let remove = self
            .tx_update(key(tenant_pk(tenant_id), user_topics_sk(user_id)))
            .update_expression("DELETE topics :topics")
            .condition_expression("contains(topics, :topic)")
            .expression_attribute_values(":topics", topic_set(topic))
            .expression_attribute_values(":topic", s(topic));
        let subscription = key(tenant_pk(tenant_id), topic_subscription_sk(topic, user_id));
        let items = vec![
            update_item(remove)?,
            delete_item(self.tx_delete(subscription))?,
        ];
        match self
            .transact(items, None, "unsubscribing from topic")
            .await?
        {
            Ok(()) => Ok(()),
            // Not subscribed (or unsubscribed by a concurrent request).
            Err(cancelled) if cancelled.condition_failed(0) => Ok(()),
            Err(cancelled) => Err(cancelled.into_error("unsubscribing from topic")),
        }
    }

    /// The topics `user_id` is subscribed to, strongly consistent, in no
    /// particular order; none for a user who never subscribed.
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
    pub async fn user_topics(&self, tenant_id: &str, user_id: &str) -> Result<Vec<String>> {
        let item = self
            .get_consistent(
                key(tenant_pk(tenant_id), user_topics_sk(user_id)),
                "reading user topics",
            )
            .await?;
        match item {
            None => Ok(Vec::new()),
            Some(item) => Ok(decode::<UserTopicsItem>(item, "decoding user topics")?.topics),
        }
    }

    /// Adds `topic` to the user's set (creating it), on condition that the
    /// set is under the cap or holds the topic already.
    fn add_user_topic(
        &self,
        tenant_id: &str,
        topic: &str,
        user_id: &str,
    ) -> Result<TransactWriteItem> {
        let add = self
            .tx_update(key(tenant_pk(tenant_id), user_topics_sk(user_id)))
            .update_expression("ADD topics :topics SET user_id = :user, entity = :entity")
            .condition_expression(
                "attribute_not_exists(topics) OR size(topics) < :cap OR contains(topics, :topic)",
            )
            .expression_attribute_values(":topics", topic_set(topic))
            .expression_attribute_values(":topic", s(topic))
            .expression_attribute_values(":user", s(user_id))
            .expression_attribute_values(":entity", s("user_topics"))
            .expression_attribute_values(":cap", n(MAX_TOPICS_PER_USER));
        update_item(add)
    }

    /// Writes the subscription item unless it exists (keeping the first
    /// `subscribed_at`).
    fn put_subscription(
        &self,
        tenant_id: &str,
        topic: &str,
        user_id: &str,
    ) -> Result<TransactWriteItem> {
        let item = encode(
            SubscriptionItem {
                pk: tenant_pk(tenant_id),
                sk: topic_subscription_sk(topic, user_id),
                entity: "topic_subscription",
                user_id,
                topic,
                subscribed_at: now_rfc3339(),
            },
            "encoding topic subscription",
        )?;
        self.tx_put_new(item)
    }
}

/// `{topic}` as the string set `ADD` and `DELETE` take.
fn topic_set(topic: &str) -> AttributeValue {
    AttributeValue::Ss(vec![topic.to_owned()])
}
