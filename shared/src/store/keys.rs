//! Every key layout of the table, in one place (the table of item kinds is
//! in the module docs of `store`): partition and sort keys, and the
//! prefixes that listings and the tenant purge recognise items by.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use super::key;

// Tenants.
pub(crate) const TENANT_SK: &str = "TENANT";
/// `GSI1SK` of tenants: `TENANT#{created_at}#{tenant_id}`.
pub(crate) const TENANT_INDEX_PREFIX: &str = "TENANT#";

pub(crate) fn tenant_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}")
}

pub(crate) fn tenant_key(tenant_id: &str) -> HashMap<String, AttributeValue> {
    key(tenant_pk(tenant_id), TENANT_SK)
}

pub(crate) fn org_partition(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub(crate) fn tenant_index_sk(created_at: &str, tenant_id: &str) -> String {
    format!("{TENANT_INDEX_PREFIX}{created_at}#{tenant_id}")
}

// API keys: the tenant's record, and the lookup item by the key's hash.
pub(crate) const KEY_RECORD_PREFIX: &str = "KEY#";
pub(crate) const KEY_LOOKUP_PREFIX: &str = "APIKEY#";
pub(crate) const KEY_LOOKUP_SK: &str = "APIKEY";

/// The sum of the tenant's keys' rate limits (see `key_rates.rs`).
pub(crate) const KEY_RATES_SK: &str = "KEY_RATES";
/// A deleted key, remembered while its usage is kept (its tenant's totals
/// still count it).
pub(crate) const RETIRED_KEY_PREFIX: &str = "RETIRED_KEY#";

pub(crate) fn key_record_sk(key_id: &str) -> String {
    format!("{KEY_RECORD_PREFIX}{key_id}")
}

pub(crate) fn key_lookup_pk(hash: &str) -> String {
    format!("{KEY_LOOKUP_PREFIX}{hash}")
}

// Devices, their users' index partitions and device counters.
pub(crate) const DEVICE_PREFIX: &str = "DEVICE#";
pub(crate) const COUNTER_PREFIX: &str = "USER_DEVICES#";
/// A user's count of live Live Activity and push-to-start tokens.
pub(crate) const ACTIVITY_COUNTER_PREFIX: &str = "USER_ACTIVITIES#";
/// The tenant's count of registered devices (its `devices` limit).
pub(crate) const TENANT_DEVICES_SK: &str = "TENANT_DEVICES";
/// Longest token kept verbatim in a sort key (1024 bytes with the prefix).
const MAX_TOKEN_IN_KEY: usize = 1000;

/// The sort key of a device and of its user index item. DynamoDB caps a
/// sort key at 1024 bytes while FCM tokens run to 4096 characters: a longer
/// token is keyed by its SHA-256 (callers check a token's format first, so
/// no valid token can look like such a key).
pub(crate) fn device_sk(token: &str) -> String {
    if token.len() <= MAX_TOKEN_IN_KEY {
        format!("{DEVICE_PREFIX}{token}")
    } else {
        format!(
            "{DEVICE_PREFIX}sha256:{}",
            hex::encode(Sha256::digest(token))
        )
    }
}

/// The partition of one user's index items.
pub(crate) fn user_pk(tenant_id: &str, user_id: &str) -> String {
    format!("TENANT#{tenant_id}#USER#{user_id}")
}

/// The sort key of a user's device counter in the tenant's partition. Hashed:
/// user ids run to 1024 bytes, and a hash cannot alias another user's key.
pub(crate) fn counter_sk(user_id: &str) -> String {
    format!("{COUNTER_PREFIX}{}", hex::encode(Sha256::digest(user_id)))
}

/// The sort key of a user's activity token counter, beside [`counter_sk`].
pub(crate) fn activity_counter_sk(user_id: &str) -> String {
    format!(
        "{ACTIVITY_COUNTER_PREFIX}{}",
        hex::encode(Sha256::digest(user_id))
    )
}

// Topics, in the tenant's partition (so the tenant purge finds them): one
// item per subscription, read in pages as a topic send's audience, and one
// item per subscribed user holding their topics (a string set, capped).
pub(crate) const TOPIC_PREFIX: &str = "TOPIC#";
pub(crate) const USER_TOPICS_PREFIX: &str = "USER_TOPICS#";
/// Longest user id kept verbatim in a subscription's sort key: with the
/// prefix and a topic of 100 characters the key stays under DynamoDB's
/// 1024 bytes, while a user id of 256 characters may take 1024 bytes.
const MAX_USER_IN_TOPIC_KEY: usize = 900;
/// Marks a hashed user id in a subscription's sort key. A control
/// character: no valid user id has one, so no verbatim id can alias a hash.
const HASHED_USER_MARK: char = '\u{1}';

/// The sort-key prefix of `topic`'s subscriptions, in user id order (hashed
/// user ids first: their mark sorts before any character). Read the user
/// from the item's `user_id`, never from the key.
pub(crate) fn topic_subscriptions_prefix(topic: &str) -> String {
    format!("{TOPIC_PREFIX}{topic}#USER#")
}

pub(crate) fn topic_subscription_sk(topic: &str, user_id: &str) -> String {
    let prefix = topic_subscriptions_prefix(topic);
    if user_id.len() <= MAX_USER_IN_TOPIC_KEY {
        format!("{prefix}{user_id}")
    } else {
        format!(
            "{prefix}{HASHED_USER_MARK}sha256:{}",
            hex::encode(Sha256::digest(user_id))
        )
    }
}

/// The item listing a user's topics. Hashed like [`counter_sk`].
pub(crate) fn user_topics_sk(user_id: &str) -> String {
    format!(
        "{USER_TOPICS_PREFIX}{}",
        hex::encode(Sha256::digest(user_id))
    )
}

// Bulk batches and their chunks' progress and markers.
pub(crate) fn batch_sk(batch_id: &str) -> String {
    format!("BATCH#{batch_id}")
}

pub(crate) fn chunk_sk(batch_id: &str, chunk: u32) -> String {
    format!("BATCH#{batch_id}#CHUNK#{chunk:05}")
}

/// A page of an audience batch's users, as read (topic, all users) or as
/// sent (a scheduled list): the source of that page's chunks.
pub(crate) fn audience_page_sk(batch_id: &str, page: u32) -> String {
    format!("BATCH#{batch_id}#PAGE#{page:06}")
}

/// The tenant's count of batches waiting for their `send_at` (its cap).
pub(crate) const SCHEDULED_BATCHES_SK: &str = "SCHEDULED_BATCHES";

/// The small item beside a page that the reader updates (counted, claimed,
/// enqueued): an update costs a write unit per KB of the whole item, and a
/// page of users runs to hundreds of KB.
pub(crate) fn audience_page_state_sk(batch_id: &str, page: u32) -> String {
    format!("{}#STATE", audience_page_sk(batch_id, page))
}

// Webhooks (see `webhooks.rs`).
pub(crate) const WEBHOOK_PREFIX: &str = "WEBHOOK#";
/// The tenant's count of webhooks (its cap).
pub(crate) const WEBHOOK_COUNT_SK: &str = "WEBHOOK_COUNT";

pub(crate) fn webhook_sk(webhook_id: &str) -> String {
    format!("{WEBHOOK_PREFIX}{webhook_id}")
}

/// The prefix of a webhook's delivery log, ordered by time.
pub(crate) fn webhook_attempts_prefix(webhook_id: &str) -> String {
    format!("WEBHOOK_DELIVERY#{webhook_id}#")
}

pub(crate) fn webhook_attempt_sk(
    webhook_id: &str,
    at_millis: u64,
    event_id: &str,
    attempt: u32,
) -> String {
    format!(
        "{}{at_millis:015}#{event_id}#{attempt:03}",
        webhook_attempts_prefix(webhook_id)
    )
}

/// An event already published to the tenant's webhooks.
pub(crate) fn webhook_marker_sk(event_id: &str) -> String {
    format!("WEBHOOK_EVENT#{event_id}")
}

/// A gate that lets an event through at most once a period.
pub(crate) fn webhook_gate_sk(gate: &str) -> String {
    format!("WEBHOOK_GATE#{gate}")
}

// Idempotency records: the key itself is never stored, only its SHA-256.
pub(crate) fn idempotency_sk(endpoint: &str, idempotency_key: &str) -> String {
    format!(
        "IDEMPOTENCY#{endpoint}#{}",
        hex::encode(Sha256::digest(idempotency_key))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_fit_are_their_own_sort_key_and_longer_ones_are_hashed() {
        let apns = "ab".repeat(32);
        assert_eq!(device_sk(&apns), format!("DEVICE#{apns}"));
        let fcm = "a".repeat(1000);
        assert_eq!(device_sk(&fcm).len(), 1007);
        let long = "a".repeat(4096);
        let hashed = device_sk(&long);
        assert!(hashed.starts_with("DEVICE#sha256:") && hashed.len() == 78);
        assert_ne!(hashed, device_sk(&"a".repeat(4095)));
    }

    #[test]
    fn subscription_keys_fit_dynamodbs_limit_and_hashed_ones_alias_no_user_id() {
        let topic = "t".repeat(100);
        let short = topic_subscription_sk(&topic, "u#1");
        assert_eq!(short, format!("TOPIC#{topic}#USER#u#1"));
        // 256 characters of 4 bytes each: the longest user id there is.
        let longest = "\u{1F600}".repeat(256);
        let hashed = topic_subscription_sk(&topic, &longest);
        assert!(hashed.len() <= 1024, "{} bytes", hashed.len());
        assert!(hashed.starts_with(&topic_subscriptions_prefix(&topic)));
        assert!(hashed.contains('\u{1}'));
        assert_ne!(
            hashed,
            topic_subscription_sk(&topic, &"\u{1F600}".repeat(255))
        );
        let fits = "a".repeat(MAX_USER_IN_TOPIC_KEY);
        assert!(topic_subscription_sk(&topic, &fits).len() <= 1024);
        assert!(topic_subscription_sk(&topic, &fits).ends_with(&fits));
    }

    #[test]
    fn user_partitions_cannot_meet_the_tenant_partition() {
        assert_eq!(
            user_pk("tnt_4fG7hK2mN9pQ3rS5tV8w", "u#1"),
            "TENANT#tnt_4fG7hK2mN9pQ3rS5tV8w#USER#u#1"
        );
        assert_ne!(user_pk("t", ""), tenant_pk("t"));
    }
}
