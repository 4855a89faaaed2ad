//! `POST /3/device/{token}`: Apple's provider API, checked the way Apple
//! checks it, with Apple's status codes and `reason` names.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use http::request::Parts;
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use rand::Rng;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::apns_connection::Push;
use crate::conn::{version_name, ConnInfo};
use crate::credentials::{ApnsKey, Environment, VerifiedProviderToken};
use crate::faults::{Provider, TokenFault};
use crate::http_util::{self, BodyError, Resp};
use crate::json_probe::{ActivityEvent, ApsKeys, PayloadProbe};
use crate::jwt;
use crate::recorder::{ApnsDelivery, Delivery};
use crate::state::State;
use crate::stats::APNS;

/// `api.push.apple.com`'s path...
pub(crate) const PATH_PREFIX: &str = "/3/device/";
/// ...and `api.sandbox.push.apple.com`'s, on the same listeners: a client
/// configured with `<simulator>/sandbox` as its sandbox URL reaches it.
pub(crate) const SANDBOX_PATH_PREFIX: &str = "/sandbox/3/device/";

const APNS_ID: HeaderName = HeaderName::from_static("apns-id");

const MAX_PAYLOAD: usize = 4096;
/// VoIP payloads may be larger ("Sending notification requests to APNs").
const MAX_VOIP_PAYLOAD: usize = 5120;
const MAX_COLLAPSE_ID: usize = 64;
/// Apple refuses provider tokens older than an hour.
const TOKEN_LIFETIME_SECS: i64 = 3600;
/// Tolerated clock skew for an `iat` in the future.
const CLOCK_SKEW_SECS: i64 = 300;

/// Apple's `apns-push-type` values, each with the `apns-topic` suffix it
/// needs after the bundle id (`mdm` has an MDM certificate's topic, which
/// no token-signing key may push to).
const PUSH_TYPES: [(&str, Option<&str>); 10] = [
    ("alert", Some("")),
    ("background", Some("")),
    ("voip", Some(".voip")),
    ("complication", Some(".complication")),
    ("fileprovider", Some(".pushkit.fileprovider")),
    ("mdm", None),
    ("liveactivity", Some(".push-type.liveactivity")),
    ("location", Some(".location-query")),
    ("pushtotalk", Some(".voip-ptt")),
    ("widgets", Some(".push-type.widgets")),
];

/// Topics Apple derives from a bundle id for the special push types.
const TOPIC_SUFFIXES: [&str; 7] = [
    ".voip",
    ".complication",
    ".pushkit.fileprovider",
    ".push-type.liveactivity",
    ".location-query",
    ".voip-ptt",
    ".push-type.widgets",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rejection {
    status: StatusCode,
    reason: &'static str,
    retry_after_secs: Option<u64>,
}

impl Rejection {
    const fn new(status: StatusCode, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            retry_after_secs: None,
        }
    }
    const fn bad_request(reason: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }
    const fn forbidden(reason: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, reason)
    }
}

const INVALID_PROVIDER_TOKEN: Rejection = Rejection::forbidden("InvalidProviderToken");

pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    // Echo a well-formed apns-id, as Apple does; otherwise make one.
    let (apns_id, mut id_value) = match parts
        .headers
        .get(APNS_ID)
        .and_then(|value| Some((parse_apns_id(value)?, value.clone())))
    {
        Some(echoed) => echoed,
        None => {
            let id = random_uuid();
            (id, id_header(id))
        }
    };
    // Unique per request: HPACK-indexing it evicted the useful entries of
    // the connection's table on every answer (5% of the hot path).
    id_value.set_sensitive(true);
    match accept(state, conn, &parts, body, apns_id).await {
        Ok(delivery) => {
            if let Some(delivery) = delivery {
                state.recorder.record(Delivery::Apns(delivery));
            }
            state.stats.accepted(APNS);
            let mut response = http_util::empty(StatusCode::OK);
            response.headers_mut().insert(APNS_ID, id_value);
            response
        }
        Err(rejection) => {
            state.stats.rejected(APNS, rejection.reason);
            tracing::debug!(
                status = rejection.status.as_u16(),
                reason = rejection.reason,
                "apns push rejected"
            );
            rejection_response(rejection, id_value)
        }
    }
}

