//! User tokens: HS256 JWTs signed with a secret held in Secrets Manager
//! (tokens of an identity provider are `oidc`'s; `verifier` dispatches).
//!
//! The secret is read once per container and then re-read at most every few
//! minutes, so a rotated secret takes effect without a redeploy. Optional
//! rules from the environment (`NOTIFY_JWT_AUDIENCE`, `NOTIFY_JWT_ISSUER`,
//! see [`JwtRules`]) bind tokens to this service.

use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::config::JwtRules;
use crate::error::{Error, Result};
use crate::secrets::Secrets;

const SECRET_REFRESH: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

impl UserClaims {
    /// A user belongs to the orgs of its token plus a personal org named after `sub`.
    pub fn belongs_to(&self, org_id: &str) -> bool {
        self.sub == org_id || self.orgs.iter().any(|org| org == org_id)
    }

    /// Every org of the user, the personal one first, without repeats.
    pub fn all_orgs(&self) -> Vec<String> {
        let mut orgs = vec![self.sub.clone()];
        for org in &self.orgs {
            if !orgs.contains(org) {
                orgs.push(org.clone());
            }
        }
        orgs
    }
}

/// Checks HS256 user tokens against the signing secret (cached per
/// container, in a type that `Debug` and `tracing` cannot print) and the
/// configured rules.
pub struct SecretVerifier {
    secrets: Secrets,
    secret_id: String,
    rules: JwtRules,
    cached: Mutex<Option<(Instant, SecretSlice<u8>)>>,
}

impl SecretVerifier {
    pub fn new(secrets: Secrets, secret_id: impl Into<String>, rules: JwtRules) -> Self {
        Self {
            secrets,
            secret_id: secret_id.into(),
            rules,
            cached: Mutex::new(None),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<UserClaims> {
        let secret = self.signing_secret().await?;
        verify_with_secret(token, secret.expose_secret(), &self.rules)
    }

    async fn signing_secret(&self) -> Result<SecretSlice<u8>> {
        let mut cached = self.cached.lock().await;
        if let Some((loaded_at, secret)) = cached.as_ref() {
            if loaded_at.elapsed() < SECRET_REFRESH {
                return Ok(secret.clone());
            }
        }
        let secret = SecretSlice::from(
            self.secrets
                .secret_string(&self.secret_id)
                .await?
                .into_bytes(),
        );
        *cached = Some((Instant::now(), secret.clone()));
        Ok(secret)
    }

    /// A verifier holding `secret` already: no Secrets Manager call.
    #[cfg(test)]
    pub fn with_secret(secrets: Secrets, secret: &[u8], rules: JwtRules) -> Self {
        let verifier = Self::new(secrets, "preloaded", rules);
        if let Ok(mut cached) = verifier.cached.try_lock() {
            *cached = Some((Instant::now(), SecretSlice::from(secret.to_vec())));
        }
        verifier
    }
}

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The registered claims checked here beyond what `jsonwebtoken` checks.
#[derive(Deserialize)]
struct TokenClaims {
    #[serde(flatten)]
    user: UserClaims,
    #[serde(default)]
    iss: Option<serde_json::Value>,
}

/// Verifies an HS256 token: signature, `exp` and `sub` required, `nbf`
/// honoured when present (both with [`LEEWAY_SECS`]), `aud` and `iss` per
/// `rules`.
pub fn verify_with_secret(token: &str, secret: &[u8], rules: &JwtRules) -> Result<UserClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    let mut required = vec!["exp", "sub"];
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    // Without an audience configured, `jsonwebtoken` refuses any token that
    // carries `aud`; with one, the token's `aud` must name it.
    validation.validate_aud = true;
    if let Some(audience) = &rules.audience {
        validation.set_audience(&[audience]);
        required.push("aud");
    }
    if rules.issuer.is_some() {
        required.push("iss");
    }
    validation.set_required_spec_claims(&required);
    let data =
        jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|err| {
                Error::Unauthorized(
                    match err.kind() {
                        ErrorKind::ExpiredSignature => "user token has expired",
                        ErrorKind::ImmatureSignature => {
                            "user token is not valid yet (its `nbf` is in the future)"
                        }
                        ErrorKind::InvalidSignature => "user token signature is invalid",
                        ErrorKind::InvalidAlgorithm => "user token must be signed with HS256",
                        ErrorKind::InvalidAudience => {
                            "user token was issued for another audience (`aud`)"
                        }
                        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                            "aud" => "user token lacks the `aud` claim this service requires",
                            "iss" => "user token lacks the `iss` claim this service requires",
                            _ => "user token lacks a required claim (`sub` and `exp` are required)",
                        },
                        _ => "user token is malformed",
                    }
                    .to_owned(),
                )
            })?;
    if let Some(issuer) = &rules.issuer {
        // A single string equal to the issuer: not an array that contains it.
        if data.claims.iss.as_ref().and_then(|iss| iss.as_str()) != Some(issuer.as_str()) {
            return Err(Error::Unauthorized(
                "user token was issued by another issuer (`iss`)".to_owned(),
            ));
        }
    }
    let claims = data.claims.user;
    if claims.sub.trim().is_empty() {
        return Err(Error::Unauthorized(
            "user token has an empty `sub`".to_owned(),
        ));
    }
    Ok(claims)
}

