//! Writing responses: 200 with a JSON body, or the contract's error body.

use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::error::{Error, ErrorBody, Result};
use crate::http::request::request_id;
use crate::limits::{collect_metering, ActivitySample, KeyActivityWatch, Meter};
use crate::store::UsageDelta;

pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => with_json(status, text),
        Err(err) => error_response(&Error::internal("serializing response", err), "-"),
    }
}

pub fn error_response(err: &Error, request_id: &str) -> Response<Body> {
    let body = ErrorBody {
        detail: err.detail(request_id),
        code: err.code().to_owned(),
    };
    let text = serde_json::to_string(&body)
        .unwrap_or_else(|_| r#"{"detail":"internal error","code":"internal_error"}"#.to_owned());
    let mut response = with_json(err.status(), text);
    if let Some(seconds) = err.retry_after_secs() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Runs a handler's work and answers as [`respond`] does. When the request
/// was made with an API key (its authorisation notes it), the answer gets
/// the `RateLimit-Policy` / `RateLimit` fields and its outcome (a 4xx,
/// pushes made) goes to the key's usage.
pub async fn respond_to<T, F>(meter: Meter<'_>, req: &Request, work: F) -> Response<Body>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    // Boxed: the handler's future is deep already, and the slot's scope
    // around it would take the compiler's layout queries past their limit.
    let (result, metered) = collect_metering(Box::pin(work)).await;
    let mut response = respond(req, result);
    if let Some((key_id, fields)) = &metered.key {
        fields.write_to(response.headers_mut());
        let outcome = UsageDelta {
            rejected: u32::from(response.status().is_client_error()),
            throttled: u32::from(metered.tenant_throttled),
            pushes: metered.pushes,
            pushes_failed: metered.pushes_failed,
            ..UsageDelta::default()
        };
        meter
            .limiter
            .record_outcome(meter.store, key_id, outcome)
            .await;
    }
    match &metered.tenant_id {
        Some(tenant_id) => {
            meter
                .tenants
                .record_pushes(meter.store, tenant_id, metered.pushes)
                .await
        }
        None => meter.tenants.flush_due(meter.store).await,
    }
    if let (Some(sample), Some(watch)) = (&metered.activity, meter.watch) {
        watch_sample(watch, sample).await;
    }
    response
}

/// The unusual-activity rule for a sampled request (one of the key's
/// hour, see `limits::activity`), after its answer is computed, within
/// [`SAMPLE_WAIT`]: it can delay that one answer, never change it.
async fn watch_sample(watch: &dyn KeyActivityWatch, sample: &ActivitySample) {
    if tokio::time::timeout(SAMPLE_WAIT, watch.sampled(sample))
        .await
        .is_err()
    {
        tracing::warn!(
            tenant_id = %sample.tenant_id,
            key_id = %sample.key_id,
            "the unusual-activity check took too long; skipped until the key's next sample"
        );
    }
}

/// How long a sampled request waits for the unusual-activity check at
/// most: a few DynamoDB calls and an SQS message, milliseconds each.
const SAMPLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The end of every handler: 200 and the value, or the error's response.
/// Errors are logged here, once, with their cause (never a secret: causes are
/// SDK and parse errors, not request bodies).
pub fn respond<T: Serialize>(req: &Request, result: Result<T>) -> Response<Body> {
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(err) => {
            let request_id = request_id(req);
            if err.status().is_server_error() {
                tracing::error!(
                    request_id,
                    status = err.status().as_u16(),
                    error = %err,
                    cause = %err.cause_chain(),
                    "request failed"
                );
            } else {
                tracing::info!(
                    request_id,
                    status = err.status().as_u16(),
                    code = err.code(),
                    "request rejected"
                );
            }
            error_response(&err, &request_id)
        }
    }
}

fn with_json(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
