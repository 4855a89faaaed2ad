//! Typed configuration, read once per cold start from the environment.
//!
//! AWS endpoints are not configured here: the SDK reads `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how the local stack points
//! the functions at the emulator.

use std::env;

mod oidc;

pub use oidc::{FetchUrl, OidcSettings, UrlRefused, DEFAULT_ORGS_CLAIM};

use crate::model::EffectiveLimits;
use crate::web_push_protocol::hosts::InvalidHostEntry;
use crate::web_push_protocol::WebPushHosts;

/// Apple's production and sandbox hosts and Google's FCM and OAuth endpoints,
/// each overridable so the local push simulator can stand in for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEndpoints {
    pub apns_production: String,
    pub apns_sandbox: String,
    pub fcm: String,
    /// Replaces the `token_uri` of every service account when set.
    pub oauth_token_url: Option<String>,
    /// Extra PEM certificate(s) to trust for provider TLS (the simulator's).
    pub extra_ca_file: Option<String>,
    /// The push services Web Push subscriptions may point at
    /// (`NOTIFY_WEB_PUSH_HOSTS`); nothing else is ever contacted for them.
    pub web_push_hosts: WebPushHosts,
}

impl Default for ProviderEndpoints {
    fn default() -> Self {
        Self {
            apns_production: "https://api.push.apple.com".to_owned(),
            apns_sandbox: "https://api.sandbox.push.apple.com".to_owned(),
            fcm: "https://fcm.googleapis.com".to_owned(),
            oauth_token_url: None,
            extra_ca_file: None,
            web_push_hosts: WebPushHosts::default(),
        }
    }
}

/// What a user token must claim besides a valid HS256 signature, `sub` and
/// `exp` (and `nbf`, when present, must have passed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtRules {
    /// `NOTIFY_JWT_AUDIENCE`: when set, a token's `aud` must name it (a token
    /// without `aud` is refused); when unset, a token carrying any `aud` is
    /// refused: it was minted for another service.
    pub audience: Option<String>,
    /// `NOTIFY_JWT_ISSUER`: when set, a token's `iss` must equal it (a token
    /// without `iss` is refused).
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The single DynamoDB table.
    pub table_name: String,
    /// Secrets Manager id of the HS256 secret that signs user tokens.
    pub signing_secret_id: String,
    /// Audience and issuer user tokens must carry.
    pub jwt: JwtRules,
    /// The identity provider whose RS256/ES256 tokens are accepted too
    /// (`NOTIFY_OIDC_*`); `None`: only the HS256 tokens.
    pub oidc: Option<OidcSettings>,
    /// Name prefix of the per-tenant provider-credential secrets.
    pub tenant_secret_prefix: String,
    /// SQS queue the bulk endpoint fills and the worker drains
    /// (`NOTIFY_DELIVERY_QUEUE_URL`). A function that enqueues checks it at
    /// cold start with [`Config::delivery_queue`].
    pub delivery_queue_url: Option<String>,
    /// `NOTIFY_DELIVERY_DLQ_URL`: the delivery queue's dead-letter queue,
    /// where the worker moves poison messages at once with their reason.
    pub delivery_dlq_url: Option<String>,
    /// How a tenant deletion purges the tenant's items: through the
    /// delivery queue when deployed; inline only in tests without a queue.
    pub tenant_purge: PurgeMode,
    /// `NOTIFY_DELIVERY_MAX_RECEIVE_COUNT`: the delivery queue's redrive
    /// `maxReceiveCount` (the template's `DeliveryMaxReceiveCount`), so the
    /// worker knows a message's last receive. A positive integer when set.
    pub delivery_max_receive_count: Option<u32>,
    /// `NOTIFY_WORKER_TENANT_SHARE` (the template's `WorkerTenantShare`):
    /// records of one tenant the worker processes per invocation, the rest
    /// set aside (`service::worker::fair`); 0 turns the share off. `None`:
    /// the worker's default.
    pub worker_tenant_share: Option<u32>,
    /// Live tenants one org may have (`NOTIFY_MAX_TENANTS_PER_ORG`, default
    /// [`DEFAULT_MAX_TENANTS_PER_ORG`]): each tenant with credentials is a
    /// Secrets Manager secret the operator pays for.
    pub max_tenants_per_org: u32,
    /// Per-key request rates (the template's `KeyRateLimitDefault` and
    /// `KeyRateLimitMax`).
    pub key_rate_limits: KeyRateLimits,
    /// Each tenant's limits where the operator set none
    /// (`NOTIFY_TENANT_REQUESTS_PER_SECOND`, `NOTIFY_TENANT_PUSHES_PER_DAY`,
    /// `NOTIFY_TENANT_DEVICES`; the template's `Tenant*` parameters).
    pub tenant_limits: EffectiveLimits,
    pub providers: ProviderEndpoints,
    /// `NOTIFY_METRICS_NAMESPACE` (the template's `MetricsNamespace`): the
    /// CloudWatch namespace of the metrics the functions write
    /// (`metrics`); default [`DEFAULT_METRICS_NAMESPACE`].
    pub metrics_namespace: String,
    /// Where webhook events go, and what receivers may be.
    pub webhooks: WebhookSettings,
    /// `NOTIFY_SCHEDULE_AFTER_SECS`: a scheduled send this close (0 to 900
    /// seconds; default 900) waits on the queue as a delayed message, exact
    /// to the second; one further ahead becomes an EventBridge Scheduler
    /// schedule (`schedules`), which fires within the minute it names.
    pub schedule_after_secs: u32,
    /// The EventBridge Scheduler settings of scheduled bulk sends.
    pub schedules: ScheduleSettings,
}

