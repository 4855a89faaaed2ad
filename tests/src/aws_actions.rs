//! The IAM actions an app's AWS calls need, recorded by an SDK interceptor
//! from each operation's metadata. The emulator does not enforce IAM, so
//! this record is what a test can hold `template.yaml` to.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use notify_shared::config::Config;
use notify_shared::schedules::Schedules;
use notify_shared::secrets::Secrets;
use notify_shared::App;

use crate::hooks::{Hooked, Hooks};
use crate::TestEnv;

/// The IAM actions (`dynamodb:GetItem`) of the calls made through the
/// clients it intercepts.
#[derive(Debug, Clone, Default)]
pub struct ActionLog(Arc<Mutex<BTreeSet<String>>>);

impl ActionLog {
    /// The actions recorded since the last `take`.
    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.lock())
    }

    /// An app on `env`'s emulator, table and secrets, with `config`, whose
    /// DynamoDB, Secrets Manager, SQS and EventBridge Scheduler calls are
    /// recorded here. Its caches
    /// are its own, as a new Lambda container's are.
    pub fn app(&self, env: &TestEnv, config: Config) -> App {
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&env.sdk)
                .interceptor(self.clone())
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&env.sdk)
                .interceptor(self.clone())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&env.sdk)
                .interceptor(self.clone())
                .build(),
        );
        let scheduler = aws_sdk_scheduler::Client::from_conf(
            aws_sdk_scheduler::config::Builder::from(&env.sdk)
                .interceptor(self.clone())
                .build(),
        );
        let schedules = Schedules::new(scheduler, config.schedules.clone());
        let secrets = Secrets::new(secrets, env.tenant_secret_prefix.clone());
        App::with_clients(config, dynamodb, secrets, sqs).with_schedules(schedules)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// `before_serialization` runs once per call, once the operation's metadata
// is in the bag (client interceptors' earlier `read_before_execution` runs
// before it is).
impl Hooks for ActionLog {
    fn before_serialization(&self, input: &Input, bag: &mut ConfigBag) -> Hooked {
        if let Some(metadata) = bag.load::<Metadata>() {
            let actions = iam_actions(metadata.service(), metadata.name(), input);
            self.lock().extend(actions);
        }
        Ok(())
    }
}

crate::intercept_with_hooks!(ActionLog);

/// What IAM checks for one call. Mostly `service:Operation`, but a batch
/// of SQS messages is checked as the single-message action, and a
/// DynamoDB transaction has no action of its own: IAM checks each item's.
fn iam_actions(service: &str, operation: &str, input: &Input) -> Vec<String> {
    let prefix = match service {
        "DynamoDB" => "dynamodb".to_owned(),
        "Secrets Manager" => "secretsmanager".to_owned(),
        "SQS" => "sqs".to_owned(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    };
    let operations: Vec<&str> = match (prefix.as_str(), operation) {
        ("dynamodb", "TransactWriteItems") => input
            .downcast_ref::<TransactWriteItemsInput>()
            .map(|input| {
                input
                    .transact_items()
                    .iter()
                    .filter_map(item_action)
                    .collect()
            })
            .unwrap_or_default(),
        ("dynamodb", "TransactGetItems") => vec!["GetItem"],
        ("sqs", batch) if batch.ends_with("Batch") => vec![batch.trim_end_matches("Batch")],
        (_, operation) => vec![operation],
    };
    operations
        .into_iter()
        .map(|operation| format!("{prefix}:{operation}"))
        .collect()
}

fn item_action(item: &aws_sdk_dynamodb::types::TransactWriteItem) -> Option<&'static str> {
    if item.put().is_some() {
        Some("PutItem")
    } else if item.update().is_some() {
        Some("UpdateItem")
    } else if item.delete().is_some() {
        Some("DeleteItem")
    } else if item.condition_check().is_some() {
        Some("ConditionCheckItem")
    } else {
        None
    }
}
