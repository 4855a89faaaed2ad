//! Topic subscriptions: subscribing users (with or without devices),
//! listing a user's topics, unsubscribing; the request rules, the per-user
//! cap under concurrent requests, who may call, and what a deleted tenant
//! leaves behind.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use notify_shared::model::MAX_TOPICS_PER_USER;
use notify_shared::store::Subscription;
use notify_shared::Error;
use notify_tests::delivery::ios_token;
use notify_tests::faults::DynamoDbKeys;
use notify_tests::flows::{
    apns_tenant, assert_detail_names, assert_error, assert_nothing_left_of, delete_tenant, device,
    key_with, As, OwnedTenant, Topics,
};
use notify_tests::TestEnv;
use serde_json::json;

fn by_owner(t: &OwnedTenant) -> Topics<'_> {
    Topics::new(&t.env.app, As::User(&t.owner), &t.tenant_id)
}

/// The stored item at `sk` of the tenant's partition.
async fn stored(
    env: &TestEnv,
    tenant_id: &str,
    sk: &str,
) -> Option<HashMap<String, AttributeValue>> {
    env.dynamodb
        .get_item()
        .table_name(&env.table)
        .key("PK", AttributeValue::S(format!("TENANT#{tenant_id}")))
        .key("SK", AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|err| panic!("reading {sk}: {err}"))
        .item
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// Subscribes `user_id` to `topic-0..count` straight through the store.
async fn fill(env: &TestEnv, tenant_id: &str, user_id: &str, count: usize) {
    for n in 0..count {
        let outcome = env
            .app
            .store
            .subscribe_to_topic(tenant_id, &format!("topic-{n}"), user_id)
            .await;
        assert_eq!(outcome.ok(), Some(Subscription::Subscribed), "topic-{n}");
    }
}

#[tokio::test]
async fn users_are_subscribed_listed_and_unsubscribed() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    let answer = topics.subscribe_ok("sports", &["u1", "u2"]).await;
    assert_eq!(
        answer,
        json!({"topic": "sports", "subscribed": 2, "too_many_topics": []})
    );
    topics.subscribe_ok("news", &["u1"]).await;
    assert_eq!(topics.topics_of("u1").await, ["news", "sports"]);
    assert_eq!(topics.topics_of("u2").await, ["sports"]);

    let (status, answer) = topics.unsubscribe("sports", &["u1"]).await;
    assert_eq!(
        (status, answer),
        (200, json!({"topic": "sports", "unsubscribed": 1}))
    );
    assert_eq!(topics.topics_of("u1").await, ["news"]);
    assert_eq!(topics.topics_of("u2").await, ["sports"]);
    // Again, and for users never subscribed: nothing to do, no error.
    let (status, answer) = topics.unsubscribe("sports", &["u1", "nobody"]).await;
    assert_eq!(
        (status, answer),
        (200, json!({"topic": "sports", "unsubscribed": 2}))
    );
    topics.unsubscribe("news", &["u1"]).await;
    assert_eq!(topics.list("u1").await, (200, json!({"topics": []})));
    let dump = t.env.table_dump().await;
    assert!(!dump.contains("TOPIC#news#"), "{dump}");
    assert!(!dump.contains("TOPIC#sports#USER#u1"), "{dump}");
}

#[tokio::test]
async fn a_subscription_is_stored_as_the_item_a_topic_send_reads_and_kept_when_repeated() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    topics.subscribe_ok("sports", &["u1"]).await;
    let sk = "TOPIC#sports#USER#u1";
    let first = stored(&t.env, &t.tenant_id, sk).await.unwrap_or_default();
    assert_eq!(text(&first, "entity"), "topic_subscription");
    assert_eq!(text(&first, "user_id"), "u1");
    assert_eq!(text(&first, "topic"), "sports");
    let subscribed_at = text(&first, "subscribed_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&subscribed_at).is_ok(),
        "{subscribed_at:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = topics.subscribe_ok("sports", &["u1"]).await;
    assert_eq!(again["subscribed"], 1);
    let kept = stored(&t.env, &t.tenant_id, sk).await.unwrap_or_default();
    assert_eq!(text(&kept, "subscribed_at"), subscribed_at);
    assert_eq!(topics.topics_of("u1").await, ["sports"]);
}