/// What a one-time EventBridge Scheduler schedule needs
/// (`crate::schedules`). Each is optional at load, as only the functions
/// that schedule use them; a use without one is a 500 naming the variable
/// ([`ScheduleSettings::group`] and its siblings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// `NOTIFY_SCHEDULE_GROUP`: the schedule group every schedule is in
    /// (the template's `ScheduleGroup`).
    pub group: Option<String>,
    /// `NOTIFY_SCHEDULE_ROLE_ARN`: the role EventBridge Scheduler assumes
    /// to send to the target (the template's `ScheduleRole`).
    pub role_arn: Option<String>,
    /// `NOTIFY_SCHEDULE_TARGET_ARN`: the queue a schedule sends its body
    /// to (the delivery queue's ARN).
    pub target_arn: Option<String>,
    /// `NOTIFY_SCHEDULE_DLQ_ARN`: where EventBridge Scheduler puts a body
    /// it could not send within the retry policy; unset, it is dropped.
    pub dlq_arn: Option<String>,
}

impl ScheduleSettings {
    fn from_env() -> Self {
        Self {
            group: optional("NOTIFY_SCHEDULE_GROUP"),
            role_arn: optional("NOTIFY_SCHEDULE_ROLE_ARN"),
            target_arn: optional("NOTIFY_SCHEDULE_TARGET_ARN"),
            dlq_arn: optional("NOTIFY_SCHEDULE_DLQ_ARN"),
        }
    }

    pub fn group(&self) -> Result<&str, ConfigError> {
        self.group
            .as_deref()
            .ok_or(ConfigError::Missing("NOTIFY_SCHEDULE_GROUP"))
    }

    pub fn role_arn(&self) -> Result<&str, ConfigError> {
        self.role_arn
            .as_deref()
            .ok_or(ConfigError::Missing("NOTIFY_SCHEDULE_ROLE_ARN"))
    }

    pub fn target_arn(&self) -> Result<&str, ConfigError> {
        self.target_arn
            .as_deref()
            .ok_or(ConfigError::Missing("NOTIFY_SCHEDULE_TARGET_ARN"))
    }
}

/// SQS's longest `DelaySeconds`: 15 minutes.
pub const MAX_QUEUE_DELAY_SECS: u32 = 900;

/// Webhooks' deployment settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `NOTIFY_WEBHOOK_QUEUE_URL`: the queue events go to, one message per
    /// event and webhook, drained by `webhook-dispatcher`. Unset: events
    /// are not published (logged once per event instead).
    pub queue_url: Option<String>,
    /// `NOTIFY_WEBHOOK_ALLOW_LOOPBACK=true`: receivers at
    /// `http://127.0.0.1` are allowed. Only the local stack and the tests
    /// set it; never deployed.
    pub allow_loopback: bool,
}

