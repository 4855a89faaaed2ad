//! Apple Push Notification service: `POST /3/device/{token}` with token
//! (JWT) authentication.
//!
//! What `a2` is for here: the APNs data model. Payloads are built with its
//! `NotificationBuilder`/`APS` and options (`PushType`, `Priority`,
//! `CollapseId`, expiration) (see `payload.rs`). What it is not for: its
//! HTTP client and token signer (default features off), and Apple's error
//! bodies, whose `reason` is read as text (`reason.rs`): `a2 0.10` lacks
//! several reasons Apple documents. Requests go over our own HTTP/2
//! transport (`push::transport`), shared with FCM and pointed at the
//! simulator by configuration.
//!
//! Apple binds a connection to the team, key, environment and topics of
//! its first push and takes a new token on it at most every 20 minutes
//! ("Establishing a token-based connection to APNs"). So connections are
//! kept per (environment, credential) (`Transport::credential_endpoint`),
//! every tenant holding one credential sends its one token
//! (`auth.rs`), and a connection Apple calls unusable is retired.

mod auth;
pub(crate) mod payload;
mod reason;

use bytes::Bytes;
use http::header::{HeaderName, AUTHORIZATION};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Version};

use crate::clock::Clock;
use crate::config::ProviderEndpoints;
use crate::credentials::ApnsKey;
use crate::error::Result;
use crate::model::platform::is_apns_token;
use crate::push::outcome::{dead, failed, transient, Attempt, DeliveryOutcome};
use crate::push::target::TenantPush;
use crate::push::transport::{Endpoint, Location, Reply, Transport};
pub(crate) use auth::{credential_id, ProviderTokens};
use auth::{CacheId, Refused};
pub(crate) use payload::ApnsMessage;

const APNS_ID: HeaderName = HeaderName::from_static("apns-id");
const APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
const APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
const APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");
const APNS_EXPIRATION: HeaderName = HeaderName::from_static("apns-expiration");
const APNS_COLLAPSE_ID: HeaderName = HeaderName::from_static("apns-collapse-id");
const DEVICE_PATH: &str = "/3/device/";

/// The reason of a `BadDeviceToken` answer while it still counts as dead.
pub(crate) const BAD_DEVICE_TOKEN: &str = "BadDeviceToken";
/// The reason when most of a delivery's Apple devices got `BadDeviceToken`:
/// the tenant's APNs environment or topic is wrong, not its devices.
pub(crate) const BAD_DEVICE_TOKEN_MISCONFIGURED: &str = "BadDeviceToken: most of this tenant's Apple devices were refused; check the tenant's bundle_id and use_sandbox (devices kept)";

/// When most Apple devices of one delivery answered `BadDeviceToken`, the
/// tokens are not dead: the tenant's sandbox/production choice or bundle
/// id is wrong, and removing them would wipe its registry in one send.
/// Then they are reported failed and kept; otherwise they stay dead.
pub(crate) fn settle_bad_device_tokens(outcomes: &mut [&mut DeliveryOutcome]) {
    let is_bad = |outcome: &DeliveryOutcome| matches!(outcome, DeliveryOutcome::DeadToken(reason) if reason == BAD_DEVICE_TOKEN);
    let answered = outcomes
        .iter()
        .filter(|outcome| {
            matches!(
                outcome,
                DeliveryOutcome::Delivered | DeliveryOutcome::DeadToken(_)
            )
        })
        .count();
    let bad = outcomes.iter().filter(|outcome| is_bad(outcome)).count();
    if bad == 0 || bad.saturating_mul(2) <= answered {
        return;
    }
    for outcome in outcomes.iter_mut().filter(|outcome| is_bad(outcome)) {
        **outcome = failed(BAD_DEVICE_TOKEN_MISCONFIGURED);
    }
}

pub(crate) struct Apns {
    production: Location,
    sandbox: Location,
    pub tokens: ProviderTokens,
    clock: Clock,
}

