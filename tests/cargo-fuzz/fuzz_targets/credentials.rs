//! Credentials from arbitrary bytes: API keys, user tokens, device tokens,
//! service-account JSON. Each is accepted or refused with a 4xx; none
//! panics, and no user token verifies without the signing secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notify_shared::auth::api_key;
use notify_shared::auth::user_token::verify_with_secret;
use notify_shared::config::{JwtRules, ProviderEndpoints};
use notify_shared::credentials::{parse_service_account, validate_apns_key};
use notify_shared::model::Platform;

const SECRET: &[u8] = b"fuzzing-signing-secret";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(parsed) = api_key::parse(text) {
        assert_eq!(parsed.hash, api_key::hash(text));
    }
    for rules in [
        JwtRules::default(),
        JwtRules {
            audience: Some("notify".to_owned()),
            issuer: Some("https://issuer.example".to_owned()),
        },
    ] {
        // Without the secret, nothing an attacker writes is a valid token.
        if let Err(err) = verify_with_secret(text, SECRET, &rules) {
            assert_eq!(err.status().as_u16(), 401);
        } else {
            panic!("an unsigned input verified as a user token");
        }
    }
    for platform in Platform::ALL {
        if let Err(err) = platform.normalize_token(text) {
            assert_eq!(err.status().as_u16(), 400);
        }
    }
    if let Err(err) = validate_apns_key("ABCDE12345", "KEY1234567", text) {
        assert_eq!(err.status().as_u16(), 400);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        for providers in [
            ProviderEndpoints::default(),
            ProviderEndpoints {
                oauth_token_url: Some("http://127.0.0.1:9100/token".to_owned()),
                ..ProviderEndpoints::default()
            },
        ] {
            if let Err(err) = parse_service_account(&value, &providers) {
                assert_eq!(err.status().as_u16(), 400);
            }
        }
    }
});