impl WebhookSettings {
    fn from_env() -> Result<Self, ConfigError> {
        let allow_loopback = match optional("NOTIFY_WEBHOOK_ALLOW_LOOPBACK").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "NOTIFY_WEBHOOK_ALLOW_LOOPBACK",
                    expected: "true or false",
                })
            }
        };
        Ok(Self {
            queue_url: optional("NOTIFY_WEBHOOK_QUEUE_URL"),
            allow_loopback,
        })
    }
}

pub const DEFAULT_MAX_TENANTS_PER_ORG: u32 = 50;

/// Requests per second an API key may make: `default` for a key created
/// without `rate_limit`, and the most a key may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRateLimits {
    /// `NOTIFY_KEY_RATE_LIMIT_DEFAULT`.
    pub default: u32,
    /// `NOTIFY_KEY_RATE_LIMIT_MAX`, at least `default`.
    pub max: u32,
}

impl Default for KeyRateLimits {
    fn default() -> Self {
        Self {
            default: 50,
            max: 1000,
        }
    }
}

impl KeyRateLimits {
    fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let limits = Self {
            default: positive_count(
                "NOTIFY_KEY_RATE_LIMIT_DEFAULT",
                optional("NOTIFY_KEY_RATE_LIMIT_DEFAULT"),
            )?
            .unwrap_or(defaults.default),
            max: positive_count(
                "NOTIFY_KEY_RATE_LIMIT_MAX",
                optional("NOTIFY_KEY_RATE_LIMIT_MAX"),
            )?
            .unwrap_or(defaults.max),
        };
        if limits.default > limits.max {
            return Err(ConfigError::Invalid {
                name: "NOTIFY_KEY_RATE_LIMIT_DEFAULT",
                expected: "at most NOTIFY_KEY_RATE_LIMIT_MAX",
            });
        }
        Ok(limits)
    }
}

/// The deployment's tenant limits, each its built-in default when unset.
fn tenant_limits_from_env() -> Result<EffectiveLimits, ConfigError> {
    let defaults = EffectiveLimits::default();
    let limit = |name: &'static str, default: u32| {
        positive_count(name, optional(name)).map(|value| value.unwrap_or(default))
    };
    Ok(EffectiveLimits {
        requests_per_second: limit(
            "NOTIFY_TENANT_REQUESTS_PER_SECOND",
            defaults.requests_per_second,
        )?,
        pushes_per_day: limit("NOTIFY_TENANT_PUSHES_PER_DAY", defaults.pushes_per_day)?,
        devices: limit("NOTIFY_TENANT_DEVICES", defaults.devices)?,
    })
}

/// How a tenant deletion purges what is left of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeMode {
    /// A bounded part in the request, the rest by the worker through the
    /// delivery queue. What [`Config::from_env`] always reads.
    Queued,
    /// The whole partition in the request, and a deletion a change still
    /// holds answers 409: only for tests that run without a queue
    /// (`testing`, `notify-tests`), never deployed.
    Inline,
}

/// A variable the configuration needs is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {name} must be {expected}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
    },
    #[error("NOTIFY_WEB_PUSH_HOSTS: {0}")]
    WebPushHosts(#[from] InvalidHostEntry),
}

