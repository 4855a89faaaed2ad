//! Standard Web Push delivery (RFC 8030): one `POST` of the RFC 8291
//! encrypted message to the subscription's endpoint, authorised with the
//! tenant's VAPID key (RFC 8292). Only endpoints on the deployment's
//! allow-list are contacted, checked again here at send time.
//!
//! What is sent is what every push service accepts (a `Topic` Apple can
//! decode, one `Topic` per `collapse_id` everywhere); the few rules that
//! differ by service are in `service`, and HTTP/1.1 is used for a service
//! that does not offer HTTP/2 (`http1`).

mod answer;
mod http1;
pub(crate) mod message;
mod service;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Version};

use crate::push::outcome::{failed, transient, Attempt, DeliveryOutcome};
use crate::push::target::{Target, TenantPush};
use crate::push::transport::{Reply, Transport, TransportError};
use crate::web_push_protocol::ece::{self, EceError};
use crate::web_push_protocol::hosts::EndpointOrigin;
use crate::web_push_protocol::{VapidKey, WebPushHosts};
pub(crate) use message::WebPushMessage;
use service::PushService;

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
    http1: http1::Http1,
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
            http1: http1::Http1::default(),
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
    pub async fn attempt(&self, target: &Target, attempt: u32) -> Attempt {
        let Some(keys) = &target.web_push_keys else {
            return failed("webpush device has no subscription keys").into();
        };
        let Some(origin) = self.web_push.hosts.allowed_origin(&target.token) else {
            return failed("webpush endpoint is not on the push-service allow-list").into();
        };
        let Ok((p256dh, auth)) = keys.validate() else {
            return failed("webpush subscription keys are invalid").into();
        };
        let path = target
            .token
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_owned()))
            .unwrap_or_else(|| "/".to_owned());
        let service = PushService::of(&origin, &path);
        if service == PushService::Apple && self.message.silent {
            // Safari has no invisible push: a push that shows nothing costs
            // the site its permission (Apple, "Sending web push
            // notifications in web apps and browsers").
            return failed(
                "Safari web push must show a notification: send an alert (a push without one would cost the site its permission)",
            )
            .into();
        }
        let body = match ece::encrypt(&self.message.plaintext, &p256dh, &auth) {
            Ok(body) => body,
            Err(EceError::TooLarge) => {
                return failed("payload too large for web push (4096 bytes encrypted)").into()
            }
            Err(_) => return failed("webpush encryption failed").into(),
        };
        if body.len() > service.max_message_len() {
            return failed(format!(
                "payload too large for Firefox's push service ({} bytes encrypted, a JSON of at most {} bytes: Firefox on Android and iOS)",
                service.max_message_len(),
                service.max_message_len() - ece::HEADER_LEN - ece::RECORD_OVERHEAD
            ))
            .into();
        }
        let audience = origin.audience();
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
        match self.send(&origin, &path, headers, body.into()).await {
            Ok(reply) => self.classify(reply, &id, attempt),
            Err(err) if err.is_retryable() => Attempt::sent(transient(err.reason())),
            Err(err) => Attempt::sent(failed(err.reason())),
        }
    }

    /// Over HTTP/2, or HTTP/1.1 where the push service does not offer it.
    async fn send(
        &self,
        origin: &EndpointOrigin,
        path: &str,
        headers: HeaderMap,
        body: bytes::Bytes,
    ) -> Result<Reply, TransportError> {
        let http1 = &self.web_push.http1;
        let endpoint = self
            .transport
            .web_push_endpoint(&origin.audience(), self.tenant_id)?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = endpoint.uri(path)?;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = headers;
        if let Some(reply) = http1
            .send_if_known(self.transport, origin, &request, &body)
            .await
        {
            return reply;
        }
        let mut retry = Request::new(());
        *retry.method_mut() = Method::POST;
        retry.uri_mut().clone_from(request.uri());
        retry.headers_mut().clone_from(request.headers());
        match endpoint.send(request, body.clone()).await {
            Err(TransportError::Connect(reason)) => {
                match http1.fall_back(self.transport, origin, &retry, &body).await {
                    Some(reply) => reply,
                    None => Err(TransportError::Connect(reason)),
                }
            }
            sent => sent,
        }
    }

    fn classify(&self, reply: Reply, id: &CacheId, attempt: u32) -> Attempt {
        let status = reply.status;
        let outcome = answer::outcome(status, &reply.body);
        if (status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN)
            && !outcome.is_dead_token()
        {
            // The token may be what was refused: sign anew next time.
            self.web_push.forget(id);
        }
        Attempt {
            outcome,
            retry_after: answer::wait(status, reply.retry_after, attempt),
            requested: true,
        }
    }
}