async fn accept(
    state: &State,
    conn: ConnInfo,
    parts: &Parts,
    body: Incoming,
    apns_id: Uuid,
) -> Result<Option<ApnsDelivery>, Rejection> {
    if parts.method != Method::POST {
        return Err(Rejection::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
        ));
    }
    if let Some(delay) = state.faults.delay(Provider::Apns) {
        tokio::time::sleep(delay).await;
    }
    // Read the body up front (bounded) so the stream is always consumed;
    // its errors are reported after the header checks, as Apple orders them.
    let body = http_util::read_body(&parts.headers, body, MAX_VOIP_PAYLOAD).await;

    let path = parts.uri.path();
    let (environment, token) = match path.strip_prefix(SANDBOX_PATH_PREFIX) {
        Some(token) => (Environment::Sandbox, token),
        None => (
            Environment::Production,
            path.strip_prefix(PATH_PREFIX).unwrap_or_default(),
        ),
    };
    if token.is_empty() {
        return Err(Rejection::bad_request("MissingDeviceToken"));
    }
    if !is_device_token(token) {
        return Err(Rejection::bad_request("BadDeviceToken"));
    }
    let headers = ApnsHeaders::scan(&parts.headers)?;
    if headers.id.is_some_and(|v| parse_apns_id(v).is_none()) {
        return Err(Rejection::bad_request("BadMessageId"));
    }
    let key = authorize(state, headers.authorization, jwt::now_secs())?;

    let topic = match headers.topic {
        None => return Err(Rejection::bad_request("MissingTopic")),
        Some(value) => header_str(value, "BadTopic")?,
    };
    if topic.is_empty() {
        return Err(Rejection::bad_request("MissingTopic"));
    }
    let Some(topic_suffix) = topic_suffix(&key, topic) else {
        return Err(Rejection::bad_request("TopicDisallowed"));
    };
    state
        .apns_connections
        .admit(
            &state.registry,
            &Push {
                connection: conn.id,
                environment,
                key: &key,
                token: bearer_token(headers.authorization),
                bundle_id: &topic[..topic.len() - topic_suffix.len()],
                now: std::time::Instant::now(),
            },
        )
        .map_err(|refusal| Rejection::new(refusal.status, refusal.reason))?;
    let push_type = match headers.push_type {
        None => None,
        Some(value) => {
            let value = header_str(value, "InvalidPushType")?;
            let known = PUSH_TYPES.iter().find(|(name, _)| *name == value);
            let (name, suffix) = *known.ok_or(Rejection::bad_request("InvalidPushType"))?;
            check_topic(suffix, topic_suffix)?;
            Some(name)
        }
    };
    let priority = match headers.priority {
        None => None,
        // Apple documents 10 (immediately), 5 (power-aware) and 1 (lowest).
        Some(value) => match header_str(value, "BadPriority")? {
            "10" => Some(10),
            "5" => Some(5),
            "1" => Some(1),
            _ => return Err(Rejection::bad_request("BadPriority")),
        },
    };
    let collapse_id = match headers.collapse_id {
        None => None,
        Some(v) if v.len() > MAX_COLLAPSE_ID => {
            return Err(Rejection::bad_request("BadCollapseId"))
        }
        Some(value) => Some(header_str(value, "BadCollapseId")?),
    };
    let expiration = match headers.expiration {
        None => None,
        Some(value) => Some(
            header_str(value, "BadExpirationDate")?
                .parse::<i64>()
                .map_err(|_| Rejection::bad_request("BadExpirationDate"))?,
        ),
    };

    if let (Some(push_type), Some(priority)) = (push_type, priority) {
        check_priority(push_type, priority)?;
    }
    let payload = match body {
        Ok(bytes) if bytes.len() > MAX_PAYLOAD && push_type != Some("voip") => {
            return Err(Rejection::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
            ))
        }
        Ok(bytes) => {
            let (payload, aps) = validate_payload(bytes)?;
            if let Some(push_type) = push_type {
                check_payload(push_type, &aps)?;
            }
            payload
        }
        Err(BodyError::TooLarge) => {
            return Err(Rejection::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
            ))
        }
        Err(BodyError::Read) => return Err(Rejection::bad_request("BadPayload")),
    };

    if state.faults.apns_expired_token(token) {
        return Err(Rejection::new(StatusCode::GONE, "ExpiredToken"));
    }
    match state.faults.token_fault(Provider::Apns, token) {
        Some(TokenFault::Unregistered) => {
            return Err(Rejection::new(StatusCode::GONE, "Unregistered"))
        }
        Some(TokenFault::BadDeviceToken) => return Err(Rejection::bad_request("BadDeviceToken")),
        Some(TokenFault::WrongApp) => return Err(Rejection::bad_request("DeviceTokenNotForTopic")),
        None => {}
    }
    if let Some(hit) = state.faults.take_status(Provider::Apns) {
        let reason = match hit.status {
            429 => "TooManyRequests",
            500 => "InternalServerError",
            _ => "ServiceUnavailable",
        };
        let status = StatusCode::from_u16(hit.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(Rejection {
            status,
            reason,
            retry_after_secs: hit.retry_after_secs,
        });
    }

    // Lean mode keeps nothing: building the record (copies of the token,
    // topic and payload) was 3% of its hot path.
    if !state.recorder.is_recording() {
        return Ok(None);
    }
    Ok(Some(ApnsDelivery {
        token: token.to_owned(),
        topic: topic.to_owned(),
        push_type,
        priority,
        expiration,
        collapse_id: collapse_id.map(str::to_owned),
        apns_id,
        key,
        payload: String::from_utf8_lossy(&payload).into(),
        listener: conn.listener,
        connection: conn.id,
        environment,
        http_version: version_name(parts.version),
        received_at: Utc::now(),
    }))
}

