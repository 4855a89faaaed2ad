//! Everything a function needs, built once per cold start and reused.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;

use crate::auth::{Authenticator, RateLimits, UserTokenVerifier};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::BoxError;
use crate::limits::{KeyActivityWatch, Meter, RateLimiter, TenantLimiter};
use crate::model::Tenant;
use crate::schedules::Schedules;
use crate::secrets::Secrets;
use crate::store::Store;

/// A dependency that stops answering costs a 503 with `Retry-After`, not
/// the whole invocation: the SDK sets no operation timeout by default, and a
/// hung DynamoDB or Secrets Manager call would run into the function's
/// timeout (a bare 5xx from API Gateway, and for the worker every record of
/// the batch redelivered). DynamoDB and Secrets Manager answer in
/// milliseconds; these leave room for the SDK's retries within the API
/// functions' 10 s.
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

pub struct App {
    pub config: Config,
    pub store: Store,
    pub secrets: Secrets,
    pub user_tokens: UserTokenVerifier,
    pub sqs: aws_sdk_sqs::Client,
    /// One-time EventBridge Scheduler schedules (scheduled bulk sends).
    pub schedules: Schedules,
    /// This container's notes on API keys' rate windows.
    pub rate_limiter: RateLimiter,
    /// This container's leases of tenants' rates and their pushes of the day.
    pub tenant_limiter: TenantLimiter,
    /// Evaluates the unusual-activity rule at an API key's sampled
    /// requests: installed by the functions that authenticate keys
    /// ([`Self::with_key_watch`]); without it, no key is watched.
    key_watch: Option<Arc<dyn KeyActivityWatch>>,
}

impl App {
    /// Reads the configuration (failing fast on a missing variable) and
    /// builds the SDK clients. No network I/O happens here.
    pub async fn from_env() -> Result<Self, BoxError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(sdk_timeouts())
            .load()
            .await;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let secrets = Secrets::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            config.tenant_secret_prefix.clone(),
        );
        let schedules = Schedules::new(
            aws_sdk_scheduler::Client::new(sdk),
            config.schedules.clone(),
        );
        Self::with_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            secrets,
            aws_sdk_sqs::Client::new(sdk),
        )
        .with_schedules(schedules)
    }

    /// Authorisation, with only the parts of `App` it needs.
    pub fn authenticator(&self) -> Authenticator<'_> {
        Authenticator::new(&self.store, &self.user_tokens).with_rate_limits(RateLimits {
            keys: &self.rate_limiter,
            tenants: &self.tenant_limiter,
            key_default: self.config.key_rate_limits.default,
            tenant_defaults: self.config.tenant_limits,
        })
    }

    /// Usage recording, with only the parts of `App` it needs.
    pub fn meter(&self) -> Meter<'_> {
        Meter {
            store: &self.store,
            limiter: &self.rate_limiter,
            tenants: &self.tenant_limiter,
            watch: self.key_watch.as_deref(),
        }
    }

    /// The same `App` with API keys' activity watched by what `make`
    /// builds from it (the webhook publisher, which lives in `service`
    /// and so cannot be built here).
    pub fn with_key_watch<W: KeyActivityWatch + 'static>(
        mut self,
        make: impl FnOnce(&App) -> W,
    ) -> Self {
        self.key_watch = Some(Arc::new(make(&self)));
        self
    }

    /// 429 `quota_exceeded` once `tenant` used up its pushes of the day:
    /// a send's first step (inside its idempotency, so that a replay still
    /// gets its stored answer and a refusal is not stored).
    pub async fn check_push_quota(&self, tenant: &Tenant) -> crate::Result<()> {
        let limit = tenant
            .limits
            .effective(self.config.tenant_limits)
            .pushes_per_day;
        self.tenant_limiter
            .check_push_quota(&self.store, &tenant.tenant_id, limit)
            .await
    }

    /// The same `App` with rate windows and usage hours on `clock`: tests
    /// set the time (a [`Clock::manual`]) instead of racing the wall clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.rate_limiter = RateLimiter::new(clock.clone());
        self.tenant_limiter = TenantLimiter::new(clock);
        self
    }

    /// The same `App` creating and deleting schedules through `schedules`
    /// ([`Self::with_clients`] builds none that work).
    pub fn with_schedules(mut self, schedules: Schedules) -> Self {
        self.schedules = schedules;
        self
    }

    /// For tests that instrument a client (e.g. to count DynamoDB calls).
    /// Its [`Schedules`] fail every use until [`Self::with_schedules`].
    pub fn with_clients(
        config: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: Secrets,
        sqs: aws_sdk_sqs::Client,
    ) -> Self {
        Self {
            store: Store::new(dynamodb, config.table_name.clone()),
            user_tokens: UserTokenVerifier::new(
                secrets.clone(),
                config.signing_secret_id.clone(),
                config.jwt.clone(),
            )
            .with_oidc(config.oidc.clone()),
            secrets,
            sqs,
            schedules: Schedules::without_client(config.schedules.clone()),
            rate_limiter: RateLimiter::default(),
            tenant_limiter: TenantLimiter::default(),
            key_watch: None,
            config,
        }
    }
}
