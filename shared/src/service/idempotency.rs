//! The `Idempotency-Key` header of the send endpoints: the same key on the
//! same tenant and endpoint within 24 hours gets the first answer again and
//! does nothing again.
//!
//! A handler authorises the request, then wraps its work in [`idempotent`]:
//!
//! ```ignore
//! idempotent(app, req, &access.caller, &tenant_id, "notify", async {
//!     sending::send_notification(delivery, &access.tenant, json_body(req)?, options).await
//! })
//! .await
//! ```
//!
//! Stored: 200 answers, and the 4xx answers that depend only on the request
//! (400, 413, 422), so a replay is byte for byte the first answer; a long
//! answer in parts (see `store::idempotency`). Not stored: anything else
//! (5xx, a tenant deleted meanwhile...): the work failed before sending
//! anything, and the record is released (deleted) so that a retry runs;
//! except when the failure says the work may have taken effect
//! ([`Error::Unsettled`]): the key is then kept, as below.
//!
//! An answer is returned only to the caller that made it: the same user, or
//! the same API key. Another caller that sends the same key gets 422
//! `idempotency_key_reused` and nothing of the first answer (its device
//! tokens, which a `send`-only key must not read).
//!
//! At most once: a claim is never taken over. While the first request holds
//! its lease, a replay gets 409 `idempotency_in_progress` with `Retry-After`;
//! once the lease has ended without an answer (the answer could not be
//! stored, or the function died mid-send), the first request may have
//! delivered, so a replay gets 409 `idempotency_outcome_unknown` and the
//! work never runs again under that key. Storing the answer is retried
//! briefly to keep that case rare.

use std::future::Future;
use std::time::Duration;

use http::StatusCode;
use lambda_http::Request;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::auth::Caller;
use crate::clock::now_epoch_seconds;
use crate::error::{Error, ErrorBody, Result};
use crate::store::{Claim, IdempotencyRecord, IdempotencySlot, IdempotencyState};

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const MAX_KEY_LEN: usize = 255;
/// How long an answer is replayed.
pub const ANSWER_TTL_SECS: i64 = 24 * 3600;
/// How long the first request of a key may run: longer than any send
/// function may run. Past it, a claim without an answer is an unknown
/// outcome, never taken over.
pub const LEASE_SECS: i64 = 120;
/// What a request that finds its key in progress is told to wait.
const IN_PROGRESS_RETRY_AFTER_SECS: u64 = 2;
/// Attempts at storing the answer, and the pause before the second one
/// (doubling after): a few hundred milliseconds in all, well inside the
/// lease and the function's timeout.
const COMPLETION_ATTEMPTS: u32 = 3;
const COMPLETION_BACKOFF: Duration = Duration::from_millis(100);

/// The request's `Idempotency-Key`: `None` when absent; 400 unless it is 1
/// to 255 printable ASCII characters other than `,` (and sent once: API
/// Gateway joins a repeated header's values with commas, so a comma is how
/// a repeat arrives there).
pub fn idempotency_key(req: &Request) -> Result<Option<String>> {
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = || {
        Error::invalid_request(format!(
            "the `Idempotency-Key` header must be sent once, with 1 to {MAX_KEY_LEN} printable ASCII characters other than `,`"
        ))
    };
    if values.next().is_some() {
        return Err(invalid());
    }
    let key = std::str::from_utf8(value.as_bytes())
        .map_err(|_| invalid())?
        .trim();
    let printable = key.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b',');
    if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
        return Err(invalid());
    }
    Ok(Some(key.to_owned()))
}