/// One notification on its way to one tenant's Apple devices: everything
/// but the device token and `apns-id` is built once.
pub(crate) struct ApnsBatch<'a> {
    apns: &'a Apns,
    /// The connections of this environment and credential.
    endpoint: Endpoint,
    key: &'a ApnsKey,
    /// The credential's provider-token cache entry.
    cache_id: CacheId,
    headers: HeaderMap,
    /// When the token in `headers` is renewed (wall-clock seconds), and the
    /// token cache's generation it was taken under: once either has passed,
    /// each attempt takes the current token, so that a long batch and a
    /// new one never take turns with two tokens on one connection.
    renew_at: u64,
    generation: u64,
    payload: Bytes,
}

impl Apns {
    pub fn new(endpoints: &ProviderEndpoints, clock: Clock) -> Result<Self> {
        let location = |url: &str| {
            Location::parse(url)
                .map_err(|err| crate::error::Error::internal("configuring the APNs endpoint", err))
        };
        Ok(Self {
            production: location(&endpoints.apns_production)?,
            sandbox: location(&endpoints.apns_sandbox)?,
            tokens: ProviderTokens::new(clock.clone()),
            clock,
        })
    }

    /// The batch for `tenant`, or the outcome every Apple device of the
    /// tenant gets without a request being made.
    pub fn prepare<'a>(
        &'a self,
        transport: &Transport,
        tenant: &'a TenantPush,
        message: &ApnsMessage,
    ) -> Result<ApnsBatch<'a>, DeliveryOutcome> {
        let (Some(key), Some(topic)) = (&tenant.apns, &tenant.bundle_id) else {
            return Err(failed("apns not configured for tenant"));
        };
        let suffix = message.push_type.topic_suffix();
        let mut topic_text = String::with_capacity(topic.len() + suffix.len());
        topic_text.push_str(topic);
        topic_text.push_str(suffix);
        let topic = HeaderValue::from_str(&topic_text)
            .map_err(|_| failed("tenant bundle_id is not a valid apns-topic"))?;
        let cache_id = credential_id(key);
        let generation = self.tokens.generation();
        let (bearer, renew_at) = self.tokens.bearer(&cache_id, key).map_err(failed)?;
        let location = if tenant.use_sandbox {
            &self.sandbox
        } else {
            &self.production
        };
        let endpoint = transport
            .credential_endpoint(location, &cache_id)
            .map_err(|err| failed(err.reason()))?;
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(APNS_TOPIC, topic);
        headers.insert(
            APNS_PUSH_TYPE,
            HeaderValue::from_static(message.push_type.as_str()),
        );
        headers.insert(
            APNS_PRIORITY,
            HeaderValue::from_static(match message.priority {
                a2::Priority::High => "10",
                a2::Priority::Normal => "5",
            }),
        );
        let now = self.clock.now_unix_secs();
        if let Some(expiration) = message.expiration(now) {
            // A new value every second: HPACK-indexing each would only
            // evict useful entries (Apple's HPACK advice).
            let mut expiration = HeaderValue::from(expiration);
            expiration.set_sensitive(true);
            headers.insert(APNS_EXPIRATION, expiration);
        }
        if let Some(collapse_id) = &message.collapse_id {
            headers.insert(APNS_COLLAPSE_ID, collapse_id.clone());
        }
        Ok(ApnsBatch {
            apns: self,
            endpoint,
            key,
            cache_id,
            headers,
            renew_at,
            generation,
            payload: message.payload.clone(),
        })
    }
}

