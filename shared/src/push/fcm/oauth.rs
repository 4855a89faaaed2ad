//! OAuth2 access tokens for FCM from a service account (JWT-bearer grant),
//! reused until five minutes before they expire. Concurrent deliveries for
//! the same account wait for a single fetch.
//!
//! A token is cached under [`ServiceAccount::fingerprint`] (the tenant and
//! the whole account), never under the public `client_email`: a tenant that
//! claims another tenant's account name with a key of its own must neither
//! use nor replace the other's token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, StatusCode, Version};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::credentials::ServiceAccount;
use crate::push::outcome::{failed, transient, DeliveryOutcome};
use crate::push::transport::Transport;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
const ASSERTION_LIFETIME_SECS: u64 = 3600;
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// The longest lifetime believed: Google's tokens live an hour. A token
/// endpoint's `expires_in` is a remote number, clamped before any arithmetic.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// Accounts one container keeps tokens for before dropping the idle ones.
const MAX_ENTRIES: usize = 4096;

type Entry = Arc<tokio::sync::Mutex<Option<Grant>>>;
/// What a token is cached under: [`ServiceAccount::fingerprint`].
pub(crate) type CacheId = [u8; 32];

pub(crate) struct AccessTokens {
    token_url_override: Option<String>,
    entries: Mutex<HashMap<CacheId, Entry>>,
    /// Token requests made; tests check reuse with it.
    pub fetched: AtomicU64,
    /// Token ages on the wall clock (a frozen Lambda's monotonic clock may
    /// stand still while the token expires).
    pub(crate) clock: crate::clock::Clock,
}

#[derive(Clone)]
struct Grant {
    bearer: HeaderValue,
    /// Wall-clock seconds.
    renew_at: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Any JSON number (or none): read by [`lifetime`].
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// How long to reuse a token the endpoint says lives `expires_in` seconds:
/// at most [`MAX_LIFETIME`], less a renewal margin; zero for anything that
/// is not a positive number.
fn lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let seconds = match expires_in {
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|s| *s > 0.0).map(|_| u64::MAX))
            .unwrap_or(0),
        None => 0,
    };
    Duration::from_secs(seconds)
        .min(MAX_LIFETIME)
        .saturating_sub(RENEW_BEFORE_EXPIRY)
}