impl Config {
    /// `NOTIFY_WEB_PUSH_HOSTS`: comma-separated host names (https, port
    /// 443), `*.domain` wildcards, `http(s)://host:port` origins (how a
    /// local run allows the simulator), and `default` for the browsers'
    /// push services; unset means `default`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = ProviderEndpoints::default();
        Ok(Self {
            table_name: required("NOTIFY_TABLE_NAME")?,
            signing_secret_id: required("NOTIFY_SIGNING_SECRET_ID")?,
            jwt: JwtRules {
                audience: optional("NOTIFY_JWT_AUDIENCE"),
                issuer: optional("NOTIFY_JWT_ISSUER"),
            },
            oidc: OidcSettings::from_env(optional)?,
            tenant_secret_prefix: optional("NOTIFY_TENANT_SECRET_PREFIX")
                .unwrap_or_else(|| "notify/tenants/".to_owned()),
            delivery_queue_url: optional("NOTIFY_DELIVERY_QUEUE_URL"),
            delivery_dlq_url: optional("NOTIFY_DELIVERY_DLQ_URL"),
            tenant_purge: PurgeMode::Queued,
            delivery_max_receive_count: positive_count(
                "NOTIFY_DELIVERY_MAX_RECEIVE_COUNT",
                optional("NOTIFY_DELIVERY_MAX_RECEIVE_COUNT"),
            )?,
            worker_tenant_share: count(
                "NOTIFY_WORKER_TENANT_SHARE",
                optional("NOTIFY_WORKER_TENANT_SHARE"),
            )?,
            max_tenants_per_org: positive_count(
                "NOTIFY_MAX_TENANTS_PER_ORG",
                optional("NOTIFY_MAX_TENANTS_PER_ORG"),
            )?
            .unwrap_or(DEFAULT_MAX_TENANTS_PER_ORG),
            key_rate_limits: KeyRateLimits::from_env()?,
            tenant_limits: tenant_limits_from_env()?,
            metrics_namespace: metrics_namespace(optional("NOTIFY_METRICS_NAMESPACE"))?,
            providers: ProviderEndpoints {
                apns_production: optional("NOTIFY_APNS_PRODUCTION_URL")
                    .unwrap_or(defaults.apns_production),
                apns_sandbox: optional("NOTIFY_APNS_SANDBOX_URL").unwrap_or(defaults.apns_sandbox),
                fcm: optional("NOTIFY_FCM_URL").unwrap_or(defaults.fcm),
                oauth_token_url: optional("NOTIFY_OAUTH_TOKEN_URL"),
                extra_ca_file: optional("NOTIFY_PROVIDER_CA_FILE"),
                web_push_hosts: match optional("NOTIFY_WEB_PUSH_HOSTS") {
                    Some(list) => WebPushHosts::parse(&list)?,
                    None => defaults.web_push_hosts,
                },
            },
            webhooks: WebhookSettings::from_env()?,
            schedule_after_secs: schedule_after_secs(optional("NOTIFY_SCHEDULE_AFTER_SECS"))?,
            schedules: ScheduleSettings::from_env(),
        })
    }
}

impl Config {
    /// The delivery queue. A function that enqueues (bulk sends, tenant
    /// deletion, the worker's postponements and purges) calls this in its
    /// `main` and refuses to start without one, rather than failing its
    /// first request.
    pub fn delivery_queue(&self) -> Result<&str, ConfigError> {
        self.delivery_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing("NOTIFY_DELIVERY_QUEUE_URL"))
    }
}

/// The namespace of the functions' metrics without `NOTIFY_METRICS_NAMESPACE`.
pub const DEFAULT_METRICS_NAMESPACE: &str = "Notify";

/// Whether `text` is a namespace CloudWatch accepts for custom metrics:
/// 1 to 255 of letters, digits and `. - _ / # : ` and space, not `AWS/...`
/// (the template's `MetricsNamespace` pattern).
pub fn is_metrics_namespace(text: &str) -> bool {
    (1..=255).contains(&text.len())
        && !text.starts_with("AWS/")
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
}

/// A CloudWatch namespace ([`is_metrics_namespace`]), or the default.
fn metrics_namespace(value: Option<String>) -> Result<String, ConfigError> {
    match value {
        None => Ok(DEFAULT_METRICS_NAMESPACE.to_owned()),
        Some(text) if is_metrics_namespace(text.trim()) => Ok(text.trim().to_owned()),
        Some(_) => Err(ConfigError::Invalid {
            name: "NOTIFY_METRICS_NAMESPACE",
            expected:
                "a CloudWatch namespace (letters, digits, . - _ / # : and spaces; not AWS/...)",
        }),
    }
}

fn schedule_after_secs(value: Option<String>) -> Result<u32, ConfigError> {
    const NAME: &str = "NOTIFY_SCHEDULE_AFTER_SECS";
    match count(NAME, value)? {
        None => Ok(MAX_QUEUE_DELAY_SECS),
        Some(secs) if secs <= MAX_QUEUE_DELAY_SECS => Ok(secs),
        Some(_) => Err(ConfigError::Invalid {
            name: NAME,
            expected: "at most 900 (SQS's longest message delay)",
        }),
    }
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

/// A count that is absent (`None`) or a positive integer, anything else an
/// error: a typo must stop the cold start, not silently change behaviour.
fn positive_count(name: &'static str, value: Option<String>) -> Result<Option<u32>, ConfigError> {
    value
        .map(|value| {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|count| *count > 0)
                .ok_or(ConfigError::Invalid {
                    name,
                    expected: "a positive integer",
                })
        })
        .transpose()
}