/// Runs the work `run` (a future, which does nothing until awaited) at most
/// once per `Idempotency-Key` (see the module docs); a replay drops it
/// unpolled. The answer is returned as JSON so that the first answer and its
/// replays serialize identically.
pub async fn idempotent<T, Fut>(
    app: &App,
    req: &Request,
    caller: &Caller,
    tenant_id: &str,
    endpoint: &str,
    run: Fut,
) -> Result<Value>
where
    T: Serialize,
    Fut: Future<Output = Result<T>>,
{
    let Some(key) = idempotency_key(req)? else {
        return run.await.and_then(to_json);
    };
    let slot = IdempotencySlot::new(tenant_id, endpoint, &key);
    let fingerprint = hex::encode(Sha256::digest(req.body().as_ref()));
    let owner = answer_owner(caller);
    let now = now_epoch_seconds();
    let claim = app
        .store
        .claim_idempotency_key(
            &slot,
            &fingerprint,
            &owner,
            now,
            LEASE_SECS,
            ANSWER_TTL_SECS,
        )
        .await?;
    let claim_id = match claim {
        Claim::Claimed { claim_id } => claim_id,
        Claim::Existing(record) => {
            return earlier_answer(&record, &owner, &fingerprint, now, tenant_id, endpoint)
        }
    };
    let result = run.await.and_then(to_json);
    match storable_answer(&result) {
        Some((status, body)) => {
            let expires_at = now_epoch_seconds() + ANSWER_TTL_SECS;
            store_answer(app, &slot, &claim_id, status, &body, expires_at).await;
        }
        // Kept in progress: replays get 409, never a second run.
        None if result.as_ref().is_err_and(Error::may_have_taken_effect) => {
            tracing::warn!(
                tenant_id,
                endpoint,
                "the work may have taken effect; its idempotency key stays claimed"
            );
        }
        None => {
            if let Err(err) = app.store.release_idempotency_key(&slot, &claim_id).await {
                tracing::warn!(tenant_id, endpoint, error = %err, "could not release idempotency key");
            }
        }
    }
    result
}

/// The answer to a request whose key was claimed before: refused unless it
/// is the same caller with the same body, then the stored answer, or 409
/// while there is none.
fn earlier_answer(
    record: &IdempotencyRecord,
    owner: &str,
    fingerprint: &str,
    now: i64,
    tenant_id: &str,
    endpoint: &str,
) -> Result<Value> {
    if record.owner.as_deref() != Some(owner) {
        tracing::warn!(
            tenant_id,
            endpoint,
            "idempotency key sent by another caller"
        );
        return Err(Error::idempotency_key_of_another_caller());
    }
    if record.fingerprint != fingerprint {
        return Err(Error::idempotency_key_reused());
    }
    match &record.state {
        IdempotencyState::InProgress { lease_until } if *lease_until < now => {
            tracing::warn!(
                tenant_id,
                endpoint,
                "idempotency claim ended without an answer"
            );
            Err(Error::idempotency_outcome_unknown())
        }
        IdempotencyState::InProgress { .. } => {
            Err(Error::idempotency_in_progress(IN_PROGRESS_RETRY_AFTER_SECS))
        }
        IdempotencyState::Complete { status, body } => {
            tracing::info!(tenant_id, endpoint, status, "idempotent replay");
            replay(*status, body)
        }
    }
}

/// The status and body a replay of this result gets, when it is stored: a
/// 200, or an error that depends only on the request.
fn storable_answer(result: &Result<Value>) -> Option<(StatusCode, String)> {
    match result {
        Ok(value) => Some((StatusCode::OK, value.to_string())),
        Err(err) if depends_only_on_request(err) => {
            let body = ErrorBody {
                detail: err.detail("-"),
                code: err.code().to_owned(),
            };
            serde_json::to_string(&body)
                .ok()
                .map(|text| (err.status(), text))
        }
        Err(_) => None,
    }
}

