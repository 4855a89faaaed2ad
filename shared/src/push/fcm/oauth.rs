//! OAuth2 access tokens for FCM from a service account (JWT-bearer grant),
//! one per `client_email`, reused until five minutes before they expire.
//! Concurrent deliveries for the same account wait for a single fetch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, StatusCode, Version};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::credentials::ServiceAccount;
use crate::push::outcome::{failed, transient, DeliveryOutcome};
use crate::push::transport::Transport;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
const ASSERTION_LIFETIME_SECS: u64 = 3600;
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

type Entry = Arc<tokio::sync::Mutex<Option<Grant>>>;

pub(crate) struct AccessTokens {
    token_url_override: Option<String>,
    entries: Mutex<HashMap<String, Entry>>,
    /// Token requests made; tests check reuse with it.
    pub fetched: AtomicU64,
}

#[derive(Clone)]
struct Grant {
    bearer: HeaderValue,
    renew_at: Instant,
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
    expires_in: u64,
}

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
        }
    }

    fn entry(&self, account: &ServiceAccount) -> Entry {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .entry(account.client_email.clone())
            .or_default()
            .clone()
    }

    /// `authorization` value for `account`: cached, or fetched now.
    pub async fn bearer(
        &self,
        transport: &Transport,
        account: &ServiceAccount,
    ) -> Result<HeaderValue, DeliveryOutcome> {
        let entry = self.entry(account);
        let mut grant = entry.lock().await;
        if let Some(current) = grant.as_ref().filter(|g| Instant::now() < g.renew_at) {
            return Ok(current.bearer.clone());
        }
        let fresh = self.fetch(transport, account).await?;
        let bearer = fresh.bearer.clone();
        *grant = Some(fresh);
        Ok(bearer)
    }

    /// FCM refused `stale`: forget it unless it was already replaced.
    pub async fn expire(&self, account: &ServiceAccount, stale: &HeaderValue) {
        let entry = self.entry(account);
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
        let token_url = self
            .token_url_override
            .as_deref()
            .unwrap_or(&account.token_uri);
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
            transient(format!("fcm oauth: {err}"))
        })?;
        if reply.status == StatusCode::OK {
            let answer: TokenAnswer = serde_json::from_slice(&reply.body)
                .map_err(|_| transient("fcm oauth: unreadable token answer"))?;
            let mut bearer = HeaderValue::try_from(format!("Bearer {}", answer.access_token))
                .map_err(|_| transient("fcm oauth: unusable access token"))?;
            bearer.set_sensitive(true);
            let lifetime =
                Duration::from_secs(answer.expires_in).saturating_sub(RENEW_BEFORE_EXPIRY);
            tracing::debug!(client_email = %account.client_email, "fcm access token fetched");
            return Ok(Grant {
                bearer,
                renew_at: Instant::now() + lifetime,
            });
        }
        let error = serde_json::from_slice::<TokenError>(&reply.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("status {}", reply.status.as_u16()));
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
    let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(unusable)?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = account.private_key_id.clone();
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = Claims {
        iss: &account.client_email,
        scope: SCOPE,
        aud: audience,
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(unusable)
}
