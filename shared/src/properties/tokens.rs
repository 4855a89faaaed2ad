//! Device tokens: accepted exactly when the contract's format says so.

use proptest::prelude::*;

use crate::model::platform::{is_apns_token, is_fcm_token};
use crate::model::Platform;

/// The contract's rule, written independently of the code under test.
fn apns_rule(token: &str) -> bool {
    let len = token.len();
    (64..=200).contains(&len)
        && len.is_multiple_of(2)
        && token.chars().all(|c| c.is_ascii_hexdigit())
}

fn fcm_rule(token: &str) -> bool {
    let len = token.len();
    (100..=4096).contains(&len)
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
}

/// Tokens near the format: mostly hex or URL-safe, sometimes not, around
/// the length limits.
fn near_tokens() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F]{60,204}",
        "[0-9a-f]{62,66}[^0-9a-f]?",
        "[A-Za-z0-9_:-]{95,110}",
        "[A-Za-z0-9_:-]{4090,4100}",
        "[A-Za-z0-9_:+/=-]{98,130}",
        ".{0,300}",
    ]
}

proptest! {
    #[test]
    fn apns_and_fcm_tokens_are_accepted_exactly_by_the_contracts_rule(token in near_tokens()) {
        prop_assert_eq!(is_apns_token(&token), apns_rule(&token));
        prop_assert_eq!(is_fcm_token(&token), fcm_rule(&token));
        for platform in Platform::ALL {
            let accepted = platform.normalize_token(&token);
            match platform.provider() {
                crate::model::PushProvider::Apns => {
                    prop_assert_eq!(accepted.is_ok(), apns_rule(&token));
                    if let Ok(stored) = accepted {
                        prop_assert_eq!(stored, token.to_ascii_lowercase());
                    }
                }
                crate::model::PushProvider::Fcm => {
                    prop_assert_eq!(accepted.is_ok(), fcm_rule(&token));
                    if let Ok(stored) = accepted {
                        prop_assert_eq!(&stored, &token);
                    }
                }
                crate::model::PushProvider::WebPush => {
                    // Endpoints are URLs: none of these token shapes is one.
                    prop_assert_eq!(accepted.is_ok(), crate::model::platform::is_web_push_endpoint(&token));
                }
            }
        }
    }

    #[test]
    fn a_rejected_token_names_the_token_field(token in near_tokens()) {
        for platform in Platform::ALL {
            if let Err(err) = platform.normalize_token(&token) {
                prop_assert_eq!(err.code(), "invalid_token_format");
                prop_assert!(err.to_string().contains("`token`"));
            }
        }
    }
}
