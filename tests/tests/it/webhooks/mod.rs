//! Webhooks: registration (`registry`), signed delivery with retries and
//! the address rules (`dispatch`), the events pushes produce (`events`) and
//! the unusual activity of API keys (`unusual`).

mod dispatch;
mod events;
mod registry;
mod unusual;

use std::time::Duration;

use notify_shared::service::webhooks::dispatch::Dispatcher;
use notify_shared::App;
use notify_tests::webhooks::{create_webhook, WebhookQueues};
use notify_tests::TestEnv;
use serde_json::{json, Value};

/// A tenant of `env` whose app publishes to a fresh webhook queue pair
/// (receivers on 127.0.0.1 allowed when `allow_loopback`), and a
/// dispatcher draining it with one-second retry delays.
pub struct Hooked {
    pub env: TestEnv,
    pub hooks: WebhookQueues,
    pub dispatcher: Dispatcher,
    pub owner: String,
    pub tenant_id: String,
}

impl Hooked {
    pub async fn start(allow_loopback: bool) -> Self {
        let hooks = WebhookQueues::create().await;
        let mut env = TestEnv::new().await;
        let mut config = env.app.config.clone();
        (hooks.configure(allow_loopback))(&mut config);
        env.app = App::with_clients(
            config,
            env.dynamodb.clone(),
            notify_shared::secrets::Secrets::new(
                env.secrets.clone(),
                env.tenant_secret_prefix.clone(),
            ),
            aws_sdk_sqs::Client::new(&env.sdk),
        );
        let dispatcher = dispatcher_of(&env.app);
        let owner = env.user_token("owner", &["acme"]);
        let tenant_id = env
            .create_tenant(&owner, notify_tests::keys::tenant_with_apns("acme"))
            .await;
        Self {
            env,
            hooks,
            dispatcher,
            owner,
            tenant_id,
        }
    }

    /// A webhook of the tenant for `events` at `url`: its id and secret.
    pub async fn webhook(&self, url: &str, events: &[&str]) -> (String, String) {
        let (status, body) = create_webhook(
            &self.env.app,
            &self.owner,
            &self.tenant_id,
            json!({"url": url, "events": events}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        text(&body, "webhook_id")
            .zip(text(&body, "secret"))
            .unwrap_or_else(|| panic!("{body}"))
    }
}

/// A dispatcher of `app`'s configuration retrying after one second.
pub fn dispatcher_of(app: &App) -> Dispatcher {
    Dispatcher::from_app(app)
        .unwrap_or_else(|err| panic!("building the dispatcher: {err}"))
        .with_retry_delays(vec![Duration::from_secs(1); 8])
}

pub fn text(body: &Value, field: &str) -> Option<String> {
    body[field].as_str().map(str::to_owned)
}
