//! Injected failures: dead device tokens, provider error statuses and slow
//! answers. An atomic flag keeps the no-fault hot path lock-free.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fcm_quota::Quota;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Apns,
    Fcm,
}

/// Which provider a status or delay fault applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    Apns,
    Fcm,
    #[default]
    Any,
}

impl Scope {
    fn covers(self, provider: Provider) -> bool {
        matches!(
            (self, provider),
            (Scope::Any, _) | (Scope::Apns, Provider::Apns) | (Scope::Fcm, Provider::Fcm)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenFault {
    Unregistered,
    BadDeviceToken,
    /// The token belongs to another app: APNs `DeviceTokenNotForTopic`,
    /// FCM `SENDER_ID_MISMATCH`.
    WrongApp,
}

/// `POST /admin/faults` body. `count` absent: until `DELETE /admin/faults`.
#[derive(Debug, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub(crate) enum FaultSpec {
    Unregistered {
        token: String,
    },
    BadDeviceToken {
        token: String,
    },
    WrongApp {
        token: String,
    },
    Status {
        status: u16,
        count: Option<u64>,
        retry_after_secs: Option<u64>,
        #[serde(default)]
        provider: Scope,
    },
    Delay {
        millis: u64,
        count: Option<u64>,
        #[serde(default)]
        provider: Scope,
    },
    /// `/token` answers this `expires_in` (any JSON number) from now on: a
    /// hostile or broken token endpoint.
    TokenLifetime {
        expires_in: serde_json::Number,
    },
    /// APNs answers 410 `ExpiredToken` for this device token.
    ExpiredToken {
        token: String,
    },
    /// Every open connection stops answering, its socket left open: what a
    /// client finds after Lambda froze it long enough for the network to
    /// drop its idle connections. New connections work.
    FreezeConnections,
    /// FCM answers 401 `THIRD_PARTY_AUTH_ERROR` (the Firebase project's
    /// APNs or Web Push credential is bad) to `count` sends, or until cleared.
    ThirdPartyAuthError {
        count: Option<u64>,
    },
    /// FCM allows each project `requests` sends per `window_secs`, then
    /// answers 429 `QUOTA_EXCEEDED` until the window ends (see `fcm_quota`);
    /// with `project_id`, only that project.
    Quota {
        requests: u64,
        window_secs: u64,
        retry_after_secs: Option<u64>,
        project_id: Option<String>,
    },
}

impl FaultSpec {
    /// For logs, which must not carry device tokens.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::Unregistered { .. } => "unregistered",
            FaultSpec::BadDeviceToken { .. } => "bad_device_token",
            FaultSpec::WrongApp { .. } => "wrong_app",
            FaultSpec::Status { .. } => "status",
            FaultSpec::Delay { .. } => "delay",
            FaultSpec::TokenLifetime { .. } => "token_lifetime",
            FaultSpec::ExpiredToken { .. } => "expired_token",
            FaultSpec::FreezeConnections => "freeze_connections",
            FaultSpec::ThirdPartyAuthError { .. } => "third_party_auth_error",
            FaultSpec::Quota { .. } => "quota",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusHit {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Serialize)]
struct StatusFault {
    status: u16,
    remaining: Option<u64>,
    retry_after_secs: Option<u64>,
    provider: Scope,
}

#[derive(Debug, Serialize)]
struct DelayFault {
    millis: u64,
    remaining: Option<u64>,
    provider: Scope,
}

#[derive(Debug, Default, Serialize)]
struct FaultSet {
    tokens: BTreeMap<String, TokenFault>,
    statuses: Vec<StatusFault>,
    delays: Vec<DelayFault>,
    token_lifetime: Option<serde_json::Number>,
    /// APNs device tokens answered 410 `ExpiredToken`.
    expired_tokens: BTreeSet<String>,
    /// Remaining `THIRD_PARTY_AUTH_ERROR` answers (`Some(None)`: until cleared).
    third_party_auth_error: Option<Option<u64>>,
    quota: Option<Quota>,
}

impl FaultSet {
    fn is_empty(&self) -> bool {
        self.expired_tokens.is_empty()
            && self.tokens.is_empty()
            && self.statuses.is_empty()
            && self.delays.is_empty()
            && self.token_lifetime.is_none()
            && self.third_party_auth_error.is_none()
            && self.quota.is_none()
    }
}

pub(crate) struct Faults {
    active: AtomicBool,
    set: Mutex<FaultSet>,
    /// Bumped by `freeze_connections`; every open connection watches it.
    freezes: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            active: AtomicBool::default(),
            set: Mutex::default(),
            freezes: tokio::sync::watch::channel(0).0,
        }
    }
}

