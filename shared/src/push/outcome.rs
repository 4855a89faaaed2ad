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
}

impl From<DeliveryOutcome> for Attempt {
    fn from(outcome: DeliveryOutcome) -> Self {
        Attempt {
            outcome,
            retry_after: None,
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
