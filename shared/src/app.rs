//! Everything a function needs, built once per cold start and reused.

use aws_config::SdkConfig;

use crate::auth::UserTokenVerifier;
use crate::config::Config;
use crate::error::BoxError;
use crate::secrets::Secrets;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub secrets: Secrets,
    pub user_tokens: UserTokenVerifier,
    pub sqs: aws_sdk_sqs::Client,
}

impl App {
    /// Reads the configuration (failing fast on a missing variable) and
    /// builds the SDK clients. No network I/O happens here.
    pub async fn from_env() -> Result<Self, BoxError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let secrets = Secrets::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            config.tenant_secret_prefix.clone(),
        );
        Self::with_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            secrets,
            aws_sdk_sqs::Client::new(sdk),
        )
    }

    /// For tests that instrument a client (e.g. to count DynamoDB calls).
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
            ),
            secrets,
            sqs,
            config,
        }
    }
}
