//! A Web Push service (RFC 8030) at `/wp/{id}`: checks the VAPID
//! authorization (RFC 8292) as push services do (401 when missing or not
//! signed by the key it names, 403 when expired, too long-lived, for
//! another origin, or by a key other than the subscription's
//! `applicationServerKey`), records each accepted request's headers and raw
//! body, and decrypts the body (RFC 8291) when it made the subscription
//! itself (`POST /admin/web-push-subscriptions`).
//!
//! Subscription ids starting with `gone` answer 410 (an expired
//! subscription), ids starting with `busy` are throttled (429 with
//! `Retry-After: 1`; WNS: 406). A subscription made with `"service"` plays
//! that push service's rules (`webpush_service`); one made with
//! `"http1_only": true` lives on the listener without HTTP/2.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, ECDH_P256};
use aws_lc_rs::hkdf::{self, Salt, HKDF_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use http::header::{HeaderValue, LOCATION};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::conn::ConnInfo;
use crate::http_util::{self, Resp};
use crate::state::State;
use crate::stats::WEBPUSH;
use crate::webpush_service::{refuse, Service, MOZILLA_PATH_PREFIX, PATH_PREFIX};
use crate::webpush_state::{Subscription, WebPushDelivery};
use crate::webpush_vapid::b64;

/// RFC 8030 push services accept at least 4096 bytes; this one no more.
const MAX_BODY: usize = 4096;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SubscriptionRequest {
    /// Where the endpoint points (e.g. the TLS listener's
    /// `https://127.0.0.1:9473`); the admin request's own origin by default.
    #[serde(default)]
    origin: Option<String>,
    /// The VAPID public key (base64url) the subscription is bound to, as a
    /// browser's `applicationServerKey`: pushes signed by another key get 403.
    #[serde(default)]
    application_server_key: Option<String>,
    /// The subscription id (the endpoint's last segment); random by default.
    #[serde(default)]
    id: Option<String>,
    /// The push service whose rules the subscription plays.
    #[serde(default)]
    service: Service,
    /// With `service: "mozilla"`: a Firefox for Android/iOS subscription,
    /// whose bodies autopush bridges through FCM/APNs (smaller limit).
    #[serde(default)]
    bridged: bool,
    /// On the listener that offers only HTTP/1.1 (ALPN without `h2`).
    #[serde(default)]
    http1_only: bool,
}

/// `POST /admin/web-push-subscriptions`: a new subscription in the shape
/// of `PushSubscription.toJSON()`.
pub(crate) fn create_subscription(
    state: &State,
    conn: ConnInfo,
    parts: &Parts,
    body: &[u8],
) -> Resp {
    let request: SubscriptionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SubscriptionRequest::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(e) => {
                return http_util::admin_error(
                    StatusCode::BAD_REQUEST,
                    format!("invalid request body: {e}"),
                )
            }
        }
    };
    let application_server_key = match request.application_server_key.as_deref().map(b64) {
        None => None,
        Some(Some(key)) if key.len() == 65 => Some(key),
        Some(_) => {
            return http_util::admin_error(
                StatusCode::BAD_REQUEST,
                "application_server_key must be a base64url 65-byte P-256 point",
            )
        }
    };
    let id = request
        .id
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    if request.bridged && request.service != Service::Mozilla {
        return http_util::admin_error(
            StatusCode::BAD_REQUEST,
            "bridged is for service \"mozilla\" only",
        );
    }
    let origin = match (request.http1_only, request.origin) {
        (true, Some(_)) => {
            return http_util::admin_error(
                StatusCode::BAD_REQUEST,
                "http1_only picks the origin: give one or the other",
            )
        }
        (true, None) => match state.web_push.http1_origin() {
            Some(origin) => origin,
            None => {
                return http_util::admin_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the HTTP/1.1-only listener is not running",
                )
            }
        },
        (false, Some(origin)) => origin.trim_end_matches('/').to_owned(),
        (false, None) => http_util::base_url(conn, parts),
    };
    let (Ok(private_key), mut auth) = (PrivateKey::generate(&ECDH_P256), [0_u8; 16]) else {
        return http_util::admin_error(StatusCode::INTERNAL_SERVER_ERROR, "key generation failed");
    };
    let (Ok(public_key), Ok(())) = (
        private_key.compute_public_key(),
        aws_lc_rs::rand::fill(&mut auth),
    ) else {
        return http_util::admin_error(StatusCode::INTERNAL_SERVER_ERROR, "key generation failed");
    };
    let endpoint = format!("{origin}{}{id}", request.service.path_prefix());
    let answer = json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode(public_key.as_ref()),
            "auth": URL_SAFE_NO_PAD.encode(auth),
        },
    });
    state.web_push.subscribe(
        endpoint,
        Subscription {
            private_key,
            auth,
            application_server_key,
            service: request.service,
            bridged: request.bridged,
        },
    );
    http_util::json(StatusCode::CREATED, &answer)
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_fill(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Option<()> {
    prk.expand(info, Len(out.len())).ok()?.fill(out).ok()
}

/// RFC 8291 decryption of a one-record `aes128gcm` body, as the browser
/// holding the subscription would do it.
fn decrypt(body: &[u8], subscription: &Subscription) -> Option<Vec<u8>> {
    let salt = body.get(..16)?;
    let id_len = usize::from(*body.get(20)?);
    let sender_key = body.get(21..21 + id_len)?;
    let mut record = body.get(21 + id_len..)?.to_vec();
    let receiver_key = subscription.private_key.compute_public_key().ok()?;
    let ikm = agreement::agree(
        &subscription.private_key,
        UnparsedPublicKey::new(&ECDH_P256, sender_key),
        (),
        |shared| {
            let prk = Salt::new(HKDF_SHA256, &subscription.auth).extract(shared);
            let mut ikm = [0_u8; 32];
            hkdf_fill(
                &prk,
                &[b"WebPush: info\0", receiver_key.as_ref(), sender_key],
                &mut ikm,
            )
            .ok_or(())?;
            Ok(ikm)
        },
    )
    .ok()?;
    let prk = Salt::new(HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0_u8; 16];
    hkdf_fill(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
    let mut nonce = [0_u8; 12];
    hkdf_fill(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).ok()?);
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut record,
        )
        .ok()?;
    let end = plain.iter().rposition(|b| *b != 0)?;
    (plain[end] == 2).then(|| plain[..end].to_vec())
}