#[tokio::test]
async fn a_user_without_devices_is_subscribed_and_listed_and_a_device_changes_nothing() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    assert_eq!(topics.list("ghost").await, (200, json!({"topics": []})));
    topics.subscribe_ok("sports", &["ghost"]).await;
    assert_eq!(topics.topics_of("ghost").await, ["sports"]);
    t.by_owner()
        .register_ok(device("ghost", &ios_token(1), "ios"))
        .await;
    assert_eq!(topics.topics_of("ghost").await, ["sports"]);
    topics.subscribe_ok("news", &["ghost"]).await;
    assert_eq!(topics.topics_of("ghost").await, ["news", "sports"]);
}

#[tokio::test]
async fn repeated_user_ids_are_counted_once() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    let answer = topics
        .subscribe_ok("sports", &["u1", "u1", "u2", "u1"])
        .await;
    assert_eq!(answer["subscribed"], 2);
    let (status, answer) = topics.unsubscribe("sports", &["u2", "u2"]).await;
    assert_eq!((status, &answer["unsubscribed"]), (200, &json!(1)));
    assert_eq!(topics.topics_of("u1").await, ["sports"]);
    assert!(topics.topics_of("u2").await.is_empty());
}

#[tokio::test]
async fn more_than_a_thousand_user_ids_none_or_an_invalid_one_are_refused_naming_the_field() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    let many: Vec<String> = (0..1001).map(|n| format!("u{n}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let long = "x".repeat(257);
    let refusals = [
        (json!({ "user_ids": many }), "`user_ids`"),
        (json!({"user_ids": []}), "`user_ids`"),
        (json!({}), "`user_ids`"),
        (json!({"user_ids": ["u1", long]}), "`user_ids[1]`"),
        (json!({"user_ids": ["u1", "a\u{7}b"]}), "`user_ids[1]`"),
        (json!({"user_ids": ["u1"], "topic": "x"}), "`topic`"),
    ];
    for (body, field) in refusals {
        for (status, answer) in [
            topics.subscribe_body("sports", body.clone()).await,
            topics.unsubscribe_body("sports", body.clone()).await,
        ] {
            assert_error((status, &answer), 400, "invalid_request");
            assert_detail_names(&answer, field);
        }
    }
    assert!(topics.topics_of("u1").await.is_empty());
    assert!(!t.env.table_dump().await.contains("TOPIC#"));
}

#[tokio::test]
async fn bad_topic_names_are_refused_naming_topic() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    let too_long = "a".repeat(101);
    // As a client sends them: `a/b` and `é` percent-encoded, or not.
    for topic in [
        "", &too_long, "a/b", "a%2Fb", "%C3%A9", "a%20b", "..", "%2E",
    ] {
        for (status, answer) in [
            topics.subscribe(topic, &["u1"]).await,
            topics.unsubscribe(topic, &["u1"]).await,
        ] {
            assert_error((status, &answer), 400, "invalid_request");
            assert_detail_names(&answer, "`topic`");
        }
    }
    assert!(!t.env.table_dump().await.contains("TOPIC#"));
    let longest = "a".repeat(100);
    for topic in [longest.as_str(), "News_2026.eu-west", "%41-b"] {
        topics.subscribe_ok(topic, &["u1"]).await;
    }
    assert_eq!(
        topics.topics_of("u1").await,
        ["A-b", "News_2026.eu-west", longest.as_str()]
    );
}

