//! Credentials: a key or token that is not exactly what we issued is refused.

use proptest::prelude::*;
use secrecy::ExposeSecret;

use crate::auth::api_key;
use crate::auth::user_token::{mint, verify_with_secret, UserClaims};
use crate::config::JwtRules;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET: &[u8] = b"property-test-signing-secret";

fn claims() -> UserClaims {
    UserClaims {
        sub: "user-1".to_owned(),
        exp: chrono::Utc::now().timestamp() + 3600,
        orgs: vec!["acme".to_owned()],
        email: Some("u@example.com".to_owned()),
        iat: None,
    }
}

proptest! {
    #[test]
    fn every_single_character_change_of_an_api_key_is_detected(
        position in 0usize..45,
        replacement in proptest::sample::select(BASE62.to_vec()),
        other in any::<char>(),
        use_other in any::<bool>(),
    ) {
        let key = api_key::generate();
        let plain = key.plain.expose_secret().to_owned();
        prop_assert!(api_key::parse(&plain).is_some());
        let position = position % plain.len();
        let original = plain.as_bytes()[position] as char;
        let new = if use_other { other } else { char::from(replacement) };
        prop_assume!(new != original);
        let mut changed: String = plain.chars().take(position).collect();
        changed.push(new);
        changed.extend(plain.chars().skip(position + 1));
        prop_assert!(api_key::parse(&changed).is_none(), "accepted {changed}");
    }

    #[test]
    fn any_mutation_of_a_user_token_is_rejected(
        part in 0usize..3,
        position in any::<prop::sample::Index>(),
        replacement in proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ ".to_vec()
        ),
    ) {
        let token = mint(&claims(), SECRET).unwrap_or_default();
        let rules = JwtRules::default();
        prop_assert!(verify_with_secret(&token, SECRET, &rules).is_ok());
        let parts: Vec<&str> = token.split('.').collect();
        prop_assert_eq!(parts.len(), 3);
        let target = parts[part];
        prop_assume!(!target.is_empty());
        let at = position.index(target.len());
        let new = char::from(replacement);
        prop_assume!(target.as_bytes()[at] as char != new);
        // The last base64url character of a part may carry unused bits:
        // changing only those leaves the decoded bytes, and the token, the same.
        prop_assume!(at + 1 != target.len());
        let mut mutated_part: String = target.chars().take(at).collect();
        mutated_part.push(new);
        mutated_part.extend(target.chars().skip(at + 1));
        let mut mutated = parts.clone();
        mutated[part] = &mutated_part;
        let mutated = mutated.join(".");
        let verdict = verify_with_secret(&mutated, SECRET, &rules);
        prop_assert!(verdict.is_err(), "accepted a mutated token: {mutated}");
        if let Err(err) = verdict {
            prop_assert_eq!(err.status().as_u16(), 401);
        }
    }
}
