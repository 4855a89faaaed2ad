//! Interceptors on the app's DynamoDB client: faults injected into its
//! calls, to test what a request does when one of its writes fails, and
//! DynamoDB's key-size limits, which the emulator does not enforce.

use crate::hooks::{Hooked, Hooks};
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::config_bag::ConfigBag;
use notify_shared::App;

use super::{app_through, Budget};
use crate::env::TestEnv;

/// Which DynamoDB calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The `UpdateItem` that stores an idempotent answer (`response_body`).
    IdempotencyCompletion,
    /// Any `Query` (e.g. listing a user's devices before a send).
    Query,
}

impl Target {
    fn matches(self, input: &Input) -> bool {
        match self {
            Target::IdempotencyCompletion => input
                .downcast_ref::<UpdateItemInput>()
                .and_then(|update| update.update_expression())
                .is_some_and(|expression| expression.contains("response_body")),
            Target::Query => input.downcast_ref::<QueryInput>().is_some(),
        }
    }
}

/// Fails the next `times` DynamoDB calls that match `target`, before they
/// are sent (so DynamoDB never applies them), and counts the failures.
#[derive(Debug, Clone)]
pub struct DynamoDbFault {
    target: Target,
    budget: Budget,
}

impl DynamoDbFault {
    pub fn new(target: Target, times: usize) -> Self {
        Self {
            target,
            budget: Budget::new(times),
        }
    }

    /// How many calls were failed so far.
    pub fn injected(&self) -> usize {
        self.budget.used()
    }

    /// Lets every later call through.
    pub fn heal(&self) {
        self.budget.heal();
    }
}

impl Hooks for DynamoDbFault {
    fn before_serialization(&self, input: &Input, _bag: &mut ConfigBag) -> Hooked {
        if !self.target.matches(input) {
            return Ok(());
        }
        if self.budget.take() {
            self.budget.count();
            return Err("injected DynamoDB failure".into());
        }
        Ok(())
    }
}

crate::intercept_with_hooks!(DynamoDbFault);

/// DynamoDB's limits on key attributes, in bytes of UTF-8.
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

/// Records the key values of every DynamoDB request (`PK` and `SK` of the
/// keys and items it names, a transaction's included, and a query's
/// expression values), and fails a request whose key is over DynamoDB's
/// size limits before it is sent, as DynamoDB answers it
/// (`ValidationException`) and the emulator does not.
#[derive(Debug, Clone, Default)]
pub struct DynamoDbKeys(Arc<Mutex<Vec<String>>>);

impl DynamoDbKeys {
    /// Every key value seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// `(partition, sort)` values of a key or item.
fn key_values(item: &HashMap<String, AttributeValue>) -> (Option<String>, Option<String>) {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    (text("PK"), text("SK"))
}

/// The key (or item) one transaction item names.
fn transact_key(
    item: &aws_sdk_dynamodb::types::TransactWriteItem,
) -> Option<&HashMap<String, AttributeValue>> {
    item.put()
        .map(|put| put.item())
        .or_else(|| item.update().map(|update| update.key()))
        .or_else(|| item.delete().map(|delete| delete.key()))
        .or_else(|| item.condition_check().map(|check| check.key()))
}

impl Hooks for DynamoDbKeys {
    fn before_serialization(&self, input: &Input, _bag: &mut ConfigBag) -> Hooked {
        let mut keys: Vec<(Option<String>, Option<String>)> = Vec::new();
        if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            for wanted in batch
                .request_items()
                .into_iter()
                .flat_map(|items| items.values())
            {
                keys.extend(wanted.keys().iter().map(key_values));
            }
        }
        let single = [
            input.downcast_ref::<GetItemInput>().and_then(|op| op.key()),
            input
                .downcast_ref::<UpdateItemInput>()
                .and_then(|op| op.key()),
            input
                .downcast_ref::<DeleteItemInput>()
                .and_then(|op| op.key()),
            input
                .downcast_ref::<PutItemInput>()
                .and_then(|op| op.item()),
        ];
        keys.extend(single.into_iter().flatten().map(key_values));
        if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            keys.extend(
                transaction
                    .transact_items()
                    .iter()
                    .filter_map(transact_key)
                    .map(key_values),
            );
        }
        if let Some(query) = input.downcast_ref::<QueryInput>() {
            let values = query.expression_attribute_values().into_iter().flatten();
            keys.extend(values.filter_map(|(_, value)| match value {
                AttributeValue::S(text) => Some((Some(text.clone()), None)),
                _ => None,
            }));
        }
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut too_long = false;
        for (partition, sort) in keys {
            too_long |= partition
                .as_ref()
                .is_some_and(|pk| pk.len() > MAX_PARTITION_KEY_BYTES);
            too_long |= sort
                .as_ref()
                .is_some_and(|sk| sk.len() > MAX_SORT_KEY_BYTES);
            seen.extend(partition);
            seen.extend(sort);
        }
        if too_long {
            return Err(
                "ValidationException: one or more parameter values were invalid: \
                 the size of a key attribute exceeds DynamoDB's limit"
                    .into(),
            );
        }
        Ok(())
    }
}

crate::intercept_with_hooks!(DynamoDbKeys);

impl TestEnv {
    /// The test's app again (same table, secrets and providers), with
    /// `interceptor` on its AWS clients.
    pub fn app_with<I>(&self, interceptor: I) -> App
    where
        I: Intercept + Clone + 'static,
    {
        app_through(self, interceptor)
    }
}
