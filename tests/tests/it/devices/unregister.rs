//! Listing and unregistering: the `user_id` parameter, unknown and
//! malformed tokens, and hashed-key aliases.

use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{assert_detail_names, assert_error, device, OwnedTenant};

use super::caps::device_count;

#[tokio::test]
async fn listing_and_unregistering_need_a_valid_user_id_parameter() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let long = "u".repeat(257);
    for user_id in [None, Some(""), Some(long.as_str()), Some("a\u{7}b")] {
        let (status, body) = by_owner.list(user_id).await;
        assert_eq!(status, 400, "{user_id:?}: {body}");
        assert_detail_names(&body, "`user_id`");
        let (status, body) = by_owner.unregister(&ios_token(1), user_id).await;
        assert_eq!(status, 400, "{user_id:?}: {body}");
        assert_detail_names(&body, "`user_id`");
    }
}

#[tokio::test]
async fn unregistering_an_unknown_device_is_not_found() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    for token in [ios_token(1), fcm_token(1)] {
        let (status, body) = by_owner.unregister(&token, Some("u1")).await;
        assert_error((status, &body), 404, "not_found");
    }
}

#[tokio::test]
async fn unregistering_a_token_no_platform_accepts_is_invalid_token_format() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    for token in ["not-a-token".to_owned(), "a".repeat(4097), "g".repeat(64)] {
        let (status, body) = by_owner.unregister(&token, Some("u1")).await;
        assert_error((status, &body), 400, "invalid_token_format");
        assert_detail_names(&body, "`token`");
    }
}

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn a_hashed_key_alias_cannot_unregister_a_long_fcm_token() {
    let acme = OwnedTenant::new("acme").await;
    let by_owner = acme.by_owner();
    let token = format!("f:{}", "aZ09_-".repeat(300));
    assert!(token.len() > 1000);
    by_owner
        .register_ok(device("victim", &token, "android"))
        .await;
    let alias = format!("sha256:{}", sha256_hex(&token));
    let (status, body) = by_owner.unregister(&alias, Some("victim")).await;
    assert_error((status, &body), 400, "invalid_token_format");
    assert_eq!(device_count(&by_owner, "victim").await, 1);
}