/// `POST /wp/{id}` (and `/wpush/v2/{id}`, autopush's shape), counted in
/// `/stats` under `webpush`.
pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let answer = answer(state, conn, req).await;
    if answer.status() == StatusCode::CREATED {
        state.stats.accepted(WEBPUSH);
    } else {
        let status = answer.status();
        state
            .stats
            .rejected(WEBPUSH, status.canonical_reason().unwrap_or("error"));
    }
    answer
}

async fn answer(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, 109, "POST required");
    }
    let path = parts.uri.path();
    let id = path
        .strip_prefix(MOZILLA_PATH_PREFIX)
        .or_else(|| path.strip_prefix(PATH_PREFIX))
        .unwrap_or_default()
        .to_owned();
    if id.is_empty() || id.contains('/') {
        return refuse(StatusCode::NOT_FOUND, 102, "no such subscription");
    }
    let body = match http_util::read_body(&parts.headers, body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, 104, "body over 4096 bytes"),
    };
    let origin = http_util::base_url(conn, &parts);
    let endpoint = format!("{origin}{}", parts.uri.path());
    let (bound_key, service, bridged) = {
        let subscriptions = state.web_push.subscriptions();
        subscriptions
            .get(&endpoint)
            .map_or((None, Service::Standard, false), |s| {
                (s.application_server_key.clone(), s.service, s.bridged)
            })
    };
    let key = match state.web_push.vapid.check(&parts.headers, &origin) {
        Ok(key) => key,
        Err((status, reason)) => return refuse(status, 109, reason),
    };
    if bound_key.is_some_and(|bound| bound[..] != key[..]) {
        return service.key_mismatch();
    }
    if parts
        .headers
        .get("ttl")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_none()
    {
        return refuse(StatusCode::BAD_REQUEST, 111, "the TTL header is required");
    }
    if parts
        .headers
        .get("content-encoding")
        .map(HeaderValue::as_bytes)
        != Some(b"aes128gcm")
    {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            110,
            "Content-Encoding must be aes128gcm",
        );
    }
    if let Some(answer) = service.check_topic(parts.headers.get("topic")) {
        return answer;
    }
    if service.too_large(bridged, body.len()) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            104,
            "bridged subscriptions take 4096 bytes once base64-encoded",
        );
    }
    if id.starts_with("gone") {
        return refuse(StatusCode::GONE, 106, "subscription expired");
    }
    if id.starts_with("busy") {
        return service.throttled();
    }
    if state.recorder.is_recording() {
        record(state, conn, &parts, &endpoint, &body);
    }
    let mut answer = http_util::empty(StatusCode::CREATED);
    if let Ok(location) = HeaderValue::try_from(format!("{endpoint}/message")) {
        answer.headers_mut().insert(LOCATION, location);
    }
    answer
}

/// Keeps an accepted push for `/deliveries`, decrypted when the simulator
/// made the subscription. Lean mode (benchmarks) keeps nothing, as for
/// APNs and FCM: every check above is still made.
fn record(state: &State, conn: ConnInfo, parts: &Parts, endpoint: &str, body: &[u8]) {
    let plaintext = {
        let subscriptions = state.web_push.subscriptions();
        subscriptions.get(endpoint).and_then(|s| decrypt(body, s))
    }
    .map(|plain| {
        serde_json::from_slice(&plain)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&plain).into_owned()))
    });
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            )
        })
        .collect();
    state.web_push.record(WebPushDelivery {
        endpoint: endpoint.to_owned(),
        headers,
        body: body.to_vec(),
        plaintext,
        listener: conn.listener,
        received_at: Utc::now(),
    });
}