/// Stores the answer of the work that ran, retrying a failed write a few
/// times. Whatever happens, the work is done and its answer is returned to
/// this caller; if the write never succeeds, replays get 409 (in progress,
/// then outcome unknown), never a second run.
#[tracing::instrument(skip_all, fields(tenant_id = %slot.tenant_id(), status = status.as_u16()))]
async fn store_answer(
    app: &App,
    slot: &IdempotencySlot,
    claim_id: &str,
    status: StatusCode,
    body: &str,
    expires_at: i64,
) {
    let mut pause = COMPLETION_BACKOFF;
    for attempt in 1..=COMPLETION_ATTEMPTS {
        match app
            .store
            .complete_idempotency_key(slot, claim_id, status.as_u16(), body, expires_at)
            .await
        {
            Ok(true) => return,
            // The record expired meanwhile, or the answer is too long to
            // store: replays will get 409.
            Ok(false) => {
                tracing::warn!(attempt, "idempotent answer not stored");
                return;
            }
            Err(err) if attempt < COMPLETION_ATTEMPTS => {
                tracing::warn!(attempt, error = %err, "storing the idempotent answer failed; retrying");
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            Err(err) => tracing::error!(
                attempt,
                error = %err,
                "could not store the idempotent answer: replays of this key will get 409"
            ),
        }
    }
}

/// Who an answer belongs to: the user or the API key that asked, hashed
/// (a user id may be an email address).
pub fn answer_owner(caller: &Caller) -> String {
    let who = match caller {
        Caller::User(claims) => format!("user:{}", claims.sub),
        Caller::ApiKey(grant) => format!("key:{}", grant.key_id),
    };
    hex::encode(Sha256::digest(who))
}

fn to_json<T: Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| Error::internal("serializing answer", err))
}

/// Client errors a retry of the same body would get again.
fn depends_only_on_request(err: &Error) -> bool {
    matches!(
        err.status(),
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY
    )
}

/// The stored answer, as it was given.
fn replay(status: u16, body: &str) -> Result<Value> {
    let corrupt = |err: serde_json::Error| Error::internal("decoding idempotent answer", err);
    if status == StatusCode::OK.as_u16() {
        return serde_json::from_str(body).map_err(corrupt);
    }
    let status = StatusCode::from_u16(status)
        .map_err(|err| Error::internal("decoding idempotent answer", err))?;
    let stored: ErrorBody = serde_json::from_str(body).map_err(corrupt)?;
    Err(Error::Replayed {
        status,
        code: stored.code,
        detail: stored.detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(values: &[&[u8]]) -> Request {
        let mut req = Request::default();
        for value in values {
            match http::HeaderValue::from_bytes(value) {
                Ok(value) => {
                    req.headers_mut().append(IDEMPOTENCY_KEY_HEADER, value);
                }
                Err(err) => panic!("test header: {err}"),
            }
        }
        req
    }

    fn rejected(values: &[&[u8]]) -> bool {
        matches!(
            idempotency_key(&request_with(values)),
            Err(err) if err.code() == "invalid_request" && err.to_string().contains("`Idempotency-Key`")
        )
    }

    #[test]
    fn keys_are_optional_and_printable_ascii_up_to_255() {
        assert_eq!(idempotency_key(&request_with(&[])).ok(), Some(None));
        let key = "order 1042: retry-safe ~".to_owned();
        assert_eq!(
            idempotency_key(&request_with(&[key.as_bytes()])).ok(),
            Some(Some(key))
        );
        let longest = "k".repeat(255);
        assert!(idempotency_key(&request_with(&[longest.as_bytes()])).is_ok());
        assert!(rejected(&["k".repeat(256).as_bytes()]));
        assert!(rejected(&[b""]));
        assert!(rejected(&["clé".as_bytes()]));
        assert!(rejected(&[b"a\tb"]));
        assert!(rejected(&[b"a", b"b"]));
    }

    #[test]
    fn stored_client_errors_replay_with_their_status_code_and_detail() {
        let body = r#"{"detail":"`badge` is wrong","code":"invalid_request"}"#;
        match replay(400, body) {
            Err(err) => {
                assert_eq!(err.status(), StatusCode::BAD_REQUEST);
                assert_eq!(err.code(), "invalid_request");
                assert_eq!(err.detail("req-2"), "`badge` is wrong");
            }
            Ok(value) => panic!("replayed as success: {value}"),
        }
        assert_eq!(
            replay(200, r#"{"success":true}"#).ok(),
            Some(serde_json::json!({"success": true}))
        );
    }

    #[test]
    fn only_request_bound_client_errors_are_stored() {
        assert!(depends_only_on_request(&Error::invalid_request("x")));
        assert!(depends_only_on_request(&Error::PayloadTooLarge("x".into())));
        assert!(depends_only_on_request(&Error::idempotency_key_reused()));
        assert!(!depends_only_on_request(&Error::NotFound("x".into())));
        assert!(!depends_only_on_request(&Error::internal("x", "y")));
    }
}
