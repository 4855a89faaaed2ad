//! Firebase Cloud Messaging, HTTP v1:
//! `POST /v1/projects/{project_id}/messages:send` with an OAuth2 token.
//!
//! Answers (Firebase, REST v1 `ErrorCode`, and "Manage FCM registration
//! tokens"):
//! - 404 `UNREGISTERED`, and 400 `INVALID_ARGUMENT` about the registration
//!   token, remove the token. FCM's real answer for a bad token carries
//!   only an `FcmError` detail (firebase-admin-java#1064), no field
//!   violation: a token is dead when a violation names `message.token`, or
//!   when there is none and the message is about the registration token.
//! - 401 `THIRD_PARTY_AUTH_ERROR` is the Firebase project's APNs
//!   certificate or Web Push key: a configuration failure, reported by
//!   name; the access token is fine and kept.
//! - Any other 401: the access token was refused; another is fetched.
//! - 429 `QUOTA_EXCEEDED`: a wait of at least a minute, and the project's
//!   sends held back meanwhile (`pause`). 5xx: `Retry-After`, else 1 s
//!   doubling, jittered.

pub(crate) mod message;
mod oauth;
mod pause;

use std::time::Instant;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, Version};
use serde::Deserialize;

use crate::config::ProviderEndpoints;
use crate::credentials::{is_project_id, ServiceAccount};
use crate::error::Result;
use crate::model::platform::is_fcm_token;
use crate::push::outcome::{dead, failed, transient, Attempt, DeliveryOutcome};
use crate::push::retry::{server_error_wait, FCM_QUOTA_WAIT};
use crate::push::target::TenantPush;
use crate::push::transport::{Endpoint, Reply, Transport};
pub(crate) use message::FcmMessage;
pub(crate) use oauth::AccessTokens;
use oauth::CacheId;

pub(crate) struct Fcm {
    endpoint: Endpoint,
    pub tokens: AccessTokens,
    pauses: pause::Pauses,
}

/// One notification on its way to one tenant's FCM devices.
pub(crate) struct FcmBatch<'a> {
    fcm: &'a Fcm,
    transport: &'a Transport,
    account: &'a ServiceAccount,
    /// The account's access-token cache entry.
    cache_id: CacheId,
    uri: Uri,
    headers: HeaderMap,
    message: &'a FcmMessage,
}

/// Google's error envelope (`google.rpc.Status` with FCM details).
#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    #[serde(rename = "fieldViolations", default)]
    field_violations: Vec<FieldViolation>,
}

#[derive(Deserialize)]
struct FieldViolation {
    #[serde(default)]
    field: String,
}

impl Fcm {
    pub fn new(transport: &Transport, endpoints: &ProviderEndpoints) -> Result<Self> {
        Ok(Self {
            endpoint: transport.endpoint(&endpoints.fcm).map_err(|err| {
                crate::error::Error::internal("configuring the FCM endpoint", err)
            })?,
            tokens: AccessTokens::new(endpoints.oauth_token_url.clone()),
            pauses: pause::Pauses::default(),
        })
    }

    /// The batch for `tenant` (fetching an access token if none is cached),
    /// or the outcome every FCM device of the tenant gets without a send.
    pub async fn prepare<'a>(
        &'a self,
        transport: &'a Transport,
        tenant: &'a TenantPush,
        message: &'a FcmMessage,
    ) -> Result<FcmBatch<'a>, DeliveryOutcome> {
        let Some(account) = &tenant.fcm else {
            return Err(failed("fcm not configured for tenant"));
        };
        // Checked on the way in; checked again because the path is built
        // from it and older secrets predate the check.
        if !is_project_id(&account.project_id) {
            return Err(failed("fcm project_id is not a Google Cloud project id"));
        }
        let path = format!("/v1/projects/{}/messages:send", account.project_id);
        let uri = self
            .endpoint
            .uri(&path)
            .map_err(|_| failed("fcm project_id is not usable in a URL"))?;
        let cache_id = account.fingerprint(&tenant.tenant_id);
        let bearer = self.tokens.bearer(transport, &cache_id, account).await?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(FcmBatch {
            fcm: self,
            transport,
            account,
            cache_id,
            uri,
            headers,
            message,
        })
    }
}