/// Signs claims (a [`UserClaims`], or one with registered claims beside it)
/// with the secret: the operator CLI and the tests mint tokens this way.
pub fn mint<C: Serialize>(claims: &C, secret: &[u8]) -> Result<String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|err| Error::internal("signing user token", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-signing-secret-of-some-length";

    fn claims(exp_offset: i64) -> UserClaims {
        UserClaims {
            sub: "user-1".into(),
            exp: chrono::Utc::now().timestamp() + exp_offset,
            orgs: vec!["acme".into()],
            email: Some("u@example.com".into()),
            iat: None,
        }
    }

    fn rejected(token: &str) -> String {
        rejected_under(token, &JwtRules::default())
    }

    fn rejected_under(token: &str, rules: &JwtRules) -> String {
        match verify_with_secret(token, SECRET, rules) {
            Ok(claims) => panic!("token accepted: {claims:?}"),
            Err(err) => {
                assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
                err.to_string()
            }
        }
    }

    #[test]
    fn a_minted_token_verifies_to_its_claims() {
        let original = claims(3600);
        let token = mint(&original, SECRET).ok();
        let verified =
            token.and_then(|token| verify_with_secret(&token, SECRET, &JwtRules::default()).ok());
        assert_eq!(verified, Some(original));
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let token = mint(&claims(-3600), SECRET).unwrap_or_default();
        assert!(rejected(&token).contains("expired"));
    }

    #[test]
    fn tokens_signed_with_another_secret_are_rejected() {
        let token = mint(&claims(3600), b"another-secret").unwrap_or_default();
        assert!(rejected(&token).contains("signature"));
    }

    #[test]
    fn unsigned_alg_none_tokens_are_rejected() {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = engine.encode(serde_json::to_vec(&claims(3600)).unwrap_or_default());
        rejected(&format!("{header}.{body}."));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        rejected("");
        rejected("not.a.jwt");
        rejected("a.b");
    }

    /// A token signed with the right secret carrying `extra` claims besides
    /// a valid `sub` and `exp`.
    fn token_with(extra: serde_json::Value) -> String {
        let mut claims = serde_json::json!({
            "sub": "user-1",
            "exp": chrono::Utc::now().timestamp() + 3600,
        });
        if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
            claims.extend(extra.clone());
        }
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap_or_default()
    }

    fn accepted_under(token: &str, rules: &JwtRules) -> bool {
        verify_with_secret(token, SECRET, rules).is_ok()
    }

    fn audience(audience: &str) -> JwtRules {
        JwtRules {
            audience: Some(audience.to_owned()),
            issuer: None,
        }
    }

    fn issuer(issuer: &str) -> JwtRules {
        JwtRules {
            audience: None,
            issuer: Some(issuer.to_owned()),
        }
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let token = token_with(serde_json::json!({"nbf": now() + 120}));
        assert!(rejected(&token).contains("not valid yet"));
    }

    #[test]
    fn a_token_valid_from_within_the_leeway_is_accepted() {
        let rules = JwtRules::default();
        assert!(accepted_under(
            &token_with(serde_json::json!({"nbf": now() + 10})),
            &rules
        ));
        assert!(accepted_under(
            &token_with(serde_json::json!({"nbf": now() - 60})),
            &rules
        ));
    }

    #[test]
    fn a_token_minted_for_another_audience_is_refused() {
        let token = token_with(serde_json::json!({"aud": "billing"}));
        assert!(rejected_under(&token, &audience("notify")).contains("`aud`"));
        let token = token_with(serde_json::json!({"aud": ["billing", "search"]}));
        assert!(rejected_under(&token, &audience("notify")).contains("`aud`"));
    }

    #[test]
    fn a_token_carrying_an_audience_is_refused_when_none_is_configured() {
        let token = token_with(serde_json::json!({"aud": "notify"}));
        assert!(rejected(&token).contains("`aud`"));
    }

    #[test]
    fn a_token_without_an_audience_is_refused_when_one_is_configured() {
        let token = token_with(serde_json::json!({}));
        assert!(rejected_under(&token, &audience("notify")).contains("`aud`"));
    }

    #[test]
    fn a_token_for_the_configured_audience_is_accepted() {
        let rules = audience("notify");
        assert!(accepted_under(
            &token_with(serde_json::json!({"aud": "notify"})),
            &rules
        ));
        let both = token_with(serde_json::json!({"aud": ["notify", "billing"]}));
        assert!(accepted_under(&both, &rules));
    }

    #[test]
    fn a_token_from_another_issuer_is_refused() {
        let rules = issuer("https://auth.example.com");
        let other = token_with(serde_json::json!({"iss": "https://evil.example.com"}));
        assert!(rejected_under(&other, &rules).contains("`iss`"));
        let missing = token_with(serde_json::json!({}));
        assert!(rejected_under(&missing, &rules).contains("`iss`"));
        let listed = token_with(serde_json::json!({"iss": ["https://auth.example.com"]}));
        assert!(rejected_under(&listed, &rules).contains("`iss`"));
    }

    #[test]
    fn a_token_from_the_configured_issuer_is_accepted_and_any_issuer_without_one() {
        let token = token_with(serde_json::json!({"iss": "https://auth.example.com"}));
        assert!(accepted_under(&token, &issuer("https://auth.example.com")));
        assert!(accepted_under(&token, &JwtRules::default()));
    }

    #[test]
    fn membership_includes_the_personal_org() {
        let claims = claims(60);
        assert!(claims.belongs_to("user-1"));
        assert!(claims.belongs_to("acme"));
        assert!(!claims.belongs_to("other"));
        assert_eq!(
            claims.all_orgs(),
            vec!["user-1".to_owned(), "acme".to_owned()]
        );
    }
}