/// Hex, even length, 64 to 200 characters: today's 32-byte tokens and room
/// for the longer ones Apple has announced (the same rule as Notify's).
fn is_device_token(token: &str) -> bool {
    (64..=200).contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A v4 UUID from the thread-local RNG (`Uuid::new_v4` asks the kernel for
/// every id, which shows at 100k pushes a second).
fn random_uuid() -> Uuid {
    uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid()
}

/// Apple wants the canonical 8-4-4-4-12 form.
fn parse_apns_id(value: &HeaderValue) -> Option<Uuid> {
    let value = value.to_str().ok()?;
    (value.len() == 36).then(|| Uuid::try_parse(value).ok())?
}

fn header_str<'a>(value: &'a HeaderValue, reason: &'static str) -> Result<&'a str, Rejection> {
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| Rejection::bad_request(reason))
}

/// The headers APNs looks at, found in one pass over the request headers
/// (cheaper than a look-up per name, and it spots duplicates on the way).
#[derive(Default)]
struct ApnsHeaders<'a> {
    authorization: Option<&'a HeaderValue>,
    id: Option<&'a HeaderValue>,
    topic: Option<&'a HeaderValue>,
    push_type: Option<&'a HeaderValue>,
    priority: Option<&'a HeaderValue>,
    collapse_id: Option<&'a HeaderValue>,
    expiration: Option<&'a HeaderValue>,
}

impl<'a> ApnsHeaders<'a> {
    fn scan(headers: &'a HeaderMap) -> Result<Self, Rejection> {
        let mut found = Self::default();
        for (name, value) in headers {
            let slot = match name.as_str() {
                "authorization" => &mut found.authorization,
                "apns-id" => &mut found.id,
                "apns-topic" => &mut found.topic,
                "apns-push-type" => &mut found.push_type,
                "apns-priority" => &mut found.priority,
                "apns-collapse-id" => &mut found.collapse_id,
                "apns-expiration" => &mut found.expiration,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Rejection::bad_request("DuplicateHeaders"));
            }
        }
        Ok(found)
    }
}