#[tokio::test]
async fn a_user_at_the_topic_cap_is_named_and_nothing_of_theirs_is_stored() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    fill(&t.env, &t.tenant_id, "u1", MAX_TOPICS_PER_USER).await;
    assert_eq!(topics.topics_of("u1").await.len(), MAX_TOPICS_PER_USER);

    let answer = topics.subscribe_ok("one-more", &["u1", "u2"]).await;
    assert_eq!(
        answer,
        json!({"topic": "one-more", "subscribed": 1, "too_many_topics": ["u1"]})
    );
    let listed = topics.topics_of("u1").await;
    assert_eq!(listed.len(), MAX_TOPICS_PER_USER);
    assert!(!listed.contains(&"one-more".to_owned()));
    assert!(stored(&t.env, &t.tenant_id, "TOPIC#one-more#USER#u1")
        .await
        .is_none());
    assert_eq!(topics.topics_of("u2").await, ["one-more"]);

    // A topic the user has already is fine at the cap.
    let again = topics.subscribe_ok("topic-7", &["u1"]).await;
    assert_eq!(
        again,
        json!({"topic": "topic-7", "subscribed": 1, "too_many_topics": []})
    );
    // One out, one in.
    topics.unsubscribe("topic-7", &["u1"]).await;
    let answer = topics.subscribe_ok("one-more", &["u1"]).await;
    assert_eq!(answer["too_many_topics"], json!([]));
    assert!(topics
        .topics_of("u1")
        .await
        .contains(&"one-more".to_owned()));
}

#[tokio::test]
async fn concurrent_subscriptions_of_one_user_stop_exactly_at_the_cap() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    fill(&t.env, &t.tenant_id, "u1", MAX_TOPICS_PER_USER - 2).await;
    let names: Vec<String> = (0..6).map(|n| format!("race-{n}")).collect();
    let answers =
        futures::future::join_all(names.iter().map(|name| topics.subscribe(name, &["u1"]))).await;
    let mut subscribed = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        subscribed += answer["subscribed"].as_u64().unwrap_or_default();
    }
    assert_eq!(subscribed, 2, "{answers:?}");
    let listed = topics.topics_of("u1").await;
    assert_eq!(listed.len(), MAX_TOPICS_PER_USER);
    let races = listed.iter().filter(|topic| topic.starts_with("race-"));
    assert_eq!(races.count(), 2);
}

#[tokio::test]
async fn an_api_key_without_the_devices_scope_is_forbidden_and_changes_nothing() {
    let t = OwnedTenant::new("acme").await;
    by_owner(&t).subscribe_ok("sports", &["u1"]).await;
    for scopes in [json!(["send"]), json!(["register"])] {
        let key = key_with(&t.env, &t.owner, &t.tenant_id, scopes).await;
        let by_key = Topics::new(&t.env.app, As::Key(&key), &t.tenant_id);
        for (status, answer) in [
            by_key.subscribe("sports", &["u2"]).await,
            by_key.unsubscribe("sports", &["u1"]).await,
            by_key.list("u1").await,
        ] {
            assert_error((status, &answer), 403, "forbidden");
            assert_detail_names(&answer, "`devices`");
        }
    }
    let topics = by_owner(&t);
    assert_eq!(topics.topics_of("u1").await, ["sports"]);
    assert!(topics.topics_of("u2").await.is_empty());

    let key = key_with(&t.env, &t.owner, &t.tenant_id, json!(["devices"])).await;
    let by_key = Topics::new(&t.env.app, As::Key(&key), &t.tenant_id);
    by_key.subscribe_ok("news", &["u2"]).await;
    assert_eq!(by_key.topics_of("u2").await, ["news"]);
}

#[tokio::test]
async fn another_tenants_key_is_forbidden_and_learns_nothing() {
    let acme = OwnedTenant::new("acme").await;
    by_owner(&acme).subscribe_ok("sports", &["u1"]).await;
    let (other, other_owner) = apns_tenant(&acme.env, "other").await;
    let key = key_with(&acme.env, &other_owner, &other, json!(["devices"])).await;
    let intruder = Topics::new(&acme.env.app, As::Key(&key), &acme.tenant_id);
    for (status, answer) in [
        intruder.subscribe("sports", &["u2"]).await,
        intruder.unsubscribe("sports", &["u1"]).await,
        intruder.list("u1").await,
    ] {
        assert_error((status, &answer), 403, "forbidden");
        assert!(!answer.to_string().contains("sports"), "{answer}");
    }
    assert_eq!(by_owner(&acme).topics_of("u1").await, ["sports"]);
    // On its own tenant, the key sees its own users only.
    let own = Topics::new(&acme.env.app, As::Key(&key), &other);
    assert_eq!(own.list("u1").await, (200, json!({"topics": []})));
}

