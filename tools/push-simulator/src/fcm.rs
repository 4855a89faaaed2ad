//! `POST /v1/projects/{project_id}/messages:send`: FCM HTTP v1 with
//! Google's error envelope (`google.rpc.Status` plus FCM error details).
//!
//! A bad registration token is answered as FCM really answers it: 400
//! `INVALID_ARGUMENT` with only an `FcmError` detail, no `BadRequest`
//! field violation (firebase-admin-java#1064), although the ErrorCode page
//! describes one.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::Utc;
use http::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use http::request::Parts;
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use rand::Rng;
use serde_json::{json, Value};

use crate::conn::{version_name, ConnInfo};
use crate::credentials::FcmAccount;
use crate::faults::{Provider, TokenFault};
use crate::fcm_message::{self, Violation};
use crate::http_util::{self, BodyError, Resp};
use crate::jwt;
use crate::recorder::{Delivery, FcmDelivery};
use crate::state::State;
use crate::stats::FCM;

pub(crate) const PATH_PREFIX: &str = "/v1/projects/";
const PATH_SUFFIX: &str = "/messages:send";
const MAX_REQUEST: usize = 256 * 1024;

const AUTH_HINT: &str = "Expected OAuth 2 access token, login cookie or other valid \
    authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// The project of a `messages:send` path.
pub(crate) fn project_of(path: &str) -> Option<&str> {
    let project = path.strip_prefix(PATH_PREFIX)?.strip_suffix(PATH_SUFFIX)?;
    (!project.is_empty() && !project.contains('/')).then_some(project)
}

#[derive(Debug)]
struct FcmError {
    code: StatusCode,
    status: &'static str,
    message: Cow<'static, str>,
    error_code: Option<&'static str>,
    violation: Option<Box<Violation>>,
    retry_after_secs: Option<u64>,
}

impl FcmError {
    fn new(code: StatusCode, status: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
            error_code: None,
            violation: None,
            retry_after_secs: None,
        }
    }

    fn invalid_argument(violation: Violation) -> Self {
        let error = Self {
            error_code: Some("INVALID_ARGUMENT"),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                violation.description.clone(),
            )
        };
        if violation.field == "message.token" {
            // FCM's real answer for a bad token names no field.
            return error;
        }
        error.with_violation(violation)
    }

    fn with_violation(mut self, violation: Violation) -> Self {
        self.violation = Some(Box::new(violation));
        self
    }

    fn unauthenticated(message: &'static str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!("{message} {AUTH_HINT}"),
        )
    }

    /// What `GET /stats` counts this rejection as.
    fn reason(&self) -> &'static str {
        self.error_code.unwrap_or(self.status)
    }

    fn into_response(self) -> Resp {
        let mut details: Vec<Value> = Vec::new();
        if let Some(error_code) = self.error_code {
            details.push(json!({
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }));
        }
        if let Some(v) = &self.violation {
            // Whole-body problems (unparsable JSON) name no field.
            let violation = if v.field.is_empty() {
                json!({"description": v.description})
            } else {
                json!({"field": v.field, "description": v.description})
            };
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [violation],
            }));
        }
        let mut error = json!({
            "code": self.code.as_u16(),
            "message": self.message,
            "status": self.status,
        });
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        let body = serde_json::to_vec(&json!({ "error": error })).unwrap_or_default();
        let mut response = http_util::raw_json(self.code, http_util::JSON_UTF8, body);
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

enum Accepted {
    Delivered(FcmDelivery),
    ValidatedOnly(String),
}

pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    match accept(state, conn, &parts, body).await {
        Ok(Accepted::Delivered(delivery)) => {
            let response = fcm_ok(&delivery.name);
            state.recorder.record(Delivery::Fcm(delivery));
            state.stats.accepted(FCM);
            response
        }
        Ok(Accepted::ValidatedOnly(name)) => fcm_ok(&name),
        Err(error) => {
            state.stats.rejected(FCM, error.reason());
            tracing::debug!(
                status = error.code.as_u16(),
                reason = error.reason(),
                "fcm send rejected"
            );
            error.into_response()
        }
    }
}

/// `{"name": "projects/.../messages/..."}`
fn fcm_ok(name: &str) -> Resp {
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        name: &'a str,
    }
    let body = serde_json::to_vec(&Answer { name }).unwrap_or_default();
    http_util::raw_json(StatusCode::OK, http_util::JSON_UTF8, body)
}

