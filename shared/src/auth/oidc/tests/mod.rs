//! The verifier end to end: tokens through `UserTokenVerifier::verify`
//! (the one entry point), keys served by a local stand-in provider.

mod fetching;
mod refusals;
mod server;

use std::time::Duration;

use serde_json::{json, Value};

use super::cache::CachePolicy;
use super::test_keys::{EcKey, RsaKey};
use super::OidcVerifier;
use crate::auth::user_token::UserClaims;
use crate::auth::UserTokenVerifier;
use crate::config::{FetchUrl, OidcSettings};
use crate::error::Error;
use server::{Answer, Provider};

const SECRET: &[u8] = b"the-deployment-signing-secret-for-tests";
const ISSUER: &str = "https://idp.example.com/pool";
const AUDIENCE: &str = "notify-client";
const JWKS: &str = "/keys.json";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for the issuer and audience, with `extra` on top (a
/// `null` removes a claim).
fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "exp": now() + 3600,
        "email": "u@example.com",
        "orgs": ["acme"],
    });
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (name, value) in extra {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

/// A provider serving `keys` at [`JWKS`], and a verifier configured with
/// that URL, fetching by `policy`.
struct Rig {
    provider: Provider,
    verifier: UserTokenVerifier,
}

impl Rig {
    async fn new(keys: &[Value]) -> Self {
        Self::with(keys, CachePolicy::default(), Duration::from_secs(5)).await
    }

    async fn with(keys: &[Value], policy: CachePolicy, timeout: Duration) -> Self {
        let provider = Provider::start().await;
        provider.set(JWKS, Answer::json(&json!({ "keys": keys })));
        let jwks_url = FetchUrl::parse(&format!("{}{JWKS}", provider.base)).ok();
        assert!(jwks_url.is_some());
        let settings = OidcSettings {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            orgs_claim: "orgs".to_owned(),
            jwks_url,
        };
        Self::from_settings(provider, settings, policy, timeout)
    }

    fn from_settings(
        provider: Provider,
        settings: OidcSettings,
        policy: CachePolicy,
        timeout: Duration,
    ) -> Self {
        let oidc = OidcVerifier::for_tests(settings, policy, timeout);
        Self {
            provider,
            verifier: UserTokenVerifier::for_tests(SECRET, Some(oidc)),
        }
    }

    async fn verify(&self, token: &str) -> Result<UserClaims, Error> {
        self.verifier.verify(token).await
    }

    /// The 401's detail; panics on acceptance or another status.
    async fn refusal(&self, token: &str) -> String {
        match self.verify(token).await {
            Ok(claims) => panic!("token accepted: {claims:?}"),
            Err(err) => {
                assert_eq!(err.status().as_u16(), 401, "{err}");
                assert_eq!(err.code(), "unauthorized");
                err.to_string()
            }
        }
    }

    /// Asserts a 503 (the provider's trouble, not the token's).
    async fn unavailable(&self, token: &str) {
        match self.verify(token).await {
            Ok(claims) => panic!("token accepted: {claims:?}"),
            Err(err) => {
                assert_eq!(err.status().as_u16(), 503, "{err}");
                assert_eq!(err.code(), "service_unavailable");
            }
        }
    }

    fn jwks_requests(&self) -> usize {
        self.provider.requests(JWKS)
    }
}

fn policy(min_interval_ms: u64, max_age_ms: u64) -> CachePolicy {
    CachePolicy {
        min_interval: Duration::from_millis(min_interval_ms),
        retry_when_empty: Duration::from_millis(min_interval_ms),
        max_age: Duration::from_millis(max_age_ms),
    }
}

#[tokio::test]
async fn an_rs256_token_of_the_issuer_verifies_to_its_claims() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let exp = now() + 600;
    let verified = rig.verify(&key.sign(&claims(json!({"exp": exp})))).await;
    assert_eq!(
        verified.ok(),
        Some(UserClaims {
            sub: "user-1".to_owned(),
            exp,
            orgs: vec!["acme".to_owned()],
            email: Some("u@example.com".to_owned()),
            iat: None,
        })
    );
}

#[tokio::test]
async fn an_es256_token_verifies_with_its_p256_key() {
    let rsa = RsaKey::generate("r1");
    let ec = EcKey::generate("e1");
    let rig = Rig::new(&[rsa.jwk(), ec.jwk()]).await;
    let verified = rig.verify(&ec.sign(&claims(json!({})))).await;
    assert_eq!(verified.ok().map(|c| c.sub), Some("user-1".to_owned()));
}

#[tokio::test]
async fn an_hs256_token_of_the_signing_secret_still_verifies_beside_oidc() {
    let rig = Rig::new(&[RsaKey::generate("r1").jwk()]).await;
    let claims = UserClaims {
        sub: "user-2".to_owned(),
        exp: now() + 600,
        orgs: vec!["beta".to_owned()],
        email: None,
        iat: None,
    };
    let token = crate::auth::user_token::mint(&claims, SECRET).unwrap_or_default();
    assert_eq!(rig.verify(&token).await.ok(), Some(claims));
    assert_eq!(
        rig.jwks_requests(),
        0,
        "an HS256 token never reads the JWKS"
    );
}

#[tokio::test]
async fn orgs_come_from_the_configured_claim_as_array_or_comma_string_or_not_at_all() {
    let key = RsaKey::generate("r1");
    let rig = Rig::new(&[key.jwk()]).await;
    let orgs_of = |orgs: Value| key.sign(&claims(json!({ "orgs": orgs })));
    let verified = rig.verify(&orgs_of(json!(["acme", "beta"]))).await;
    assert_eq!(
        verified.ok().map(|c| c.orgs),
        Some(vec!["acme".to_owned(), "beta".to_owned()])
    );
    let verified = rig.verify(&orgs_of(json!("acme, beta ,"))).await;
    assert_eq!(
        verified.ok().map(|c| c.orgs),
        Some(vec!["acme".to_owned(), "beta".to_owned()])
    );
    let missing = key.sign(&claims(json!({"orgs": null})));
    let verified = rig.verify(&missing).await.ok();
    assert_eq!(verified.as_ref().map(|c| c.orgs.len()), Some(0));
    assert_eq!(
        verified.map(|c| c.all_orgs()),
        Some(vec!["user-1".to_owned()])
    );
    let detail = rig.refusal(&orgs_of(json!(42))).await;
    assert_eq!(
        detail,
        "user token's `orgs` claim must be a string or an array of strings"
    );
}
