//! Fault injection for the integration tests: interceptors on the app's
//! AWS clients that fail chosen calls (by operation, or by DynamoDB call and
//! key), hold a call at a point of a request, record the keys DynamoDB
//! would refuse, lose a call's answer after it was applied, or refuse a
//! write as a transaction conflict.

mod answers;
mod dynamodb;
mod operations;

pub use answers::{writes_sort_key, Conflicts, LostAnswer};
pub use dynamodb::{DynamoDbFault, DynamoDbKeys, Target};
pub use operations::{Faults, Gate};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::interceptors::Intercept;
use notify_shared::secrets::Secrets;
use notify_shared::App;

use crate::env::TestEnv;

/// How many more calls an interceptor may act on, and how many it has
/// acted on; clones share both counts.
#[derive(Debug, Clone)]
struct Budget {
    remaining: Arc<AtomicUsize>,
    used: Arc<AtomicUsize>,
}

impl Budget {
    fn new(times: usize) -> Self {
        Self {
            remaining: Arc::new(AtomicUsize::new(times)),
            used: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Takes one call from the budget; `false` when it is spent.
    fn take(&self) -> bool {
        self.remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    /// Counts one call acted on.
    fn count(&self) {
        self.used.fetch_add(1, Ordering::SeqCst);
    }

    /// Calls acted on so far.
    fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// Spends what is left: every later call goes through.
    fn heal(&self) {
        self.remaining.store(0, Ordering::SeqCst);
    }
}

/// The environment's app (same table, secrets and settings), its DynamoDB
/// and Secrets Manager calls going through `interceptor`.
fn app_through(env: &TestEnv, interceptor: impl Intercept + Clone + 'static) -> App {
    let dynamodb =
        aws_sdk_dynamodb::config::Builder::from(&env.sdk).interceptor(interceptor.clone());
    let secrets = aws_sdk_secretsmanager::config::Builder::from(&env.sdk).interceptor(interceptor);
    app_with(
        env,
        aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
    )
}

/// The environment's app (same table, secrets and settings) with these
/// DynamoDB and Secrets Manager clients.
pub fn app_with(
    env: &TestEnv,
    dynamodb: aws_sdk_dynamodb::Client,
    secrets: aws_sdk_secretsmanager::Client,
) -> App {
    App::with_clients(
        env.app.config.clone(),
        dynamodb,
        Secrets::new(secrets, env.tenant_secret_prefix.clone()),
        aws_sdk_sqs::Client::new(&env.sdk),
    )
}
