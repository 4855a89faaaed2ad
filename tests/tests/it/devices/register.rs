//! Registering: the contract bodies, token formats per platform, and bad
//! bodies.

use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{assert_detail_names, assert_error, device, OwnedTenant};
use serde_json::{json, Value};

use super::is_rfc3339_utc_seconds;

#[tokio::test]
async fn a_user_registers_lists_and_unregisters_a_device_with_the_contract_bodies() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let token = ios_token(1);
    let (status, device) = by_owner
        .register(json!({"user_id": "user-123", "token": token, "platform": "ios", "app_version": "1.2.0"}))
        .await;
    assert_eq!(status, 200, "{device}");
    let created_at = device["created_at"].as_str().unwrap_or_default().to_owned();
    assert!(is_rfc3339_utc_seconds(&created_at), "{created_at}");
    assert_eq!(
        device,
        json!({"token": token, "user_id": "user-123", "platform": "ios", "token_type": "device",
               "app_version": "1.2.0", "created_at": created_at, "updated_at": created_at})
    );

    let (status, listed) = by_owner.list(Some("user-123")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed, json!({"devices": [device]}));

    let deleted = by_owner.unregister(&token, Some("user-123")).await;
    assert_eq!(deleted, (200, json!({"deleted": true})));
    let listed = by_owner.list(Some("user-123")).await;
    assert_eq!(listed, (200, json!({"devices": []})));
    assert!(
        !acme.env.table_dump().await.contains(&token),
        "device items left behind"
    );
}

#[tokio::test]
async fn a_null_app_version_is_accepted_as_the_mushu_cli_sends_it() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    for body in [
        json!({"user_id": "u1", "token": fcm_token(1), "platform": "android", "app_version": null}),
        device("u1", &fcm_token(2), "web"),
    ] {
        let (status, device) = by_owner.register(body).await;
        assert_eq!(status, 200, "{device}");
        assert_eq!(device["app_version"], Value::Null);
        assert!(device
            .as_object()
            .is_some_and(|o| o.contains_key("app_version")));
    }
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn registering_the_same_token_again_keeps_created_at_and_updates_the_rest() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let token = fcm_token(7);
    let body = |version: &str| json!({"user_id": "u1", "token": token, "platform": "android", "app_version": version});
    let (_, first) = by_owner.register(body("1.0.0")).await;
    // Timestamps have whole seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, second) = by_owner.register(body("2.0.0")).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["created_at"], first["created_at"]);
    assert!(second["updated_at"].as_str() > first["updated_at"].as_str());
    assert_eq!(second["app_version"], "2.0.0");
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed, json!({"devices": [second]}));
}

#[tokio::test]
async fn a_token_registered_by_another_user_moves_to_that_user() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let token = ios_token(9);
    for user in ["alice", "bob"] {
        let (status, device) = by_owner.register(device(user, &token, "ios")).await;
        assert_eq!((status, device["user_id"].as_str()), (200, Some(user)));
    }
    let (_, alice) = by_owner.list(Some("alice")).await;
    assert_eq!(alice, json!({"devices": []}));
    let (_, bob) = by_owner.list(Some("bob")).await;
    assert_eq!(bob["devices"][0]["token"], token.as_str());
    // Alice can no longer unregister it; Bob can.
    let (status, _) = by_owner.unregister(&token, Some("alice")).await;
    assert_eq!(status, 404);
    let (status, _) = by_owner.unregister(&token, Some("bob")).await;
    assert_eq!(status, 200);
    assert!(!acme.env.table_dump().await.contains(&token));
}

#[tokio::test]
async fn apns_tokens_are_stored_lowercase_and_found_in_either_case() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let upper = "ABCDEF0123456789".repeat(4);
    let lower = upper.to_ascii_lowercase();
    for platform in ["ios", "watchos", "macos"] {
        let (status, device) = by_owner.register(device("u1", &upper, platform)).await;
        assert_eq!(status, 200, "{device}");
        assert_eq!(device["token"], lower.as_str());
    }
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["devices"][0]["platform"], "macos");
    let dump = acme.env.table_dump().await;
    assert!(dump.contains(&lower) && !dump.contains(&upper));
    let (status, _) = by_owner.unregister(&upper, Some("u1")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn fcm_tokens_of_up_to_4096_characters_are_registered_listed_and_unregistered() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let token = format!("f:{}", "aZ09_-".repeat(682));
    assert_eq!(token.len(), 4094);
    let (status, device) = by_owner.register(device("u1", &token, "web")).await;
    assert_eq!(status, 200, "{device}");
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed["devices"][0]["token"], token.as_str());
    let (status, _) = by_owner.unregister(&token, Some("u1")).await;
    assert_eq!(status, 200);
    let (_, listed) = by_owner.list(Some("u1")).await;
    assert_eq!(listed, json!({"devices": []}));
}

