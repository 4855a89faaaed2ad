//! Every token the verifier must refuse, and what the 401 says.

use base64::Engine as _;
use serde_json::json;

use super::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let rig = Rig::new(&[RsaKey::generate("r1").jwk()]).await;
    let header = b64(br#"{"alg":"none","typ":"JWT","kid":"r1"}"#);
    let body = b64(claims(json!({})).to_string().as_bytes());
    for token in [format!("{header}.{body}."), format!("{header}.{body}.c2ln")] {
        let detail = rig.refusal(&token).await;
        assert_eq!(
            detail,
            "user token must be signed with HS256, RS256 or ES256 (`alg`)"
        );
    }
}

#[tokio::test]
async fn algorithms_other_than_hs256_rs256_and_es256_are_refused() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    for alg in ["HS384", "RS384", "PS256", "ES384", "EdDSA", "rs256"] {
        let token = key.sign_with_header(&json!({"alg": alg, "kid": "r1"}), &claims(json!({})));
        assert!(rig.refusal(&token).await.contains("`alg`"), "{alg}");
    }
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_rsa_public_key_is_refused() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let pem = key.public_pem().into_bytes();
    for secret in [pem, key.public_der()] {
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header {
                kid: Some("r1".to_owned()),
                ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
            },
            &claims(json!({})),
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap_or_default();
        assert_eq!(rig.refusal(&token).await, "user token signature is invalid");
    }
    assert_eq!(rig.jwks_requests(), 0);
}

#[tokio::test]
async fn an_rs256_token_naming_an_ec_key_and_an_es256_token_naming_an_rsa_key_are_refused() {
    let rsa = RsaKey::generate("r1");
    let ec = EcKey::generate("e1");
    let rig = Rig::new(&[rsa.jwk(), ec.jwk()]).await;
    let rs256_on_ec =
        rsa.sign_with_header(&json!({"alg": "RS256", "kid": "e1"}), &claims(json!({})));
    let es256_on_rsa =
        ec.sign_with_header(&json!({"alg": "ES256", "kid": "r1"}), &claims(json!({})));
    for token in [rs256_on_ec, es256_on_rsa] {
        assert_eq!(
            rig.refusal(&token).await,
            "user token's `kid` names a key of another type than its `alg`"
        );
    }
}

#[tokio::test]
async fn a_token_whose_kid_names_a_key_that_did_not_sign_it_is_refused() {
    let published = RsaKey::generate("r1");
    let other = RsaKey::generate("r1");
    let rig = Rig::new(&[published.jwk()]).await;
    let detail = rig.refusal(&other.sign(&claims(json!({})))).await;
    assert_eq!(detail, "user token signature is invalid");
}

#[tokio::test]
async fn a_token_without_a_kid_is_refused() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let token = key.sign_with_header(&json!({"alg": "RS256"}), &claims(json!({})));
    assert_eq!(
        rig.refusal(&token).await,
        "user token's header names no signing key (`kid`)"
    );
}

#[tokio::test]
async fn keys_named_by_the_token_header_are_never_fetched() {
    let published = RsaKey::generate("r1");
    let attacker = RsaKey::generate("evil");
    let rig = Rig::new(&[published.jwk()]).await;
    rig.provider.set(
        "/evil.json",
        Answer::json(&json!({"keys": [attacker.jwk()]})),
    );
    let header = json!({
        "alg": "RS256",
        "kid": "evil",
        "jku": format!("{}/evil.json", rig.provider.base),
        "x5u": format!("{}/evil.json", rig.provider.base),
        "jwk": attacker.jwk(),
    });
    let token = attacker.sign_with_header(&header, &claims(json!({})));
    assert!(rig.refusal(&token).await.contains("`kid`"));
    assert_eq!(rig.provider.requests("/evil.json"), 0);
}

#[tokio::test]
async fn a_token_of_another_issuer_or_for_another_audience_is_refused() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let cases = [
        (json!({"iss": "https://evil.example.com"}), "`iss`"),
        (json!({"iss": [ISSUER]}), "`iss`"),
        (json!({"iss": null}), "required"),
        (json!({"aud": "another-client"}), "`aud`"),
        (json!({"aud": ["a", "b"]}), "`aud`"),
        (json!({"aud": null}), "`aud`"),
    ];
    for (extra, expected) in cases {
        let detail = rig.refusal(&key.sign(&claims(extra.clone()))).await;
        assert!(detail.contains(expected), "{extra}: {detail}");
    }
}

#[tokio::test]
async fn a_cognito_access_token_passes_by_its_client_id_and_no_other() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let access = |client_id: &str| {
        key.sign(&claims(
            json!({"aud": null, "client_id": client_id, "token_use": "access"}),
        ))
    };
    assert!(rig.verify(&access(AUDIENCE)).await.is_ok());
    assert!(rig
        .refusal(&access("another-client"))
        .await
        .contains("`client_id`"));
}

#[tokio::test]
async fn expiry_is_judged_with_sixty_seconds_of_leeway() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let expired_by = |secs: i64| key.sign(&claims(json!({"exp": now() - secs})));
    assert!(rig.verify(&expired_by(30)).await.is_ok());
    assert_eq!(
        rig.refusal(&expired_by(120)).await,
        "user token has expired"
    );
    let no_exp = key.sign(&claims(json!({"exp": null})));
    assert!(rig.refusal(&no_exp).await.contains("required"));
}

#[tokio::test]
async fn a_token_not_valid_before_a_future_time_is_refused() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let from = |offset: i64| key.sign(&claims(json!({"nbf": now() + offset})));
    assert_eq!(
        rig.refusal(&from(300)).await,
        "user token is not valid yet (its `nbf` is in the future)"
    );
    assert!(rig.verify(&from(30)).await.is_ok());
}

#[tokio::test]
async fn an_identity_provider_token_is_refused_when_none_is_configured() {
    let key = RsaKey::generate("r1");
    let verifier = UserTokenVerifier::for_tests(SECRET, None);
    let detail = verifier
        .verify(&key.sign(&claims(json!({}))))
        .await
        .err()
        .map(|err| (err.status().as_u16(), err.to_string()));
    assert_eq!(
        detail,
        Some((
            401,
            "user tokens from an identity provider are not accepted by this deployment".to_owned()
        ))
    );
}
