//! Standard Web Push delivery (RFC 8030): one `POST` of the RFC 8291
//! encrypted message to the subscription's endpoint, authorised with the
//! tenant's VAPID key (RFC 8292). Only endpoints on the deployment's
//! allow-list are contacted, checked again here at send time.

pub(crate) mod message;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Version};

use crate::push::outcome::{dead, failed, transient, Attempt, DeliveryOutcome};
use crate::push::target::{Target, TenantPush};
use crate::push::transport::{Reply, Transport};
use crate::web_push::ece::{self, EceError};
use crate::web_push::{VapidKey, WebPushHosts};
pub(crate) use message::WebPushMessage;

/// A VAPID token is valid this long (RFC 8292 allows at most 24 hours)...
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// ...and reused until this much of it is left.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(3600);
/// Entries one container keeps before dropping the expired ones.
const MAX_ENTRIES: usize = 4096;

const TTL: HeaderName = HeaderName::from_static("ttl");
const URGENCY: HeaderName = HeaderName::from_static("urgency");
const TOPIC: HeaderName = HeaderName::from_static("topic");

/// What a VAPID header is cached under: the tenant's key fingerprint and
/// the push service's origin (the token's `aud`).
type CacheId = ([u8; 32], String);

pub(crate) struct WebPush {
    hosts: WebPushHosts,
    /// Header and its token's `exp` (wall-clock seconds).
    headers: Mutex<HashMap<CacheId, (HeaderValue, u64)>>,
    /// Token ages on the wall clock: a frozen Lambda's monotonic clock may
    /// stand still while the token expires.
    pub(crate) clock: crate::clock::Clock,
}

/// One notification on its way to one tenant's Web Push devices.
pub(crate) struct WebPushBatch<'a> {
    web_push: &'a WebPush,
    transport: &'a Transport,
    key: &'a VapidKey,
    fingerprint: [u8; 32],
    /// Whose share of the transport's Web Push origins a new origin takes.
    tenant_id: &'a str,
    message: &'a WebPushMessage,
}

impl WebPush {
    pub fn new(hosts: WebPushHosts) -> Self {
        Self {
            hosts,
            headers: Mutex::new(HashMap::new()),
            clock: crate::clock::Clock::system(),
        }
    }

    /// The batch for `tenant`, or the outcome every Web Push device of the
    /// tenant gets without a request.
    pub fn prepare<'a>(
        &'a self,
        transport: &'a Transport,
        tenant: &'a TenantPush,
        message: &'a WebPushMessage,
    ) -> Result<WebPushBatch<'a>, DeliveryOutcome> {
        let Some(key) = &tenant.web_push else {
            return Err(failed("web push not configured for tenant (no VAPID key)"));
        };
        if !message.fits() {
            return Err(failed(
                "payload too large for web push (4096 bytes encrypted)",
            ));
        }
        Ok(WebPushBatch {
            web_push: self,
            transport,
            key,
            fingerprint: key.fingerprint(&tenant.tenant_id),
            tenant_id: &tenant.tenant_id,
            message,
        })
    }

    /// The `Authorization` value for `audience`, signing a new token when
    /// the cached one is within an hour of its expiry.
    fn authorization(&self, id: CacheId, key: &VapidKey) -> Result<HeaderValue, &'static str> {
        let mut cache = self.headers.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now_unix_secs();
        if let Some((value, expires)) = cache.get(&id) {
            if expires.saturating_sub(now) > RENEW_BEFORE_EXPIRY.as_secs() {
                return Ok(value.clone());
            }
        }
        let exp = now.saturating_add(TOKEN_LIFETIME.as_secs());
        let mut value = HeaderValue::try_from(key.sign(&id.1, exp)?)
            .map_err(|_| "web push key of tenant cannot sign VAPID tokens")?;
        value.set_sensitive(true);
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, (_, expires)| *expires > now);
            // Still full of live tokens (wildcard hosts give many origins):
            // start over rather than grow; they are re-signed on demand.
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(id, (value.clone(), exp));
        Ok(value)
    }

    /// The push service refused the token: sign anew next time.
    fn forget(&self, id: &CacheId) {
        let mut cache = self.headers.lock().unwrap_or_else(|p| p.into_inner());
        cache.remove(id);
    }
}

impl WebPushBatch<'_> {
    /// One request for `target`; `attempt` counts from 1.
    pub async fn attempt(&self, target: &Target, _attempt: u32) -> Attempt {
        let Some(keys) = &target.web_push_keys else {
            return failed("webpush device has no subscription keys").into();
        };
        let Some(origin) = self.web_push.hosts.allowed_origin(&target.token) else {
            return failed("webpush endpoint is not on the push-service allow-list").into();
        };
        let Ok((p256dh, auth)) = keys.validate() else {
            return failed("webpush subscription keys are invalid").into();
        };
        let body = match ece::encrypt(&self.message.plaintext, &p256dh, &auth) {
            Ok(body) => body,
            Err(EceError::TooLarge) => {
                return failed("payload too large for web push (4096 bytes encrypted)").into()
            }
            Err(_) => return failed("webpush encryption failed").into(),
        };
        let audience = origin.audience();
        let endpoint = match self.transport.web_push_endpoint(&audience, self.tenant_id) {
            Ok(endpoint) => endpoint,
            Err(err) => return failed(err.reason()).into(),
        };
        let path = target
            .token
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_owned()))
            .unwrap_or_else(|| "/".to_owned());
        let uri = match endpoint.uri(&path) {
            Ok(uri) => uri,
            Err(err) => return failed(err.reason()).into(),
        };
        let id = (self.fingerprint, audience);
        let authorization = match self.web_push.authorization(id.clone(), self.key) {
            Ok(value) => value,
            Err(reason) => return failed(reason).into(),
        };
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(TTL, self.message.ttl.clone());
        headers.insert(URGENCY, self.message.urgency.clone());
        if let Some(topic) = &self.message.topic {
            headers.insert(TOPIC, topic.clone());
        }
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("aes128gcm"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = headers;
        match endpoint.send(request, body.into()).await {
            Ok(reply) => self.classify(reply, &id),
            Err(err) if err.is_retryable() => transient(err.reason()).into(),
            Err(err) => failed(err.reason()).into(),
        }
    }

    fn classify(&self, reply: Reply, id: &CacheId) -> Attempt {
        let status = reply.status;
        let outcome = if status.is_success() {
            DeliveryOutcome::Delivered
        } else if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            // RFC 8030 §7.3: the subscription expired or was removed.
            dead(format!(
                "webpush status {}: subscription gone",
                status.as_u16()
            ))
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            transient(format!("webpush status {}", status.as_u16()))
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            self.web_push.forget(id);
            failed(format!(
                "webpush status {}: VAPID authorization refused",
                status.as_u16()
            ))
        } else if status == StatusCode::PAYLOAD_TOO_LARGE {
            failed("webpush status 413: payload too large")
        } else {
            failed(format!("webpush status {}", status.as_u16()))
        };
        Attempt {
            outcome,
            retry_after: reply.retry_after,
        }
    }
}