impl ApnsBatch<'_> {
    /// One request for `token`; `attempt` counts from 1.
    pub async fn attempt(&self, token: &str, attempt: u32) -> Attempt {
        if !is_apns_token(token) {
            return failed("invalid apns device token format").into();
        }
        let Ok(uri) = self.endpoint.uri_joined(DEVICE_PATH, token) else {
            return failed("invalid apns device token format").into();
        };
        let mut headers = self.headers.clone();
        // A retry may follow a renewal after an expiry; a long batch
        // follows renewals too.
        if attempt > 1
            || self.apns.tokens.generation() != self.generation
            || self.apns.clock.now_unix_secs() >= self.renew_at
        {
            match self.apns.tokens.bearer(&self.cache_id, self.key) {
                Ok((bearer, _)) => {
                    headers.insert(AUTHORIZATION, bearer);
                }
                Err(reason) => return failed(reason).into(),
            }
        }
        let bearer = headers.get(AUTHORIZATION).cloned();
        headers.insert(APNS_ID, apns_id());
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = headers;
        match self.endpoint.send(request, self.payload.clone()).await {
            Ok(reply) => self.classify(reply, bearer.as_ref()),
            Err(err) if err.is_retryable() => Attempt::sent(transient(err.reason())),
            Err(err) => Attempt::sent(failed(err.reason())),
        }
    }

    fn classify(&self, reply: Reply, bearer: Option<&HeaderValue>) -> Attempt {
        if reply.status == StatusCode::OK {
            return Attempt::sent(DeliveryOutcome::Delivered);
        }
        let retry_after = crate::push::retry::apns_wait(reply.status, reply.retry_after);
        let reason = reason::of(&reply.body);
        let outcome = match (reply.status.as_u16(), reason) {
            (_, Some(reason @ ("Unregistered" | "ExpiredToken"))) => dead(reason),
            (410, None) => dead("Unregistered"),
            // Dead, unless most of the delivery says so: see
            // `settle_bad_device_tokens`.
            (_, Some("BadDeviceToken")) => dead(BAD_DEVICE_TOKEN),
            // The tenant's bundle_id does not match the app: a
            // configuration error, not a dead token.
            (_, Some("DeviceTokenNotForTopic")) => failed(
                "DeviceTokenNotForTopic: the tenant's bundle_id is not this device's app (device kept)",
            ),
            // Apple's clock says the token is over an hour old: sign anew,
            // whatever ours says (it may have stood still).
            (_, Some("ExpiredProviderToken")) => {
                if let Some(stale) = bearer {
                    self.apns.tokens.expire(&self.cache_id, stale, Refused::Expired);
                }
                transient("ExpiredProviderToken")
            }
            (_, Some("InvalidProviderToken")) => {
                // The next delivery signs anew (a replaced key, a clock
                // fixed), on a new connection; this one is not retried.
                reply.connection.retire();
                if let Some(stale) = bearer {
                    self.apns.tokens.expire(&self.cache_id, stale, Refused::Invalid);
                }
                failed("InvalidProviderToken")
            }
            // The connection is bound to another key or unusable for a
            // while: open a new one ("To use this token, open a new
            // connection").
            (_, Some(reason @ ("UnrelatedKeyIdInToken" | "TooManyProviderTokenUpdates"))) => {
                reply.connection.retire();
                transient(reason)
            }
            (_, Some("BadEnvironmentKeyIdInToken")) => {
                reply.connection.retire();
                failed("BadEnvironmentKeyIdInToken: the tenant's APNs key is for the other environment; check use_sandbox")
            }
            (429 | 500..=599, Some(reason)) => transient(reason),
            (status @ (429 | 500..=599), None) => transient(format!("apns status {status}")),
            (_, Some(reason)) => failed(reason),
            (status, None) => failed(format!("apns status {status}")),
        };
        Attempt {
            outcome,
            retry_after,
            requested: true,
        }
    }
}

/// A fresh canonical UUID, so a push can be traced in Apple's reports.
fn apns_id() -> HeaderValue {
    // The thread-local RNG, not `Uuid::new_v4` (a getrandom syscall each).
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    let id = id.hyphenated().encode_lower(&mut buffer);
    let mut value = HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static(
        "00000000-0000-0000-0000-000000000000",
    ));
    // Unique per request: HPACK-indexing it would only evict useful entries.
    value.set_sensitive(true);
    value
}
