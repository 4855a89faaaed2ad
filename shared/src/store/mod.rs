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
//! | idempotency     | `TENANT#{tenant}`    | `IDEMPOTENCY#{endpoint}#{sha256}` (+ `#PART#…`, see `idempotency.rs`) |  |
//! | bulk batch      | `TENANT#{tenant}`    | `BATCH#{batch}` (+ `#CHUNK#…`, see `batches.rs`; `#PAGE#…`, see `audience.rs`) |    |
//! | key usage hour  | `USAGE#KEY#{key}`    | `HOUR#{yyyy-mm-ddThh}` (counts and rate window, see `key_windows.rs`; TTL 91 days) | |
//! | key rates sum   | `TENANT#{tenant}`    | `KEY_RATES` (see `key_rates.rs`) |  |
//! | retired key     | `TENANT#{tenant}`    | `RETIRED_KEY#{key}` (TTL 91 days) |  |
//! | tenant device count | `TENANT#{tenant}` | `TENANT_DEVICES` (see `devices/tenant_count.rs`) |   |
//! | webhook         | `TENANT#{tenant}`    | `WEBHOOK#{wh}` (+ `WEBHOOK_COUNT`, `WEBHOOK_DELIVERY#{wh}#…`, `WEBHOOK_EVENT#…`, `WEBHOOK_GATE#…`, see `webhooks.rs`) | |
//! | tenant day      | `USAGE#TENANT#{tenant}` | `DAY#{yyyy-mm-dd}` (pushes and leased request window, see `tenant_days.rs`; TTL 91 days) | |
//! | topic subscription | `TENANT#{tenant}` | `TOPIC#{topic}#USER#{user}` (see `topics.rs`)  |                |
//! | user's topics   | `TENANT#{tenant}`    | `USER_TOPICS#{sha256 of user}` (a string set, capped; see `topics.rs`) |  |
//!
//! Key builders and prefixes live in `keys.rs`, the DynamoDB call ceremony
//! (conditional writes, transactions, consistent reads, paginated queries)
//! in `ops.rs`, the tenant-wide purge in `purge.rs`. The table's definition lives in `template.yaml`; the local bootstrap and
//! the tests create tables from it.

mod api_keys;
mod audience;
mod batches;
mod devices;
mod digests;
mod idempotency;
mod key_rates;
mod key_windows;
mod keys;
mod ops;
mod progress_parts;
mod purge;
mod tenant_days;
mod tenants;
mod topics;
mod webhooks;

pub use audience::{AudiencePage, PageCount, AUDIENCE_PAGE_USERS};
pub use batches::CountResult;
#[cfg(feature = "testing")]
pub use devices::device_counter_item;
pub use devices::MAX_DEVICES_LISTED;
pub use idempotency::{Claim, IdempotencyRecord, IdempotencySlot, IdempotencyState};
pub use key_windows::{HourUsage, UsageDelta, WindowOutcome};
pub use ops::ReadConsistency;
pub use purge::PurgeProgress;
pub use tenant_days::TenantLease;
pub use tenants::TenantRecord;
pub use topics::Subscription;
pub use webhooks::WEBHOOK_LOG_TTL_SECS;

use aws_sdk_dynamodb::Client;

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
}

pub(crate) use keys::tenant_pk;
pub(crate) use ops::{key, n, number_attribute, s, text_attribute};
