//! The one error type of the service and its mapping to a status code and the
//! contract's `{"detail", "code"}` body.
//!
//! Handlers never turn these into Lambda invocation errors: every variant
//! becomes an `Ok(Response)` (see [`crate::http::response`]). 5xx bodies say
//! nothing about internals; the cause is logged with the request id instead.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use http::StatusCode;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: malformed JSON, a missing or invalid field, an unknown platform...
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: missing, malformed, unknown, deleted or expired credential.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid credential that is not allowed here.
    #[error("{0}")]
    Forbidden(String),
    /// 403 with a code of its own, for a refusal the caller can act on
    /// (`user_signature_invalid`).
    #[error("{detail}")]
    Refused { code: &'static str, detail: String },
    /// 404: unknown resource, or one the caller may not know exists.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the stored state.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 409 with `Retry-After`: the same work is under way; retry shortly.
    #[error("{detail}")]
    Busy {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// 413: request body over 1 MiB or a payload over the provider's limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: well-formed, but cannot be processed as sent.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// A client error answered earlier and stored (idempotent replays):
    /// the same status, code and detail again.
    #[error("{detail}")]
    Replayed {
        status: StatusCode,
        code: String,
        detail: String,
    },
    /// 429: throttled; the caller should retry after the given seconds.
    #[error("{detail}")]
    Throttled {
        detail: String,
        retry_after_secs: u64,
    },
    /// 429 `rate_limited`: an API key over its requests per second.
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_after_secs: u64,
    },
    /// 429 `quota_exceeded`: the tenant used up its pushes of the day;
    /// retry once the quota resets (midnight UTC).
    #[error("{detail}")]
    QuotaExceeded {
        detail: String,
        retry_after_secs: u64,
    },
    /// 503: a dependency (DynamoDB, SQS, Secrets Manager) is unavailable.
    #[error("{context}: dependency unavailable")]
    Unavailable {
        context: &'static str,
        #[source]
        source: BoxError,
    },
    /// 503 after work that may have taken effect though it could not be
    /// confirmed (the answer to its last write was lost): an
    /// `Idempotency-Key` stays held, so that a retry with it cannot do the
    /// work a second time.
    #[error("{context}: outcome unknown")]
    Unsettled {
        context: &'static str,
        #[source]
        source: BoxError,
    },
    /// 500: anything that is our fault.
    #[error("{context}: internal error")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// The Display of every cause, outermost first, for logs; Debug of SDK
    /// errors would dump whole HTTP responses into them.
    pub fn cause_chain(&self) -> String {
        let mut chain = Vec::new();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        chain.join(": ")
    }

    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_request",
            detail: detail.into(),
        }
    }

    pub fn invalid_token_format(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_token_format",
            detail: detail.into(),
        }
    }

    pub fn invalid_credentials(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_credentials",
            detail: detail.into(),
        }
    }

    /// 422: an `Idempotency-Key` reused with a different request body.
    pub fn idempotency_key_reused() -> Self {
        Self::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this `Idempotency-Key` was already used with a different request body; \
                     use a new key for a new request"
                .to_owned(),
        }
    }

    /// 422: an `Idempotency-Key` that another caller (another user or API
    /// key) used: its answer is that caller's alone.
    pub fn idempotency_key_of_another_caller() -> Self {
        Self::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this `Idempotency-Key` was already used by another caller (another user or \
                     API key); use a new key for a new request"
                .to_owned(),
        }
    }

    /// 409: the first request with this `Idempotency-Key` is still running.
    pub fn idempotency_in_progress(retry_after_secs: u64) -> Self {
        Self::Busy {
            code: "idempotency_in_progress",
            detail: "a request with this `Idempotency-Key` is still in progress; retry shortly"
                .to_owned(),
            retry_after_secs,
        }
    }

    /// 409: the first request with this `Idempotency-Key` ended without
    /// storing its answer; it may have delivered, so it is never run again.
    pub fn idempotency_outcome_unknown() -> Self {
        Self::Conflict {
            code: "idempotency_outcome_unknown",
            detail: "the first request with this `Idempotency-Key` ended without recording its \
                     outcome and may have been delivered; it will not be run again: check \
                     whether it arrived, and send again with a new `Idempotency-Key` if needed"
                .to_owned(),
        }
    }

    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    /// Work that may have taken effect without it being confirmed (see
    /// [`Error::Unsettled`]).
    pub fn unsettled(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unsettled {
            context,
            source: source.into(),
        }
    }

    /// This failure as a 503: for a step after which nothing was done, so
    /// that a retry is safe whatever the cause.
    pub fn into_unavailable(self) -> Self {
        match self {
            Self::Internal { context, source } => Self::Unavailable { context, source },
            other => other,
        }
    }

    /// Whether the failed request may have done (part of) its work: its
    /// `Idempotency-Key` must not run again.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self, Self::Unsettled { .. })
    }

    /// Classifies an AWS SDK failure: throttling, transaction conflicts,
    /// timeouts, connection errors and 5xx answers are the dependency's trouble (503, worth a retry);
    /// everything else is a bug on our side (500).
    pub fn from_sdk<E>(context: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(service) => {
                service.raw().status().is_server_error()
                    || matches!(
                        service.err().code(),
                        Some(
                            "ThrottlingException"
                                | "ProvisionedThroughputExceededException"
                                | "RequestLimitExceeded"
                                | "TransactionInProgressException"
                                // A transaction held the item (a plain write's
                                // refusal; callers retry it briefly first).
                                | "TransactionConflictException"
                                | "LimitExceededException"
                        )
                    )
            }
            _ => false,
        };
        let source: BoxError = Box::new(err);
        if transient {
            Self::Unavailable { context, source }
        } else {
            Self::Internal { context, source }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::Busy { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Replayed { status, .. } => *status,
            Self::Throttled { .. } | Self::RateLimited { .. } | Self::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable { .. } | Self::Unsettled { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Busy { code, .. }
            | Self::Refused { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::Replayed { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Throttled { .. } => "throttled",
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Unavailable { .. } | Self::Unsettled { .. } => "service_unavailable",
            Self::Internal { .. } => "internal_error",
        }
    }

    /// The human sentence for the body. 5xx never carry their cause.
    pub fn detail(&self, request_id: &str) -> String {
        match self {
            Self::Unavailable { .. } | Self::Unsettled { .. } => format!(
                "a dependency of the service is unavailable; retry later (request id {request_id})"
            ),
            Self::Internal { .. } => format!("internal error (request id {request_id})"),
            other => other.to_string(),
        }
    }

    /// Seconds for the `Retry-After` header, where one applies.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_secs, ..
            }
            | Self::RateLimited {
                retry_after_secs, ..
            }
            | Self::QuotaExceeded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Unavailable { .. } | Self::Unsettled { .. } => Some(1),
            _ => None,
        }
    }
}

/// The contract's error body.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub detail: String,
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause_and_name_the_request() {
        let err = Error::internal("saving tenant", "secret table exploded");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let detail = err.detail("req-1");
        assert!(detail.contains("req-1"));
        assert!(!detail.contains("exploded"));
    }

    #[test]
    fn client_errors_carry_their_sentence_and_code() {
        let err = Error::invalid_token_format("`token` must be hex");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.code(), "invalid_token_format");
        assert_eq!(err.detail("x"), "`token` must be hex");
    }
}
