//! What happened to one push.

use std::borrow::Cow;
use std::time::Duration;

/// The fate of a push to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The provider accepted the push.
    Delivered,
    /// The provider says this token will never work again (APNs
    /// `Unregistered`, `BadDeviceToken`, `DeviceTokenNotForTopic`; FCM
    /// `UNREGISTERED`, or `INVALID_ARGUMENT` on `message.token`): remove it.
    DeadToken(Cow<'static, str>),
    /// Throttling, a provider 5xx, a timeout or a connection failure that
    /// outlasted the engine's retries: worth trying again later.
    Transient(Cow<'static, str>),
    /// Refused for a reason retrying will not fix (bad credentials, a
    /// tenant without that provider, a payload the provider rejects).
    Failed(Cow<'static, str>),
}

impl DeliveryOutcome {
    pub fn is_delivered(&self) -> bool {
        matches!(self, DeliveryOutcome::Delivered)
    }

    pub fn is_dead_token(&self) -> bool {
        matches!(self, DeliveryOutcome::DeadToken(_))
    }

    /// Whether the provider refused the tenant's credentials, or they
    /// cannot be used at all: APNs refused the provider token signed with
    /// the tenant's `.p8` key (`InvalidProviderToken`, or
    /// `BadEnvironmentKeyIdInToken`), Google refused the service account's
    /// token request (`fcm credentials rejected: ...`), FCM could not reach
    /// APNs or Web Push with the Firebase project's own credentials
    /// (`THIRD_PARTY_AUTH_ERROR`), a push service refused the VAPID
    /// signature (401/403), or the tenant's key cannot sign at all. Only the
    /// tenant can fix these: the `CredentialFailures` metric and the
    /// `credentials.failed` webhook are about them. A provider the tenant
    /// has not configured is not one (that is the tenant's choice), nor is
    /// a refusal about one device (`DeviceTokenNotForTopic`, a key mismatch
    /// of one Web Push subscription).
    pub fn is_credential_failure(&self) -> bool {
        match self {
            DeliveryOutcome::Failed(reason) => CREDENTIAL_REFUSALS
                .iter()
                .any(|refusal| refusal.matches(reason)),
            _ => false,
        }
    }

    /// The provider's reason, for the contract's `error` field.
    pub fn error(&self) -> Option<&str> {
        match self {
            DeliveryOutcome::Delivered => None,
            DeliveryOutcome::DeadToken(reason)
            | DeliveryOutcome::Transient(reason)
            | DeliveryOutcome::Failed(reason) => Some(reason),
        }
    }
}

/// How the reason of a credential refusal reads (the reasons are the
/// contract's `error` texts, made in the provider modules).
enum Refusal {
    Starts(&'static str),
    Ends(&'static str),
}

impl Refusal {
    fn matches(&self, reason: &str) -> bool {
        match self {
            Refusal::Starts(prefix) => reason.starts_with(prefix),
            Refusal::Ends(suffix) => reason.ends_with(suffix),
        }
    }
}

const CREDENTIAL_REFUSALS: [Refusal; 11] = [
    // apns/mod.rs classify, apns/auth.rs sign; the certificate reasons
    // answer a connection without our token (a proxy's or a misrouted one)
    Refusal::Starts("InvalidProviderToken"),
    Refusal::Starts("BadEnvironmentKeyIdInToken"),
    Refusal::Starts("MissingProviderToken"),
    Refusal::Starts("BadCertificate"),
    Refusal::Starts("apns key of tenant cannot sign"),
    // fcm/oauth.rs fetch and assertion, fcm/mod.rs classify
    Refusal::Starts("fcm credentials rejected"),
    Refusal::Starts("fcm service account"),
    Refusal::Starts("THIRD_PARTY_AUTH_ERROR"),
    // the service account may not send for the project (a token of
    // another project is SENDER_ID_MISMATCH: that device's, not ours)
    Refusal::Starts("PERMISSION_DENIED"),
    // web_push/answer.rs outcome, web_push/mod.rs authorization
    Refusal::Ends(VAPID_REFUSED),
    Refusal::Starts("web push key of tenant cannot sign"),
];

/// The end of a Web Push 401/403 reason (`webpush status 403: ...`).
pub(crate) const VAPID_REFUSED: &str = "VAPID authorization refused";

/// The result for `targets[i]` is `results[i]`: positional, so no token is
/// copied per push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    pub outcome: DeliveryOutcome,
    /// Requests sent to the provider for this target (0 when refused
    /// before sending).
    pub attempts: u32,
    /// For a transient outcome: the provider asked not to be asked again
    /// sooner than this (`Retry-After`, or its documented minimum), and it
    /// was too long to wait within the delivery.
    pub retry_after: Option<Duration>,
}

/// One attempt's verdict, with what the retry loop needs to know.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub outcome: DeliveryOutcome,
    /// The provider's `Retry-After`, for a transient outcome.
    pub retry_after: Option<Duration>,
    /// A request went to the provider (answered or not): the attempt's
    /// time is the provider's latency. False when refused before sending.
    pub requested: bool,
}

impl From<DeliveryOutcome> for Attempt {
    fn from(outcome: DeliveryOutcome) -> Self {
        Attempt {
            outcome,
            retry_after: None,
            requested: false,
        }
    }
}

impl Attempt {
    /// The verdict on a request that was sent: `outcome` and no wait.
    pub(crate) fn sent(outcome: DeliveryOutcome) -> Self {
        Attempt {
            requested: true,
            ..outcome.into()
        }
    }
}

pub(crate) fn transient(reason: impl Into<Cow<'static, str>>) -> DeliveryOutcome {
    DeliveryOutcome::Transient(reason.into())
}

pub(crate) fn failed(reason: impl Into<Cow<'static, str>>) -> DeliveryOutcome {
    DeliveryOutcome::Failed(reason.into())
}

pub(crate) fn dead(reason: impl Into<Cow<'static, str>>) -> DeliveryOutcome {
    DeliveryOutcome::DeadToken(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_refusals_of_a_tenant_s_credentials_are_credential_failures() {
        let refusals = [
            "InvalidProviderToken",
            "BadEnvironmentKeyIdInToken: the tenant's APNs key is for the other environment; check use_sandbox",
            "apns key of tenant cannot sign provider tokens",
            "fcm credentials rejected: invalid_grant",
            "fcm credentials rejected: status 400",
            "fcm service account private_key cannot sign",
            "fcm service account token_uri is not Google's token endpoint",
            "THIRD_PARTY_AUTH_ERROR: the Firebase project's APNs certificate or Web Push key is invalid or missing",
            "webpush status 401: VAPID authorization refused",
            "webpush status 403: VAPID authorization refused",
            "web push key of tenant cannot sign VAPID tokens",
        ];
        for reason in refusals {
            assert!(failed(reason).is_credential_failure(), "{reason}");
        }
    }

    #[test]
    fn other_failures_dead_tokens_and_transient_refusals_are_not() {
        let others = [
            failed("apns not configured for tenant"),
            failed("fcm not configured for tenant"),
            failed("web push not configured for tenant (no VAPID key)"),
            failed("DeviceTokenNotForTopic: the tenant's bundle_id is not this device's app (device kept)"),
            failed("invalid apns device token format"),
            failed("SENDER_ID_MISMATCH"),
            failed("webpush status 400: BadWebPushTopic"),
            failed("payload too large for web push (4096 bytes encrypted)"),
            // An expired token is renewed and retried, not the tenant's fault.
            transient("ExpiredProviderToken"),
            transient("fcm oauth: status 503"),
            dead("webpush status 403: the subscription was made with another VAPID key (VapidPkHashMismatch)"),
            DeliveryOutcome::Delivered,
        ];
        for outcome in others {
            assert!(!outcome.is_credential_failure(), "{outcome:?}");
        }
    }
}