/// The topic's push-type suffix (`""` for the bundle id itself), or `None`
/// when the key may not push to it. A key for any bundle reads the suffix
/// off the end.
fn topic_suffix<'t>(key: &ApnsKey, topic: &'t str) -> Option<&'t str> {
    if key.bundle_ids.is_empty() {
        let suffix = TOPIC_SUFFIXES
            .iter()
            .find(|suffix| topic.len() > suffix.len() && topic.ends_with(*suffix))
            .map_or("", |suffix| &topic[topic.len() - suffix.len()..]);
        return Some(suffix);
    }
    key.bundle_ids.iter().find_map(|bundle| {
        topic
            .strip_prefix(bundle.as_str())
            .filter(|rest| rest.is_empty() || TOPIC_SUFFIXES.contains(rest))
    })
}

/// The push type must match its topic: a special type on the bare bundle
/// id is `InvalidPushType`, any type on another type's topic (or `mdm`,
/// which needs an MDM topic) is `TopicDisallowed`.
fn check_topic(wanted: Option<&str>, topic_suffix: &str) -> Result<(), Rejection> {
    match wanted {
        Some(wanted) if wanted == topic_suffix => Ok(()),
        Some(_) if topic_suffix.is_empty() => Err(Rejection::bad_request("InvalidPushType")),
        _ => Err(Rejection::bad_request("TopicDisallowed")),
    }
}

/// Background and File Provider pushes go at 5, push-to-talk at 10, Live
/// Activities at 5 or 10.
fn check_priority(push_type: &str, priority: u8) -> Result<(), Rejection> {
    let allowed = match push_type {
        "background" | "fileprovider" => priority == 5,
        "pushtotalk" => priority == 10,
        "liveactivity" => priority != 1,
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rejection::bad_request("BadPriority"))
    }
}

/// What a push type's payload must (not) hold. Apple's reason for a payload
/// that contradicts its push type: `InvalidPushType`.
fn check_payload(push_type: &str, aps: &ApsKeys) -> Result<(), Rejection> {
    let visible = aps.alert || aps.badge || aps.sound;
    let valid = match push_type {
        "background" => !visible && aps.content_available,
        "widgets" => aps.content_changed && !visible,
        "liveactivity" => {
            aps.timestamp
                && !aps.badge
                && match aps.event {
                    Some(ActivityEvent::Start) => {
                        aps.content_state && aps.attributes_type && aps.attributes
                    }
                    Some(ActivityEvent::Update) => aps.content_state,
                    Some(ActivityEvent::End) => true,
                    Some(ActivityEvent::Other) | None => false,
                }
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(Rejection::bad_request("InvalidPushType"))
    }
}

/// Checks `authorization: bearer <ES256 JWT>`. A token's signature is
/// verified once; later requests with the same token are a map look-up,
/// but its age is checked every time.
fn authorize(
    state: &State,
    authorization: Option<&HeaderValue>,
    now: i64,
) -> Result<Arc<ApnsKey>, Rejection> {
    let value = authorization.ok_or(Rejection::forbidden("MissingProviderToken"))?;
    // The token this thread verified last, compared as bytes: checking the
    // 250-byte header as text first cost 4% of the hot path (callgrind).
    let memoized = value
        .as_bytes()
        .split_at_checked(BEARER.len())
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(BEARER))
        .and_then(|(_, token)| state.registry.memoized_provider_token(token));
    if let Some(verified) = memoized {
        return check_age(verified, now);
    }
    let value = value.to_str().map_err(|_| INVALID_PROVIDER_TOKEN)?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(INVALID_PROVIDER_TOKEN)?;
    if token.is_empty() {
        return Err(Rejection::forbidden("MissingProviderToken"));
    }
    let verified = match state.registry.verified_provider_token(token) {
        Some(verified) => verified,
        None => {
            let verified = verify_provider_token(state, token, now)?;
            state
                .registry
                .remember_provider_token(token, verified.clone());
            verified
        }
    };
    check_age(verified, now)
}

const BEARER: &[u8] = b"bearer ";

/// The JWT of an `authorization` header that [`authorize`] accepted.
fn bearer_token(authorization: Option<&HeaderValue>) -> &[u8] {
    authorization
        .map(HeaderValue::as_bytes)
        .and_then(|value| value.get(BEARER.len()..))
        .map(<[u8]>::trim_ascii)
        .unwrap_or_default()
}

fn check_age(verified: VerifiedProviderToken, now: i64) -> Result<Arc<ApnsKey>, Rejection> {
    if now - verified.issued_at > TOKEN_LIFETIME_SECS {
        return Err(Rejection::forbidden("ExpiredProviderToken"));
    }
    Ok(verified.key)
}

