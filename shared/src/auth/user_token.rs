//! User tokens: HS256 JWTs signed with a secret held in Secrets Manager.
//!
//! The secret is read once per container and then re-read at most every few
//! minutes, so a rotated secret takes effect without a redeploy.

use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

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

pub struct UserTokenVerifier {
    secrets: Secrets,
    secret_id: String,
    cached: Mutex<Option<(Instant, Vec<u8>)>>,
}

impl UserTokenVerifier {
    pub fn new(secrets: Secrets, secret_id: impl Into<String>) -> Self {
        Self {
            secrets,
            secret_id: secret_id.into(),
            cached: Mutex::new(None),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<UserClaims> {
        let secret = self.signing_secret().await?;
        verify_with_secret(token, &secret)
    }

    async fn signing_secret(&self) -> Result<Vec<u8>> {
        let mut cached = self.cached.lock().await;
        if let Some((loaded_at, secret)) = cached.as_ref() {
            if loaded_at.elapsed() < SECRET_REFRESH {
                return Ok(secret.clone());
            }
        }
        let secret = self
            .secrets
            .secret_string(&self.secret_id)
            .await?
            .into_bytes();
        *cached = Some((Instant::now(), secret.clone()));
        Ok(secret)
    }
}

pub fn verify_with_secret(token: &str, secret: &[u8]) -> Result<UserClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = 30;
    let data =
        jsonwebtoken::decode::<UserClaims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|err| {
            Error::Unauthorized(
                match err.kind() {
                    ErrorKind::ExpiredSignature => "user token has expired",
                    ErrorKind::InvalidSignature => "user token signature is invalid",
                    ErrorKind::InvalidAlgorithm => "user token must be signed with HS256",
                    ErrorKind::MissingRequiredClaim(_) => {
                        "user token lacks a required claim (`sub` and `exp` are required)"
                    }
                    _ => "user token is malformed",
                }
                .to_owned(),
            )
        })?;
    if data.claims.sub.trim().is_empty() {
        return Err(Error::Unauthorized(
            "user token has an empty `sub`".to_owned(),
        ));
    }
    Ok(data.claims)
}

/// Signs claims with the secret: the operator CLI and the tests mint tokens this way.
pub fn mint(claims: &UserClaims, secret: &[u8]) -> Result<String> {
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
        match verify_with_secret(token, SECRET) {
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
        let verified = token.and_then(|token| verify_with_secret(&token, SECRET).ok());
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