impl FcmBatch<'_> {
    /// One request for `token`; `attempt` counts from 1.
    pub async fn attempt(&self, token: &str, attempt: u32) -> Attempt {
        if !is_fcm_token(token) {
            return failed("invalid fcm registration token format").into();
        }
        let project = self.account.project_id.as_str();
        if let Some(left) = self.fcm.pauses.left(project, Instant::now()) {
            return Attempt {
                outcome: transient("QUOTA_EXCEEDED: the FCM project's sends are paused"),
                retry_after: Some(left),
                requested: false,
            };
        }
        let mut headers = self.headers.clone();
        if attempt > 1 {
            // The access token may have been refused and renewed.
            // Boxed: a token fetch is rare and its future large.
            let bearer = Box::pin(self.fcm.tokens.bearer(
                self.transport,
                &self.cache_id,
                self.account,
            ));
            match bearer.await {
                Ok(bearer) => headers.insert(AUTHORIZATION, bearer),
                Err(outcome) => return outcome.into(),
            };
        }
        let bearer = headers.get(AUTHORIZATION).cloned();
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = headers;
        match self
            .fcm
            .endpoint
            .send(request, self.message.body(token))
            .await
        {
            Ok(reply) => Box::pin(self.classify(reply, bearer, attempt)).await,
            Err(err) if err.is_retryable() => Attempt::sent(transient(err.reason())),
            Err(err) => Attempt::sent(failed(err.reason())),
        }
    }

    async fn classify(&self, reply: Reply, bearer: Option<HeaderValue>, attempt: u32) -> Attempt {
        if reply.status == StatusCode::OK {
            return Attempt::sent(DeliveryOutcome::Delivered);
        }
        let status = reply.status;
        let error = serde_json::from_slice::<Envelope>(&reply.body)
            .ok()
            .map(|e| e.error);
        // Only names Google documents reach an answer: the body is remote text.
        let code: std::borrow::Cow<'static, str> = error
            .as_ref()
            .and_then(|e| {
                e.details
                    .iter()
                    .filter_map(|d| d.error_code.as_deref())
                    .chain(std::iter::once(e.status.as_str()))
                    .find_map(known_code)
            })
            .map(std::borrow::Cow::Borrowed)
            .unwrap_or_else(|| format!("fcm status {}", status.as_u16()).into());
        let about_token = error.as_ref().is_some_and(about_the_token);
        let mut retry_after = reply.retry_after;
        let outcome = if code == "UNREGISTERED" {
            dead(code)
        } else if code == "INVALID_ARGUMENT" && about_token {
            dead("INVALID_ARGUMENT: message.token")
        } else if code == "THIRD_PARTY_AUTH_ERROR" {
            failed("THIRD_PARTY_AUTH_ERROR: the Firebase project's APNs certificate or Web Push key is invalid or missing")
        } else if status == StatusCode::UNAUTHORIZED {
            // The access token was revoked or expired early: fetch another.
            if let Some(stale) = &bearer {
                self.fcm.tokens.expire(&self.cache_id, stale).await;
            }
            transient(code)
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after.map_or(FCM_QUOTA_WAIT, |wait| wait.max(FCM_QUOTA_WAIT));
            self.fcm
                .pauses
                .pause(&self.account.project_id, wait, Instant::now());
            retry_after = Some(wait);
            transient(code)
        } else if status.is_server_error() {
            retry_after = Some(server_error_wait(retry_after, attempt));
            transient(code)
        } else {
            failed(code)
        };
        Attempt {
            outcome,
            retry_after,
            requested: true,
        }
    }
}

/// Whether an `INVALID_ARGUMENT` is about the registration token: a field
/// violation names it, or there is none and the message speaks of it (a
/// payload problem names its field).
fn about_the_token(error: &Status) -> bool {
    let mut violations = error.details.iter().flat_map(|d| &d.field_violations);
    let mut none = true;
    for violation in violations.by_ref() {
        none = false;
        if violation.field == "message.token" {
            return true;
        }
    }
    none && error.message.contains("registration token")
}

/// FCM's `errorCode`s and the `google.rpc.Code` names it answers with.
const KNOWN_CODES: [&str; 17] = [
    "UNSPECIFIED_ERROR",
    "INVALID_ARGUMENT",
    "UNREGISTERED",
    "SENDER_ID_MISMATCH",
    "QUOTA_EXCEEDED",
    "UNAVAILABLE",
    "INTERNAL",
    "THIRD_PARTY_AUTH_ERROR",
    "NOT_FOUND",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "DEADLINE_EXCEEDED",
    "ABORTED",
    "UNKNOWN",
    "CANCELLED",
];

fn known_code(code: &str) -> Option<&'static str> {
    KNOWN_CODES.iter().copied().find(|known| *known == code)
}