/// A count that is absent (`None`) or a whole number, 0 included.
fn count(name: &'static str, value: Option<String>) -> Result<Option<u32>, ConfigError> {
    value
        .map(|value| {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| ConfigError::Invalid {
                    name,
                    expected: "a whole number",
                })
        })
        .transpose()
}

fn optional(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "NOTIFY_DELIVERY_MAX_RECEIVE_COUNT";

    #[test]
    fn a_receive_count_is_absent_or_a_positive_integer() {
        assert_eq!(positive_count(NAME, None).ok(), Some(None));
        assert_eq!(
            positive_count(NAME, Some("5".to_owned())).ok(),
            Some(Some(5))
        );
        assert_eq!(
            positive_count(NAME, Some(" 12 ".to_owned())).ok(),
            Some(Some(12))
        );
    }

    #[test]
    fn a_tenant_share_may_be_zero_and_nothing_but_a_whole_number() {
        let share = "NOTIFY_WORKER_TENANT_SHARE";
        assert_eq!(count(share, Some("0".to_owned())).ok(), Some(Some(0)));
        assert_eq!(count(share, Some(" 3 ".to_owned())).ok(), Some(Some(3)));
        assert_eq!(count(share, None).ok(), Some(None));
        for bad in ["-1", "two", "1.5"] {
            let text = count(share, Some(bad.to_owned()))
                .err()
                .map(|err| err.to_string());
            assert_eq!(
                text.as_deref(),
                Some("environment variable NOTIFY_WORKER_TENANT_SHARE must be a whole number"),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_unusable_receive_count_fails_fast_naming_the_variable() {
        for bad in ["0", "-3", "five", "5.0", "99999999999"] {
            let error = positive_count(NAME, Some(bad.to_owned()));
            let text = error.err().map(|err| err.to_string()).unwrap_or_default();
            assert_eq!(
                text,
                "environment variable NOTIFY_DELIVERY_MAX_RECEIVE_COUNT must be a positive integer",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_metrics_namespace_defaults_to_notify_and_a_bad_one_stops_the_cold_start() {
        assert_eq!(metrics_namespace(None).ok().as_deref(), Some("Notify"));
        assert_eq!(
            metrics_namespace(Some("Notify/staging".to_owned()))
                .ok()
                .as_deref(),
            Some("Notify/staging")
        );
        for bad in ["AWS/Lambda", "Notify\"{}", &"N".repeat(256)] {
            assert!(metrics_namespace(Some(bad.to_owned())).is_err(), "{bad}");
        }
        assert!(is_metrics_namespace("Notify/prod-eu #2: a.b_c"));
    }

    #[test]
    fn a_function_that_enqueues_refuses_to_start_without_the_queue_variable() {
        let mut config = Config {
            table_name: "t".to_owned(),
            signing_secret_id: "s".to_owned(),
            jwt: JwtRules::default(),
            oidc: None,
            tenant_secret_prefix: "p/".to_owned(),
            delivery_queue_url: None,
            delivery_dlq_url: None,
            tenant_purge: PurgeMode::Queued,
            delivery_max_receive_count: None,
            worker_tenant_share: None,
            max_tenants_per_org: DEFAULT_MAX_TENANTS_PER_ORG,
            key_rate_limits: KeyRateLimits::default(),
            tenant_limits: EffectiveLimits::default(),
            providers: ProviderEndpoints::default(),
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
            webhooks: WebhookSettings::default(),
            schedule_after_secs: MAX_QUEUE_DELAY_SECS,
            schedules: ScheduleSettings::default(),
        };
        let error = config.delivery_queue().err().map(|err| err.to_string());
        assert_eq!(
            error.as_deref(),
            Some("environment variable NOTIFY_DELIVERY_QUEUE_URL must be set")
        );
        config.delivery_queue_url = Some("https://sqs.example/q".to_owned());
        assert_eq!(config.delivery_queue().ok(), Some("https://sqs.example/q"));
    }
}