/// OAuth2 error codes (RFC 6749 5.2): the only remote text an answer shows.
const OAUTH_ERRORS: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
];

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl AccessTokens {
    pub fn new(token_url_override: Option<String>) -> Self {
        Self {
            token_url_override,
            entries: Mutex::new(HashMap::new()),
            fetched: AtomicU64::new(0),
            clock: crate::clock::Clock::system(),
        }
    }

    fn entry(&self, id: &CacheId) -> Entry {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            // Entries nobody holds right now; a fetch in progress keeps its own.
            entries.retain(|_, entry| Arc::strong_count(entry) > 1);
        }
        entries.entry(*id).or_default().clone()
    }

    /// `authorization` value for `account` (cached under `id`, its
    /// fingerprint): cached, or fetched now.
    pub async fn bearer(
        &self,
        transport: &Transport,
        id: &CacheId,
        account: &ServiceAccount,
    ) -> Result<HeaderValue, DeliveryOutcome> {
        let entry = self.entry(id);
        let mut grant = entry.lock().await;
        let now = self.clock.now_unix_secs();
        if let Some(current) = grant.as_ref().filter(|g| now < g.renew_at) {
            return Ok(current.bearer.clone());
        }
        let fresh = self.fetch(transport, account).await?;
        let bearer = fresh.bearer.clone();
        *grant = Some(fresh);
        Ok(bearer)
    }

    /// FCM refused `stale`: forget it unless it was already replaced.
    pub async fn expire(&self, id: &CacheId, stale: &HeaderValue) {
        let entry = self.entry(id);
        let mut grant = entry.lock().await;
        if grant.as_ref().is_some_and(|g| g.bearer == *stale) {
            *grant = None;
        }
    }

    async fn fetch(
        &self,
        transport: &Transport,
        account: &ServiceAccount,
    ) -> Result<Grant, DeliveryOutcome> {
        let Some(token_url) = account.token_url(self.token_url_override.as_deref()) else {
            return Err(failed(
                "fcm service account token_uri is not Google's token endpoint",
            ));
        };
        let assertion = assertion(account, token_url)?;
        let endpoint = transport
            .endpoint(token_url)
            .map_err(|_| failed("fcm service account token_uri is not a usable URL"))?;
        let uri = endpoint
            .uri("")
            .or_else(|_| endpoint.uri("/"))
            .map_err(|_| failed("fcm service account token_uri is not a usable URL"))?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        request.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        // The assertion is base64url and dots: nothing to form-encode.
        let body = Bytes::from(format!("grant_type={GRANT_TYPE}&assertion={assertion}"));
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let reply = endpoint.send(request, body).await.map_err(|err| {
            tracing::warn!(error = %err, "fcm access token request failed");
            transient(format!("fcm oauth: {}", err.reason()))
        })?;
        if reply.status == StatusCode::OK {
            let answer: TokenAnswer = serde_json::from_slice(&reply.body)
                .map_err(|_| transient("fcm oauth: unreadable token answer"))?;
            let mut bearer = HeaderValue::try_from(format!("Bearer {}", answer.access_token))
                .map_err(|_| transient("fcm oauth: unusable access token"))?;
            bearer.set_sensitive(true);
            let now = self.clock.now_unix_secs();
            let lifetime = lifetime(answer.expires_in.as_ref());
            tracing::debug!(client_email = %account.client_email, lifetime_s = lifetime.as_secs(), "fcm access token fetched");
            return Ok(Grant {
                bearer,
                renew_at: now.saturating_add(lifetime.as_secs()),
            });
        }
        let error = serde_json::from_slice::<TokenError>(&reply.body)
            .ok()
            .and_then(|e| OAUTH_ERRORS.iter().find(|known| **known == e.error))
            .map(|known| (*known).to_owned())
            .unwrap_or_else(|| format!("status {}", reply.status.as_u16()));
        tracing::warn!(client_email = %account.client_email, status = reply.status.as_u16(),
            error = %error, "fcm access token refused");
        if reply.status == StatusCode::TOO_MANY_REQUESTS || reply.status.is_server_error() {
            Err(transient(format!("fcm oauth: {error}")))
        } else {
            Err(failed(format!("fcm credentials rejected: {error}")))
        }
    }
}

/// The RS256 JWT a service account presents to the token endpoint.
fn assertion(account: &ServiceAccount, audience: &str) -> Result<String, DeliveryOutcome> {
    let unusable = |_| failed("fcm service account private_key cannot sign");
    let key = EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
        .map_err(unusable)?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = account.private_key_id.clone();
    let iat = crate::clock::now_unix_secs();
    let claims = Claims {
        iss: &account.client_email,
        scope: SCOPE,
        aud: audience,
        iat,
        exp: iat.saturating_add(ASSERTION_LIFETIME_SECS),
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(unusable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_lifetimes_are_clamped_and_never_overflow() {
        let renew = |value: serde_json::Value| lifetime(Some(&value));
        assert_eq!(renew(json!(3599)), Duration::from_secs(3599 - 300));
        assert_eq!(renew(json!(u64::MAX)), MAX_LIFETIME - RENEW_BEFORE_EXPIRY);
        assert_eq!(renew(json!(1e300)), MAX_LIFETIME - RENEW_BEFORE_EXPIRY);
        assert_eq!(renew(json!(-5)), Duration::ZERO);
        assert_eq!(renew(json!("3600")), Duration::ZERO);
        assert_eq!(renew(json!(60)), Duration::ZERO);
        assert_eq!(lifetime(None), Duration::ZERO);
    }
}
