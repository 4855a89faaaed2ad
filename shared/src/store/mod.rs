//! The DynamoDB store: one table, items keyed by `PK`/`SK`, one global index
//! `GSI1` for listings that cross partitions.
//!
//! | item            | PK                   | SK             | GSI1PK / GSI1SK                  |
//! |-----------------|----------------------|----------------|----------------------------------|
//! | tenant          | `TENANT#{tenant}`    | `TENANT`       | `ORG#{org}` / `TENANT#{created}#{tenant}` |
//! | API key         | `TENANT#{tenant}`    | `KEY#{key}`    |                                  |
//! | API key lookup  | `APIKEY#{sha256}`    | `APIKEY`       |                                  |
//! | device          | `TENANT#{tenant}`    | `DEVICE#{token}` |                                |
//! | user's device   | `TENANT#{tenant}#USER#{user}` | `DEVICE#{token}` |                       |
//! | user's device count | `TENANT#{tenant}` | `USER_DEVICES#{sha256 of user}` |                    |
//! | user verification on | `TENANT#{tenant}` | `USER_VERIFICATION` (the secret is in Secrets Manager) | |
//! | idempotency     | `TENANT#{tenant}`    | `IDEMPOTENCY#{endpoint}#{sha256}` |               |
//! | bulk batch      | `TENANT#{tenant}`    | `BATCH#{batch}` (+ `#CHUNK#…`, see `batches.rs`) |    |
//!
//! Key builders and prefixes live in `keys.rs`, the tenant-wide purge in
//! `purge.rs`. The table's definition lives in `template.yaml`; the local bootstrap and
//! the tests create tables from it.

mod api_keys;
mod batches;
mod devices;
mod idempotency;
mod keys;
mod purge;
mod tenants;
mod user_verification;

pub use api_keys::ApiKeyGrant;
pub use batches::{ChunkCounts, ChunkProgress, CountResult, ProgressUpdate, UserOutcome};
#[cfg(feature = "testing")]
pub use devices::device_counter_item;
pub use devices::MAX_DEVICES_LISTED;
pub use idempotency::{Claim, IdempotencyRecord, IdempotencySlot, IdempotencyState};
pub use purge::PurgeProgress;
pub use tenants::TenantRecord;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::error::{Error, Result};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

pub(crate) use keys::tenant_pk;

/// A text attribute of an item, if it has one.
pub(crate) fn text_attribute<'i>(
    item: &'i std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The primary key of an item as DynamoDB wants it.
pub(crate) fn key(
    pk: String,
    sk: impl Into<String>,
) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// An SDK request builder's result, its error as an internal one.
pub(crate) fn build<T, E: std::error::Error + Send + Sync + 'static>(
    built: std::result::Result<T, E>,
) -> Result<T> {
    built.map_err(|err| Error::internal("building DynamoDB request", err))
}

/// The cancellation code of a transaction's `index`th item, if any.
pub(crate) fn reason_code(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    index: usize,
) -> Option<&str> {
    reasons.get(index).and_then(|reason| reason.code())
}

/// Whether the condition of a transaction's `index`th item failed.
pub(crate) fn condition_failed(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    index: usize,
) -> bool {
    reason_code(reasons, index) == Some("ConditionalCheckFailed")
}