async fn accept(
    state: &State,
    conn: ConnInfo,
    parts: &Parts,
    body: Incoming,
) -> Result<Accepted, FcmError> {
    let Some(project_id) = project_of(parts.uri.path()) else {
        return Err(FcmError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
        ));
    };
    if parts.method != Method::POST {
        return Err(FcmError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Method not found.",
        ));
    }
    if let Some(delay) = state.faults.delay(Provider::Fcm) {
        tokio::time::sleep(delay).await;
    }
    let body = http_util::read_body(&parts.headers, body, MAX_REQUEST).await;
    let account = authenticate(state, &parts.headers, project_id, jwt::now_secs())?;
    if let Some(retry_after_secs) = state.faults.fcm_quota(project_id) {
        return Err(FcmError {
            error_code: Some("QUOTA_EXCEEDED"),
            retry_after_secs,
            ..FcmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
            )
        });
    }

    let body = body.map_err(|e| {
        let description = match e {
            BodyError::TooLarge => {
                format!("Request payload size exceeds the limit: {MAX_REQUEST} bytes.")
            }
            BodyError::Read => "The request body could not be read.".to_owned(),
        };
        FcmError::invalid_argument(Violation {
            field: String::new(),
            description,
        })
    })?;
    let request = fcm_message::parse_request(&body).map_err(FcmError::invalid_argument)?;
    let Some(raw_message) = request.message else {
        return Err(FcmError::invalid_argument(Violation {
            field: "message".to_owned(),
            description: "Message must be set.".to_owned(),
        }));
    };
    let target = fcm_message::validate(raw_message).map_err(FcmError::invalid_argument)?;

    if let Some(token) = &target.token {
        match state.faults.token_fault(Provider::Fcm, token) {
            Some(TokenFault::Unregistered) => {
                return Err(FcmError {
                    error_code: Some("UNREGISTERED"),
                    ..FcmError::new(
                        StatusCode::NOT_FOUND,
                        "NOT_FOUND",
                        "Requested entity was not found.",
                    )
                })
            }
            Some(TokenFault::BadDeviceToken) => {
                return Err(FcmError::invalid_argument(Violation {
                    field: "message.token".to_owned(),
                    description: "The registration token is not a valid FCM registration token"
                        .to_owned(),
                }))
            }
            Some(TokenFault::WrongApp) => {
                return Err(FcmError {
                    error_code: Some("SENDER_ID_MISMATCH"),
                    ..FcmError::new(
                        StatusCode::FORBIDDEN,
                        "PERMISSION_DENIED",
                        "SenderId mismatch",
                    )
                })
            }
            None => {}
        }
    }
    if state.faults.third_party_auth_error() {
        return Err(FcmError {
            error_code: Some("THIRD_PARTY_AUTH_ERROR"),
            ..FcmError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Auth error from APNS or Web Push Service",
            )
        });
    }
    if let Some(hit) = state.faults.take_status(Provider::Fcm) {
        let (code, status, error_code, message) = match hit.status {
            429 => (
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
                "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
            ),
            500 => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "INTERNAL",
                "Internal error encountered.",
            ),
            _ => (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "UNAVAILABLE",
                "The service is currently unavailable.",
            ),
        };
        return Err(FcmError {
            error_code: Some(error_code),
            retry_after_secs: hit.retry_after_secs,
            ..FcmError::new(code, status, message)
        });
    }

    if request.validate_only {
        // Google answers a dry run with this fixed id and delivers nothing.
        return Ok(Accepted::ValidatedOnly(format!(
            "projects/{project_id}/messages/fake_message_id"
        )));
    }
    let now = Utc::now();
    let suffix: u64 = rand::rng().random();
    Ok(Accepted::Delivered(FcmDelivery {
        name: format!(
            "projects/{project_id}/messages/0:{}%{suffix:016x}",
            now.timestamp_micros()
        ),
        project_id: project_id.to_owned(),
        token: target.token,
        topic: target.topic,
        condition: target.condition,
        message: raw_message.get().into(),
        account,
        listener: conn.listener,
        http_version: version_name(parts.version),
        received_at: now,
    }))
}

/// `Authorization: Bearer <access token issued by /token>` for a service
/// account of this project.
fn authenticate(
    state: &State,
    headers: &HeaderMap,
    project_id: &str,
    now: i64,
) -> Result<Arc<FcmAccount>, FcmError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(FcmError::unauthenticated(
            "Request is missing required authentication credential.",
        ));
    };
    let invalid = || FcmError::unauthenticated("Request had invalid authentication credentials.");
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(invalid)?;
    let grant = state.registry.access_grant(token).ok_or_else(invalid)?;
    if grant.expires_at <= now {
        return Err(invalid());
    }
    if grant.account.project_id != project_id {
        return Err(FcmError::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "Permission 'cloudmessaging.messages.create' denied on resource \
                 '//cloudresourcemanager.googleapis.com/projects/{project_id}' (or it may not exist)."
            ),
        ));
    }
    Ok(grant.account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_comes_from_a_messages_send_path_only() {
        assert_eq!(project_of("/v1/projects/p-1/messages:send"), Some("p-1"));
        assert_eq!(project_of("/v1/projects//messages:send"), None);
        assert_eq!(project_of("/v1/projects/a/b/messages:send"), None);
        assert_eq!(project_of("/v1/projects/a/messages"), None);
    }
}
