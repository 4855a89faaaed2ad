//! `credentials.failed`: a provider refused the tenant's credentials. Told
//! at most once an hour per provider and tenant: a conditional write on a
//! gate item in the tenant's partition lets one event through per hour,
//! and each container remembers for a minute what it already checked, so a
//! tenant whose every push fails does not cost a write per push.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics;
use crate::model::{EventType, PushProvider};
use crate::push::DeliveryOutcome;

/// How often an event per provider and tenant, at most.
pub const CREDENTIALS_EVENT_PERIOD_SECS: i64 = 3600;
/// How long a container does not check the gate again.
const LOCAL_QUIET: Duration = Duration::from_secs(60);
/// (tenant, provider) pairs a container remembers at most.
const REMEMBERED: usize = 4096;

/// The provider's name in events, when `outcome` is a refusal of the
/// tenant's credentials (not of one device or one message): the one rule
/// the `CredentialFailures` metric counts too.
pub fn refused_credentials(
    provider: PushProvider,
    outcome: &DeliveryOutcome,
) -> Option<&'static str> {
    outcome
        .is_credential_failure()
        .then(|| metrics::provider_name(provider))
}

/// Per container: when each (tenant, provider) gate was last checked.
#[derive(Clone, Default, Debug)]
pub(super) struct RecentChecks(Arc<Mutex<HashMap<(String, &'static str), Instant>>>);

impl RecentChecks {
    /// Whether to check the gate now (and remember that it was).
    pub(super) fn due(&self, tenant_id: &str, provider: &'static str) -> bool {
        let mut recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (tenant_id.to_owned(), provider);
        if recent
            .get(&key)
            .is_some_and(|at| at.elapsed() < LOCAL_QUIET)
        {
            return false;
        }
        if recent.len() >= REMEMBERED {
            recent.retain(|_, at| at.elapsed() < LOCAL_QUIET);
            if recent.len() >= REMEMBERED {
                recent.clear();
            }
        }
        recent.insert(key, Instant::now());
        true
    }
}

/// The gate's name of a provider.
pub(super) fn gate(provider: &str) -> String {
    format!("{}#{provider}", EventType::CredentialsFailed.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn failed(reason: &'static str) -> DeliveryOutcome {
        DeliveryOutcome::Failed(Cow::Borrowed(reason))
    }

    #[test]
    fn credential_refusals_are_told_apart_from_device_and_message_failures() {
        assert_eq!(
            refused_credentials(PushProvider::Apns, &failed("InvalidProviderToken")),
            Some("apns")
        );
        assert_eq!(
            refused_credentials(PushProvider::Apns, &failed("BadEnvironmentKeyIdInToken: the tenant's APNs key is for the other environment; check use_sandbox")),
            Some("apns")
        );
        assert_eq!(
            refused_credentials(
                PushProvider::Fcm,
                &failed("fcm credentials rejected: invalid_grant")
            ),
            Some("fcm")
        );
        assert_eq!(
            refused_credentials(
                PushProvider::WebPush,
                &failed("webpush status 403: VAPID authorization refused")
            ),
            Some("webpush")
        );
        for not_credentials in [
            "DeviceTokenNotForTopic: x",
            "PayloadTooLarge",
            "invalid apns device token format",
        ] {
            assert_eq!(
                refused_credentials(PushProvider::Apns, &failed(not_credentials)),
                None
            );
        }
        assert_eq!(
            refused_credentials(PushProvider::Fcm, &failed("INVALID_ARGUMENT")),
            None
        );
        let transient = DeliveryOutcome::Transient(Cow::Borrowed("InvalidProviderToken"));
        assert_eq!(refused_credentials(PushProvider::Apns, &transient), None);
        assert_eq!(
            refused_credentials(PushProvider::Apns, &DeliveryOutcome::Delivered),
            None
        );
    }

    #[test]
    fn a_container_checks_each_gate_at_most_once_a_minute_and_stays_bounded() {
        let recent = RecentChecks::default();
        assert!(recent.due("tnt_a", "apns"));
        assert!(!recent.due("tnt_a", "apns"));
        assert!(recent.due("tnt_a", "fcm"));
        assert!(recent.due("tnt_b", "apns"));
        for n in 0..REMEMBERED + 5 {
            recent.due(&format!("tnt_{n}"), "apns");
        }
        let size = recent.0.lock().map(|map| map.len()).unwrap_or(0);
        assert!(size <= REMEMBERED);
    }
}