fn verify_provider_token(
    state: &State,
    token: &str,
    now: i64,
) -> Result<VerifiedProviderToken, Rejection> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
    }
    #[derive(Deserialize)]
    struct Claims {
        iss: Option<String>,
        iat: Option<i64>,
    }
    let jws = jwt::parse(token).ok_or(INVALID_PROVIDER_TOKEN)?;
    let header: Header = jws.header().ok_or(INVALID_PROVIDER_TOKEN)?;
    let claims: Claims = jws.claims().ok_or(INVALID_PROVIDER_TOKEN)?;
    if header.alg != "ES256" {
        return Err(INVALID_PROVIDER_TOKEN);
    }
    let key = header
        .kid
        .and_then(|kid| state.registry.apns_key(&kid))
        .ok_or(INVALID_PROVIDER_TOKEN)?;
    if claims.iss.as_deref() != Some(key.team_id.as_str()) {
        return Err(INVALID_PROVIDER_TOKEN);
    }
    let issued_at = claims.iat.ok_or(INVALID_PROVIDER_TOKEN)?;
    if issued_at > now + CLOCK_SKEW_SECS || !jws.verify_es256(&key.public_key) {
        return Err(INVALID_PROVIDER_TOKEN);
    }
    Ok(VerifiedProviderToken { key, issued_at })
}

/// Non-empty JSON object with an `aps` object, in UTF-8 (serde_json does
/// not check the strings it skips); with the `aps` keys the push-type rules
/// need (one parse).
fn validate_payload(bytes: Bytes) -> Result<(Bytes, ApsKeys), Rejection> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::bad_request("PayloadEmpty"));
    }
    let PayloadProbe(aps) = serde_json::from_slice::<PayloadProbe>(&bytes)
        .map_err(|_| Rejection::bad_request("BadPayload"))?;
    match std::str::from_utf8(&bytes) {
        Ok(_) => Ok((bytes, aps)),
        Err(_) => Err(Rejection::bad_request("BadPayload")),
    }
}

fn id_header(apns_id: Uuid) -> HeaderValue {
    let mut buffer = Uuid::encode_buffer();
    HeaderValue::from_str(apns_id.hyphenated().encode_lower(&mut buffer)).unwrap_or(
        HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    )
}