/// Uses up one of `remaining` (None: unlimited); true once none are left.
fn consume(remaining: &mut Option<u64>) -> bool {
    match remaining {
        Some(n) => {
            *n = n.saturating_sub(1);
            *n == 0
        }
        None => false,
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultSet> {
        self.set.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update_flag(&self, set: &FaultSet) {
        self.active.store(!set.is_empty(), Ordering::Release);
    }

    fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    pub fn add(&self, spec: FaultSpec) -> Result<(), String> {
        let mut set = self.lock();
        match spec {
            FaultSpec::Unregistered { token } => {
                set.tokens.insert(token, TokenFault::Unregistered);
            }
            FaultSpec::BadDeviceToken { token } => {
                set.tokens.insert(token, TokenFault::BadDeviceToken);
            }
            FaultSpec::WrongApp { token } => {
                set.tokens.insert(token, TokenFault::WrongApp);
            }
            FaultSpec::Status {
                status,
                count,
                retry_after_secs,
                provider,
            } => {
                if !matches!(status, 429 | 500 | 503) {
                    return Err("status must be 429, 500 or 503".to_owned());
                }
                if count == Some(0) {
                    return Err("count must be at least 1".to_owned());
                }
                set.statuses.push(StatusFault {
                    status,
                    remaining: count,
                    retry_after_secs,
                    provider,
                });
            }
            FaultSpec::Delay {
                millis,
                count,
                provider,
            } => {
                if count == Some(0) {
                    return Err("count must be at least 1".to_owned());
                }
                set.delays.push(DelayFault {
                    millis,
                    remaining: count,
                    provider,
                });
            }
            FaultSpec::TokenLifetime { expires_in } => {
                set.token_lifetime = Some(expires_in);
            }
            FaultSpec::ExpiredToken { token } => {
                set.expired_tokens.insert(token.to_ascii_lowercase());
            }
            FaultSpec::FreezeConnections => {
                self.freezes.send_modify(|freezes| *freezes += 1);
            }
            FaultSpec::ThirdPartyAuthError { count } => {
                if count == Some(0) {
                    return Err("count must be at least 1".to_owned());
                }
                set.third_party_auth_error = Some(count);
            }
            FaultSpec::Quota {
                requests,
                window_secs,
                retry_after_secs,
                project_id,
            } => {
                if window_secs == 0 {
                    return Err("window_secs must be at least 1".to_owned());
                }
                set.quota = Some(Quota::new(
                    requests,
                    window_secs,
                    retry_after_secs,
                    project_id,
                ));
            }
        }
        self.update_flag(&set);
        Ok(())
    }

    pub fn clear(&self) {
        let mut set = self.lock();
        *set = FaultSet::default();
        self.update_flag(&set);
    }

    pub fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.lock()).unwrap_or_default()
    }

    /// How long to stall this request, using up one count of the first
    /// matching delay fault.
    pub fn delay(&self, provider: Provider) -> Option<Duration> {
        if !self.is_active() {
            return None;
        }
        let mut set = self.lock();
        let index = set
            .delays
            .iter()
            .position(|d| d.provider.covers(provider))?;
        let millis = set.delays[index].millis;
        if consume(&mut set.delays[index].remaining) {
            set.delays.remove(index);
            self.update_flag(&set);
        }
        Some(Duration::from_millis(millis))
    }

    /// The `expires_in` `/token` must answer instead of the real one.
    pub fn token_lifetime(&self) -> Option<serde_json::Number> {
        if !self.is_active() {
            return None;
        }
        self.lock().token_lifetime.clone()
    }

    /// Token faults stay until cleared: a dead device stays dead. APNs tokens
    /// are hex, so they match case-insensitively.
    pub fn token_fault(&self, provider: Provider, token: &str) -> Option<TokenFault> {
        if !self.is_active() {
            return None;
        }
        let set = self.lock();
        set.tokens.get(token).copied().or_else(|| match provider {
            Provider::Apns => set
                .tokens
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(token))
                .map(|(_, f)| *f),
            Provider::Fcm => None,
        })
    }

    /// Whether APNs must answer 410 `ExpiredToken` for this device token.
    pub fn apns_expired_token(&self, token: &str) -> bool {
        self.is_active()
            && self
                .lock()
                .expired_tokens
                .contains(&token.to_ascii_lowercase())
    }

    /// Changes when open connections must freeze (see
    /// [`FaultSpec::FreezeConnections`]).
    pub fn freezes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.freezes.subscribe()
    }

    /// Whether this FCM send must be answered `THIRD_PARTY_AUTH_ERROR`.
    pub fn third_party_auth_error(&self) -> bool {
        if !self.is_active() {
            return false;
        }
        let mut set = self.lock();
        let Some(remaining) = set.third_party_auth_error.as_mut() else {
            return false;
        };
        if consume(remaining) {
            set.third_party_auth_error = None;
            self.update_flag(&set);
        }
        true
    }

    /// `Some(Retry-After)` when this FCM send of `project` is over quota.
    pub fn fcm_quota(&self, project: &str) -> Option<Option<u64>> {
        if !self.is_active() {
            return None;
        }
        self.lock().quota.as_mut()?.take(project, Instant::now())
    }

    /// The status this request must fail with, using up one count.
    pub fn take_status(&self, provider: Provider) -> Option<StatusHit> {
        if !self.is_active() {
            return None;
        }
        let mut set = self.lock();
        let index = set
            .statuses
            .iter()
            .position(|s| s.provider.covers(provider))?;
        let fault = &mut set.statuses[index];
        let hit = StatusHit {
            status: fault.status,
            retry_after_secs: fault.retry_after_secs,
        };
        if consume(&mut fault.remaining) {
            set.statuses.remove(index);
            self.update_flag(&set);
        }
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_counted_status_fault_fails_exactly_that_many_requests_of_its_provider() {
        let faults = Faults::default();
        faults
            .add(spec(r#"{"fault":"status","status":503,"count":2,"provider":"fcm","retry_after_secs":7}"#))
            .unwrap();
        assert_eq!(faults.take_status(Provider::Apns), None);
        let hit = Some(StatusHit {
            status: 503,
            retry_after_secs: Some(7),
        });
        assert_eq!(faults.take_status(Provider::Fcm), hit);
        assert_eq!(faults.take_status(Provider::Fcm), hit);
        assert_eq!(faults.take_status(Provider::Fcm), None);
        assert!(!faults.is_active());
    }

    #[test]
    fn statuses_other_than_429_500_503_are_refused() {
        let faults = Faults::default();
        assert!(faults
            .add(spec(r#"{"fault":"status","status":404}"#))
            .is_err());
        assert!(!faults.is_active());
    }

    #[test]
    fn apns_token_faults_ignore_hex_case() {
        let faults = Faults::default();
        faults
            .add(spec(r#"{"fault":"unregistered","token":"ABCD"}"#))
            .unwrap();
        assert_eq!(
            faults.token_fault(Provider::Apns, "abcd"),
            Some(TokenFault::Unregistered)
        );
        assert_eq!(faults.token_fault(Provider::Fcm, "abcd"), None);
        faults.clear();
        assert_eq!(faults.token_fault(Provider::Apns, "ABCD"), None);
    }
}