#[tokio::test]
async fn every_invalid_token_format_is_rejected_as_invalid_token_format() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let hex = |n: usize| "a".repeat(n);
    let cases: Vec<(&str, String)> = vec![
        ("ios", String::new()),
        ("ios", hex(62)),
        ("ios", hex(63)),
        ("ios", hex(65)),
        ("ios", hex(202)),
        ("ios", "g".repeat(64)),
        ("ios", format!("{} ", hex(64))),
        ("ios", format!("<{}>", hex(64))),
        ("watchos", "0x".repeat(32)),
        ("macos", fcm_token(1)),
        ("android", hex(99)),
        ("android", hex(4097)),
        ("android", format!("{}+", hex(120))),
        ("android", format!("{}/", hex(120))),
        ("android", format!("{}é", hex(120))),
        ("web", format!("{} {}", hex(60), hex(60))),
        ("web", String::new()),
    ];
    for (platform, token) in &cases {
        let (status, body) = by_owner.register(device("u1", token, platform)).await;
        assert_eq!(status, 400, "{platform} {token}: {body}");
        assert_eq!(body["code"], "invalid_token_format", "{platform} {token}");
        assert_detail_names(&body, "`token`");
    }
    assert!(
        !acme.env.table_dump().await.contains("DEVICE#"),
        "nothing stored"
    );
}

#[tokio::test]
async fn an_unknown_platform_is_rejected_naming_platform() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    for platform in [json!("blackberry"), json!("IOS"), json!(""), json!(3)] {
        let body = json!({"user_id": "u1", "token": ios_token(1), "platform": platform});
        let (status, body) = by_owner.register(body).await;
        assert_error((status, &body), 400, "invalid_request");
        assert_detail_names(&body, "`platform`");
    }
}

#[tokio::test]
async fn bad_device_bodies_are_rejected_naming_the_problem_and_never_500() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let valid =
        json!({"user_id": "u1", "token": ios_token(1), "platform": "ios", "app_version": "1.0"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string().into_bytes()
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        if let Some(object) = body.as_object_mut() {
            object.remove(field);
        }
        body.to_string().into_bytes()
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{".to_vec(), 400, "malformed JSON"),
        (b"not json".to_vec(), 400, "JSON"),
        (b"[1]".to_vec(), 400, "must be a JSON object"),
        (b"".to_vec(), 400, "request body is required"),
        (b"null".to_vec(), 400, "must be a JSON object"),
        (with("user_id", json!(5)), 400, "`user_id`"),
        (with("user_id", json!("")), 400, "`user_id`"),
        (with("user_id", json!("u".repeat(257))), 400, "`user_id`"),
        (with("user_id", json!("line\nbreak")), 400, "`user_id`"),
        (with("token", json!(["a"])), 400, "`token`"),
        (with("app_version", json!(1.2)), 400, "`app_version`"),
        (
            with("app_version", json!("v".repeat(65))),
            400,
            "`app_version`",
        ),
        (
            with("device_name", json!("x")),
            400,
            "unknown field `device_name`",
        ),
        (without("user_id"), 400, "missing field `user_id`"),
        (without("token"), 400, "missing field `token`"),
        (without("platform"), 400, "missing field `platform`"),
        (vec![b' '; 1024 * 1024 + 1], 413, "1 MiB"),
    ];
    for (body, expected, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, answer) = by_owner.register_raw(body).await;
        assert_eq!(status, expected, "{shown}: {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "{shown}: {detail:?} should mention {needle:?}"
        );
    }
    assert!(
        !acme.env.table_dump().await.contains("DEVICE#"),
        "nothing stored"
    );
}
