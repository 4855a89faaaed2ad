//! How and when the keys are fetched: refetch on a new `kid`, spacing,
//! shared fetches, stale keys, and a provider that misbehaves.

use serde_json::json;

use super::*;
use crate::auth::oidc::MAX_BODY_BYTES;

#[tokio::test]
async fn a_kid_published_later_is_accepted_after_one_refetch() {
    let old = RsaKey::generate("old");
    let new = RsaKey::generate("new");
    let rig = Rig::with(&[old.jwk()], policy(400, 3_600_000), Duration::from_secs(5)).await;
    assert!(rig.verify(&old.sign(&claims(json!({})))).await.is_ok());
    assert_eq!(rig.jwks_requests(), 1);
    rig.provider
        .set(JWKS, Answer::json(&json!({"keys": [old.jwk(), new.jwk()]})));
    // Within the spacing the new key is not fetched...
    let token = new.sign(&claims(json!({})));
    assert!(rig.refusal(&token).await.contains("does not publish"));
    assert_eq!(rig.jwks_requests(), 1);
    // ...after it, one fetch finds it.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(rig.verify(&token).await.is_ok());
    assert_eq!(rig.jwks_requests(), 2);
    assert!(rig.verify(&token).await.is_ok());
    assert_eq!(rig.jwks_requests(), 2);
}

#[tokio::test]
async fn unknown_kids_cost_at_most_one_fetch_per_interval_even_when_concurrent() {
    let key = RsaKey::generate("r1");
    let rig = Rig::with(&[key.jwk()], policy(400, 3_600_000), Duration::from_secs(5)).await;
    assert!(rig.verify(&key.sign(&claims(json!({})))).await.is_ok());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let random = |n: usize| {
        key.sign_with_header(
            &json!({"alg": "RS256", "kid": format!("random-{n}")}),
            &claims(json!({})),
        )
    };
    let tokens: Vec<String> = (0..20).map(random).collect();
    let answers = futures::future::join_all(tokens.iter().map(|t| rig.verify(t))).await;
    assert!(answers.iter().all(|answer| answer
        .as_ref()
        .err()
        .is_some_and(|err| err.status().as_u16() == 401)));
    assert_eq!(rig.jwks_requests(), 2, "twenty unknown kids, one fetch");
    assert!(rig.refusal(&random(99)).await.contains("`kid`"));
    assert_eq!(
        rig.jwks_requests(),
        2,
        "a second unknown kid within the interval"
    );
}

#[test]
fn the_deployed_spacing_is_a_minute_and_keys_are_refreshed_hourly() {
    let policy = CachePolicy::default();
    assert_eq!(policy.min_interval, Duration::from_secs(60));
    assert_eq!(policy.max_age, Duration::from_secs(3600));
}

#[tokio::test]
async fn stale_keys_are_fetched_again_and_kept_when_the_provider_is_down() {
    let key = RsaKey::generate("r1");
    let rig = Rig::with(&[key.jwk()], policy(0, 200), Duration::from_secs(5)).await;
    let token = key.sign(&claims(json!({})));
    assert!(rig.verify(&token).await.is_ok());
    rig.provider.set(
        JWKS,
        Answer {
            status: 500,
            ..Answer::json(&json!({}))
        },
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        rig.verify(&token).await.is_ok(),
        "the stale key still verifies"
    );
    assert_eq!(rig.jwks_requests(), 2, "a stale key is refreshed on use");
}

#[tokio::test]
async fn no_key_and_an_unreachable_jwks_is_a_503() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    rig.provider.set(
        JWKS,
        Answer {
            status: 500,
            ..Answer::json(&json!({}))
        },
    );
    rig.unavailable(&key.sign(&claims(json!({})))).await;
}

#[tokio::test]
async fn a_jwks_over_the_size_cap_is_refused_with_a_503() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[]).await;
    let padding = "x".repeat(MAX_BODY_BYTES);
    rig.provider.set(
        JWKS,
        Answer::json(&json!({"keys": [key.jwk()], "padding": padding})),
    );
    rig.unavailable(&key.sign(&claims(json!({})))).await;
    assert_eq!(rig.jwks_requests(), 1);
}

#[tokio::test]
async fn a_jwks_slower_than_the_timeout_is_a_503() {
    let key = RsaKey::generate("r1");
    let rig = Rig::with(&[], CachePolicy::default(), Duration::from_millis(300)).await;
    rig.provider.set(
        JWKS,
        Answer {
            delay: Duration::from_secs(3),
            ..Answer::json(&json!({"keys": [key.jwk()]}))
        },
    );
    let started = std::time::Instant::now();
    rig.unavailable(&key.sign(&claims(json!({})))).await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[]).await;
    rig.provider
        .set("/moved.json", Answer::json(&json!({"keys": [key.jwk()]})));
    let location = format!("{}/moved.json", rig.provider.base);
    rig.provider.set(
        JWKS,
        Answer {
            status: 302,
            headers: vec![("Location", location)],
            ..Answer::json(&json!({}))
        },
    );
    rig.unavailable(&key.sign(&claims(json!({})))).await;
    assert_eq!(rig.provider.requests("/moved.json"), 0);
}

/// A verifier that discovers its JWKS from a stand-in issuer at the
/// provider's own (loopback) address.
async fn discovering(issuer_in_document: Option<&str>, key: &RsaKey) -> (Rig, String) {
    let provider = Provider::start().await;
    let issuer = format!("{}/pool", provider.base);
    provider.set(
        "/pool/.well-known/openid-configuration",
        Answer::json(&json!({
            "issuer": issuer_in_document.unwrap_or(&issuer),
            "jwks_uri": format!("{}{JWKS}", provider.base),
        })),
    );
    provider.set(JWKS, Answer::json(&json!({"keys": [key.jwk()]})));
    let settings = OidcSettings {
        issuer: issuer.clone(),
        audience: AUDIENCE.to_owned(),
        orgs_claim: "orgs".to_owned(),
        jwks_url: None,
    };
    let rig = Rig::from_settings(
        provider,
        settings,
        CachePolicy::default(),
        Duration::from_secs(5),
    );
    (rig, issuer)
}

#[tokio::test]
async fn discovery_finds_the_jwks_of_the_configured_issuer() {
    let key = RsaKey::generate("r1");
    let (rig, issuer) = discovering(None, &key).await;
    let token = key.sign(&claims(json!({"iss": issuer})));
    assert!(rig.verify(&token).await.is_ok());
    assert_eq!(rig.jwks_requests(), 1);
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_not_used() {
    let key = RsaKey::generate("r1");
    let (rig, issuer) = discovering(Some("https://evil.example.com"), &key).await;
    rig.unavailable(&key.sign(&claims(json!({"iss": issuer}))))
        .await;
    assert_eq!(rig.jwks_requests(), 0);
}
