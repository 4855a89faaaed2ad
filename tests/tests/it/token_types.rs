//! Apple's tokens of their own kind: VoIP (PushKit), location-push,
//! push-to-talk and widget tokens are registered with their `token_type`,
//! and a send of that push type reaches only them, as Live Activity tokens
//! already work; and an ended activity's expiry is one DynamoDB's TTL acts on.

use notify_tests::delivery::{fcm_token, ios_token};
use serde_json::{json, Value};

use crate::apns_push_types::{now, setup, stored_expiry, tokens_of, TypedSends};

#[tokio::test]
async fn a_voip_location_push_to_talk_or_widget_send_reaches_only_tokens_of_its_kind() {
    let s = setup().await;
    s.register_typed("u", &ios_token(1), "ios", "device").await;
    s.register_typed("u", &fcm_token(2), "android", "device")
        .await;
    let kinds = ["voip", "location", "pushtotalk", "widgets"];
    for (n, kind) in kinds.iter().enumerate() {
        s.register_typed("u", &ios_token(10 + n), "ios", kind).await;
    }
    let listed: Vec<Value> = s.devices("u").await;
    assert_eq!(listed.len(), 6, "{listed:?}");

    for (n, kind) in kinds.iter().enumerate() {
        let (answer, deliveries) = s
            .send_ok(json!({"user_id": "u", "push_type": kind, "data": {"k": "v"}}))
            .await;
        assert_eq!(
            tokens_of(&deliveries),
            [ios_token(10 + n)],
            "{kind}: {answer}"
        );
        assert_eq!(deliveries[0]["push_type"], *kind);
        assert_eq!(answer["delivered"], 1, "{answer}");
    }
    // Alerts and background pushes reach the device tokens only.
    let (_, alert) = s
        .send_ok(json!({"user_id": "u", "alert": {"title": "Hi"}}))
        .await;
    let mut expected = vec![ios_token(1), fcm_token(2)];
    expected.sort();
    assert_eq!(tokens_of(&alert), expected);
    let (_, background) = s
        .send_ok(json!({"user_id": "u", "content_available": true}))
        .await;
    assert_eq!(tokens_of(&background), expected);
}

#[tokio::test]
async fn apple_token_kinds_are_refused_for_other_platforms_naming_token_type() {
    let s = setup().await;
    let (status, body) = crate::apns_push_types::register_as(
        &s.env,
        &s.owner,
        &s.tenant_id,
        json!({"user_id": "u", "token": fcm_token(1), "platform": "android", "token_type": "voip"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`token_type`"));
}

#[tokio::test]
async fn an_activity_ended_with_dismissal_date_zero_gets_an_expiry_dynamodb_ttl_acts_on() {
    let s = setup().await;
    let activity = ios_token(3);
    s.register_typed("fan", &activity, "ios", "liveactivity")
        .await;
    let before = now();
    let (_, end) = s
        .send_ok(json!({"user_id": "fan",
                        "live_activity": {"event": "end", "timestamp": 1_700_000_100,
                                          "content_state": {"home": 3, "away": 1},
                                          "dismissal_date": 0}}))
        .await;
    assert_eq!(tokens_of(&end), std::slice::from_ref(&activity));
    // TTL skips items whose expiry is more than five years in the past.
    let stored = stored_expiry(&s.env, &s.tenant_id, &activity).await;
    assert!(
        stored.is_some_and(|at| (before..=now()).contains(&at)),
        "stored expires_at {stored:?}, now {before}"
    );
    assert!(s.devices("fan").await.is_empty());
}
