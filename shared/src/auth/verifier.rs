//! The one entry point for user tokens: the header's `alg` decides who
//! checks a token. HS256 goes to the deployment's signing secret, RS256 and
//! ES256 to the identity provider's keys (when one is configured), and
//! anything else (`none`, HS384, PS256...) is refused. A token is never
//! checked by the other path, so no key of one kind verifies a token of
//! another (an RSA public key used as an HMAC secret gets nowhere).

use crate::auth::oidc::OidcVerifier;
use crate::auth::token_header::{unsupported_alg, TokenHeader};
use crate::auth::user_token::{SecretVerifier, UserClaims};
use crate::config::{JwtRules, OidcSettings};
use crate::error::{Error, Result};
use crate::secrets::Secrets;

pub struct UserTokenVerifier {
    secret: SecretVerifier,
    oidc: Option<OidcVerifier>,
}

impl UserTokenVerifier {
    pub fn new(secrets: Secrets, secret_id: impl Into<String>, rules: JwtRules) -> Self {
        Self {
            secret: SecretVerifier::new(secrets, secret_id, rules),
            oidc: None,
        }
    }

    /// The same verifier also taking the identity provider's tokens.
    pub fn with_oidc(mut self, settings: Option<OidcSettings>) -> Self {
        self.oidc = settings.map(OidcVerifier::new);
        self
    }

    pub async fn verify(&self, token: &str) -> Result<UserClaims> {
        let header = TokenHeader::parse(token)?;
        match header.alg.as_str() {
            "HS256" => self.secret.verify(token).await,
            "RS256" | "ES256" => match &self.oidc {
                // Boxed: the key fetch makes this future large, and every
                // request with a user token would carry its size inline.
                Some(oidc) => Box::pin(oidc.verify(token, &header)).await,
                None => Err(Error::Unauthorized(
                    "user tokens from an identity provider are not accepted by this deployment"
                        .to_owned(),
                )),
            },
            _ => Err(unsupported_alg()),
        }
    }
}

#[cfg(test)]
impl UserTokenVerifier {
    /// A verifier of HS256 tokens signed with `secret` (held already) and,
    /// when given, of the identity provider's.
    pub fn for_tests(secret: &[u8], oidc: Option<OidcVerifier>) -> Self {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let secrets = Secrets::new(aws_sdk_secretsmanager::Client::new(&sdk), "offline/");
        Self {
            secret: SecretVerifier::with_secret(secrets, secret, JwtRules::default()),
            oidc,
        }
    }
}