fn rejection_response(rejection: Rejection, apns_id: HeaderValue) -> Resp {
    let body = if rejection.status == StatusCode::GONE {
        json!({"reason": rejection.reason, "timestamp": Utc::now().timestamp_millis()})
    } else {
        json!({"reason": rejection.reason})
    };
    let mut response = http_util::json(rejection.status, &body);
    let headers = response.headers_mut();
    headers.insert(APNS_ID, apns_id);
    if let Some(secs) = rejection.retry_after_secs {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(json: &str) -> Result<Bytes, &'static str> {
        validate_payload(Bytes::copy_from_slice(json.as_bytes()))
            .map(|(text, _)| text)
            .map_err(|r| r.reason)
    }

    fn aps(json: &str) -> ApsKeys {
        validate_payload(Bytes::copy_from_slice(json.as_bytes()))
            .map(|(_, aps)| aps)
            .unwrap_or_default()
    }

    fn reason<T>(result: Result<T, Rejection>) -> Option<&'static str> {
        result.err().map(|r| r.reason)
    }

    #[test]
    fn a_push_type_must_match_its_topic_suffix() {
        assert_eq!(
            reason(check_topic(
                Some(".push-type.liveactivity"),
                ".push-type.liveactivity"
            )),
            None
        );
        assert_eq!(reason(check_topic(Some(""), "")), None);
        assert_eq!(
            reason(check_topic(Some(".push-type.liveactivity"), "")),
            Some("InvalidPushType")
        );
        assert_eq!(
            reason(check_topic(Some(""), ".voip")),
            Some("TopicDisallowed")
        );
        assert_eq!(
            reason(check_topic(Some(".voip"), ".voip-ptt")),
            Some("TopicDisallowed")
        );
        assert_eq!(reason(check_topic(None, "")), Some("TopicDisallowed"));
        let any_bundle = ApnsKey {
            key_id: "K".into(),
            team_id: "T".into(),
            bundle_ids: vec![],
            public_key: vec![],
            environment: None,
            related_key_id: None,
        };
        assert_eq!(topic_suffix(&any_bundle, "a.b.voip-ptt"), Some(".voip-ptt"));
        assert_eq!(topic_suffix(&any_bundle, "a.b.voip"), Some(".voip"));
        assert_eq!(topic_suffix(&any_bundle, "a.b"), Some(""));
    }

    #[test]
    fn priorities_and_payloads_must_suit_the_push_type() {
        assert_eq!(
            reason(check_priority("background", 10)),
            Some("BadPriority")
        );
        assert_eq!(reason(check_priority("background", 5)), None);
        assert_eq!(reason(check_priority("pushtotalk", 5)), Some("BadPriority"));
        assert_eq!(reason(check_priority("liveactivity", 5)), None);
        assert_eq!(
            reason(check_priority("liveactivity", 1)),
            Some("BadPriority")
        );
        let background = aps(r#"{"aps":{"content-available":1,"badge":1}}"#);
        assert_eq!(
            reason(check_payload("background", &background)),
            Some("InvalidPushType")
        );
        let update = aps(r#"{"aps":{"event":"update","timestamp":1,"content-state":{"a":1}}}"#);
        assert_eq!(reason(check_payload("liveactivity", &update)), None);
        let start_without_attributes =
            aps(r#"{"aps":{"event":"start","timestamp":1,"content-state":{}}}"#);
        assert_eq!(
            reason(check_payload("liveactivity", &start_without_attributes)),
            Some("InvalidPushType")
        );
        let no_event = aps(r#"{"aps":{"timestamp":1,"content-state":{}}}"#);
        assert_eq!(
            reason(check_payload("liveactivity", &no_event)),
            Some("InvalidPushType")
        );
        assert_eq!(
            reason(check_payload("widgets", &aps(r#"{"aps":{}}"#))),
            Some("InvalidPushType")
        );
        assert_eq!(
            reason(check_payload(
                "widgets",
                &aps(r#"{"aps":{"content-changed":true}}"#)
            )),
            None
        );
    }

    #[test]
    fn payloads_need_an_aps_object_inside_an_object() {
        assert!(payload(r#"{"aps":{"alert":"hi"},"x":[1,{"aps":2}]}"#).is_ok());
        assert!(payload(r#"{"a\u0070s":{}}"#).is_ok());
        assert_eq!(payload("  "), Err("PayloadEmpty"));
        assert_eq!(payload(r#"{"aps":"hi"}"#), Err("BadPayload"));
        assert_eq!(payload(r#"{"other":{}}"#), Err("BadPayload"));
        assert_eq!(payload(r#"[{"aps":{}}]"#), Err("BadPayload"));
        assert_eq!(payload(r#"{"aps":{}} trailing"#), Err("BadPayload"));
    }

    #[test]
    fn device_tokens_are_even_length_hex_of_64_to_200_chars() {
        assert!(is_device_token(&"aB".repeat(32)));
        assert!(!is_device_token(&"a".repeat(63)));
        assert!(!is_device_token(&"a".repeat(65)));
        assert!(!is_device_token(&"g".repeat(64)));
        assert!(!is_device_token(&"a".repeat(202)));
    }

    #[test]
    fn topics_may_carry_the_suffix_of_a_special_push_type() {
        let key = ApnsKey {
            key_id: "K".into(),
            team_id: "T".into(),
            bundle_ids: vec!["com.example.app".into()],
            public_key: vec![],
            environment: None,
            related_key_id: None,
        };
        assert_eq!(topic_suffix(&key, "com.example.app"), Some(""));
        assert_eq!(topic_suffix(&key, "com.example.app.voip"), Some(".voip"));
        assert_eq!(
            topic_suffix(&key, "com.example.app.push-type.liveactivity"),
            Some(".push-type.liveactivity")
        );
        assert_eq!(topic_suffix(&key, "com.example.app.other"), None);
        assert_eq!(topic_suffix(&key, "com.example.other"), None);
    }
}
