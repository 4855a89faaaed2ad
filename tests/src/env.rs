//! One isolated environment per test inside the shared AWS emulator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use notify_shared::auth::user_token::{mint, UserClaims};
use notify_shared::config::{Config, JwtRules, OidcSettings, ProviderEndpoints, PurgeMode};
use notify_shared::secrets::Secrets;
use notify_shared::App;
use serde_json::Value;

use crate::calls::{call, parts};

/// Where `scripts/test` started the emulator.
pub const ENDPOINT_VARIABLE: &str = "NOTIFY_TEST_AWS_ENDPOINT";

/// `template.yaml`, parsed once.
pub fn template() -> &'static notifyctl::Template {
    static TEMPLATE: OnceLock<notifyctl::Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        notifyctl::Template::parse(include_str!("../../template.yaml"))
            .unwrap_or_else(|err| panic!("template.yaml does not parse: {err:#}"))
    })
}

/// Counts DynamoDB operations, to prove that a request made none.
#[derive(Debug, Clone, Default)]
struct CountCalls(Arc<AtomicUsize>);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The emulator `scripts/test` started, and an SDK configuration that
/// talks to it; panics when the tests were not started that way.
pub async fn emulator_sdk() -> (String, SdkConfig) {
    let endpoint = std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VARIABLE} is not set: run the tests with scripts/test, which starts the AWS emulator")
    });
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .load()
        .await;
    (endpoint, sdk)
}

pub struct TestEnv {
    pub app: App,
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub table: String,
    pub tenant_secret_prefix: String,
    signing_secret: String,
    dynamodb_calls: Arc<AtomicUsize>,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with_providers(ProviderEndpoints::default()).await
    }

    /// An environment whose app pushes to `providers` (see `with_simulator`).
    pub async fn with_providers(providers: ProviderEndpoints) -> Self {
        Self::build(providers, None).await
    }

    /// An environment whose app also takes the user tokens of the identity
    /// provider `oidc` describes.
    pub async fn with_oidc(oidc: OidcSettings) -> Self {
        Self::build(ProviderEndpoints::default(), Some(oidc)).await
    }

    async fn build(providers: ProviderEndpoints, oidc: Option<OidcSettings>) -> Self {
        let (endpoint, sdk) = emulator_sdk().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let run = &run[..12];
        let table = format!("test-{run}");
        let signing_secret_id = format!("test/{run}/signing");
        let tenant_secret_prefix = format!("test/{run}/tenants/");
        let signing_secret = format!("signing-secret-{run}-{}", uuid::Uuid::new_v4().simple());

        let plain_dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        if let Err(err) = notifyctl::create_table(&plain_dynamodb, &template().table, &table).await
        {
            panic!("creating test table {table} at {endpoint}: {err:#}");
        }
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        if let Err(err) = secrets
            .create_secret()
            .name(&signing_secret_id)
            .secret_string(&signing_secret)
            .send()
            .await
        {
            panic!(
                "creating signing secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(err)
            );
        }

        let dynamodb_calls = Arc::new(AtomicUsize::new(0));
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(CountCalls(dynamodb_calls.clone()))
                .build(),
        );
        let config = Config {
            table_name: table.clone(),
            signing_secret_id,
            jwt: JwtRules::default(),
            oidc,
            tenant_secret_prefix: tenant_secret_prefix.clone(),
            delivery_queue_url: None,
            delivery_dlq_url: None,
            tenant_purge: PurgeMode::Inline,
            delivery_max_receive_count: None,
            worker_tenant_share: None,
            max_tenants_per_org: notify_shared::config::DEFAULT_MAX_TENANTS_PER_ORG,
            key_rate_limits: notify_shared::config::KeyRateLimits::default(),
            tenant_limits: notify_shared::model::EffectiveLimits::default(),
            providers,
            metrics_namespace: notify_shared::metrics::DEFAULT_NAMESPACE.to_owned(),
            schedule_after_secs: notify_shared::config::MAX_QUEUE_DELAY_SECS,
            webhooks: notify_shared::config::WebhookSettings::default(),
            schedules: notify_shared::config::ScheduleSettings::default(),
        };
        let app = App::with_clients(
            config,
            dynamodb.clone(),
            Secrets::new(secrets.clone(), tenant_secret_prefix.clone()),
            aws_sdk_sqs::Client::new(&sdk),
        );
        Self {
            app,
            sdk,
            dynamodb,
            secrets,
            table,
            tenant_secret_prefix,
            signing_secret,
            dynamodb_calls,
        }
    }

    /// DynamoDB operations made through the app since the environment was built.
    pub fn dynamodb_calls(&self) -> usize {
        self.dynamodb_calls.load(Ordering::SeqCst)
    }

    /// A user token for `sub`, member of `orgs`, valid for an hour.
    pub fn user_token(&self, sub: &str, orgs: &[&str]) -> String {
        self.token_with(sub, orgs, 3600, self.signing_secret.as_bytes())
    }

    pub fn signing_secret(&self) -> &[u8] {
        self.signing_secret.as_bytes()
    }

    /// A token signed with the real secret that expired `seconds_ago`.
    pub fn expired_token(&self, sub: &str, orgs: &[&str], seconds_ago: i64) -> String {
        self.token_with(sub, orgs, -seconds_ago, self.signing_secret.as_bytes())
    }

    pub fn token_with(
        &self,
        sub: &str,
        orgs: &[&str],
        lifetime_secs: i64,
        secret: &[u8],
    ) -> String {
        let claims = UserClaims {
            sub: sub.to_owned(),
            exp: chrono::Utc::now().timestamp() + lifetime_secs,
            orgs: orgs.iter().map(|org| (*org).to_owned()).collect(),
            email: Some(format!("{sub}@example.com")),
            iat: Some(chrono::Utc::now().timestamp()),
        };
        mint(&claims, secret).unwrap_or_else(|err| panic!("minting token: {err}"))
    }

    /// Creates a tenant and returns its id; panics unless the answer is 200.
    pub async fn create_tenant(&self, token: &str, body: Value) -> String {
        let response = tenant_create::handle(
            &self.app,
            call("POST", "/tenants").bearer(token).json(body).build(),
        )
        .await;
        let (status, body) = parts(&response);
        assert_eq!(status, 200, "creating tenant: {body}");
        body["tenant_id"].as_str().unwrap_or_default().to_owned()
    }

    /// Creates an API key on the tenant and returns the creation answer.
    pub async fn create_api_key(&self, token: &str, tenant_id: &str, body: Value) -> Value {
        let response = api_key_create::handle(
            &self.app,
            call("POST", "/tenants/{tenant_id}/api-keys")
                .param("tenant_id", tenant_id)
                .bearer(token)
                .json(body)
                .build(),
        )
        .await;
        let (status, body) = parts(&response);
        assert_eq!(status, 200, "creating API key: {body}");
        body
    }

    /// Tenant secrets this test's app has stored in Secrets Manager.
    pub async fn tenant_secret_count(&self) -> usize {
        let pages = self
            .secrets
            .list_secrets()
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap_or_else(|err| panic!("listing secrets: {err}"));
        pages
            .iter()
            .flat_map(|page| page.secret_list())
            .filter_map(|secret| secret.name())
            .filter(|name| name.starts_with(&self.tenant_secret_prefix))
            .count()
    }

    /// Every item of this test's table, as JSON text, for "appears nowhere" checks.
    pub async fn table_dump(&self) -> String {
        let items = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap_or_else(|err| panic!("scanning test table: {err}"));
        format!("{items:?}")
    }
}