#[tokio::test]
async fn a_user_outside_the_tenants_org_gets_not_found() {
    let t = OwnedTenant::new("acme").await;
    let stranger = t.env.user_token("stranger", &["elsewhere"]);
    let topics = Topics::new(&t.env.app, As::User(&stranger), &t.tenant_id);
    let (status, answer) = topics.subscribe("sports", &["u1"]).await;
    assert_error((status, &answer), 404, "not_found");
    let (status, _) = topics.list("u1").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_longest_user_id_and_topic_fit_dynamodbs_key_limits() {
    let t = OwnedTenant::new("acme").await;
    // DynamoDB refuses keys over 1024 bytes; the emulator does not.
    let app = t.env.app_with(DynamoDbKeys::default());
    let topics = Topics::new(&app, As::User(&t.owner), &t.tenant_id);
    let user_id = "\u{1F600}".repeat(256);
    let topic = "t".repeat(100);
    let answer = topics.subscribe_ok(&topic, &[&user_id]).await;
    assert_eq!(answer["subscribed"], 1);
    let in_path = percent_encoded(&user_id);
    let (status, listed) = topics.list(&in_path).await;
    assert_eq!((status, listed), (200, json!({"topics": [topic]})));
    let (status, _) = topics.unsubscribe(&topic, &[&user_id]).await;
    assert_eq!(status, 200);
    assert_eq!(topics.list(&in_path).await.1, json!({"topics": []}));
}

#[tokio::test]
async fn a_user_id_with_a_slash_or_a_percent_sign_cannot_be_named_in_the_path() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    topics.subscribe_ok("sports", &["a/b", "50%off"]).await;
    for in_path in ["a%2Fb", "50%25off", "a/b"] {
        let (status, answer) = topics.list(in_path).await;
        assert_error((status, &answer), 400, "invalid_request");
        assert_detail_names(&answer, "`user_id`");
    }
    // The users are subscribed all the same.
    let dump = t.env.table_dump().await;
    assert!(dump.contains("TOPIC#sports#USER#a/b"), "{dump}");
}

#[tokio::test]
async fn deleting_the_tenant_leaves_no_topic_item() {
    let t = OwnedTenant::new("acme").await;
    let topics = by_owner(&t);
    topics.subscribe_ok("sports", &["u1", "u2"]).await;
    topics.subscribe_ok("news", &["u1"]).await;
    topics.unsubscribe("news", &["u1"]).await;
    delete_tenant(&t.env, &t.owner, &t.tenant_id).await;
    let dump = assert_nothing_left_of(&t.env, &t.tenant_id).await;
    assert!(!dump.contains("TOPIC#"), "{dump}");
    assert!(!dump.contains("USER_TOPICS#"), "{dump}");
    // And nothing can be subscribed to it any more, even by a request
    // authorised before the deletion (its transaction checks the tenant).
    let (status, _) = topics.subscribe("sports", &["u3"]).await;
    assert_eq!(status, 404);
    let late = t
        .env
        .app
        .store
        .subscribe_to_topic(&t.tenant_id, "sports", "u3")
        .await;
    assert!(matches!(late, Err(Error::NotFound(_))), "{late:?}");
    assert_nothing_left_of(&t.env, &t.tenant_id).await;
}

/// Every byte as `%XX`, as a client escapes a path segment.
fn percent_encoded(text: &str) -> String {
    text.bytes().map(|byte| format!("%{byte:02X}")).collect()
}
