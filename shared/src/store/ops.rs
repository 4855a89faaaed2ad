//! The DynamoDB ceremony, written once: conditional writes whose failed
//! condition is an answer rather than an error, transaction items and their
//! cancellation reasons, strongly consistent gets, paginated prefix queries
//! and batched deletes. The item modules say what to write; this says how.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, DeleteRequest, KeysAndAttributes, Select,
    TransactWriteItem, WriteRequest,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::tenant_key;
use super::{Store, PK};
use crate::error::{Error, Result};

/// An item or a key as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The condition of a write that must create its item.
pub(crate) const ABSENT: &str = "attribute_not_exists(PK)";

/// The condition every write that needs a live tenant puts on the tenant
/// item: it exists and no deletion has started. Its one home: writes use it
/// through [`live_tenant_check`] or by joining it to their own condition.
pub(crate) const LIVE_TENANT: &str = "attribute_exists(PK) AND attribute_not_exists(deleted_at)";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of an item as DynamoDB wants it.
pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (super::SK.to_owned(), s(sk))])
}

/// A text attribute of an item, if it has one.
pub(crate) fn text_attribute<'i>(item: &'i Item, name: &str) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// A number attribute of an item, if it has one that fits an `i64`.
pub(crate) fn number_attribute(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// An SDK request builder's result, its error as an internal one.
pub(crate) fn build<T, E: std::error::Error + Send + Sync + 'static>(
    built: std::result::Result<T, E>,
) -> Result<T> {
    built.map_err(|err| Error::internal("building DynamoDB request", err))
}

/// A typed item as DynamoDB stores it; `context` names it in the error.
pub(crate) fn encode<T: Serialize>(value: T, context: &'static str) -> Result<Item> {
    serde_dynamo::to_item(value).map_err(|err| Error::internal(context, err))
}

/// A stored item as its type; `context` names it in the error.
pub(crate) fn decode<T: DeserializeOwned>(item: Item, context: &'static str) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|err| Error::internal(context, err))
}

/// Service errors that can say "your condition failed".
pub(crate) trait ConditionFailure {
    fn is_condition_failure(&self) -> bool;
}

impl ConditionFailure for PutItemError {
    fn is_condition_failure(&self) -> bool {
        matches!(self, Self::ConditionalCheckFailedException(_))
    }
}

impl ConditionFailure for UpdateItemError {
    fn is_condition_failure(&self) -> bool {
        matches!(self, Self::ConditionalCheckFailedException(_))
    }
}

impl ConditionFailure for DeleteItemError {
    fn is_condition_failure(&self) -> bool {
        matches!(self, Self::ConditionalCheckFailedException(_))
    }
}

/// A conditional write's result, where a failed condition is an answer
/// (the item changed, is gone, or is held) and not an error.
pub(crate) trait ConditionalExt<T> {
    /// `Some(output)` when the write happened, `None` when its condition
    /// failed; any other failure becomes an [`Error`] with `context`.
    fn unless_condition_failed(self, context: &'static str) -> Result<Option<T>>;

    /// Whether the write happened.
    fn condition_held(self, context: &'static str) -> Result<bool>
    where
        Self: Sized,
    {
        self.unless_condition_failed(context)
            .map(|output| output.is_some())
    }
}

impl<T, E> ConditionalExt<T> for std::result::Result<T, SdkError<E, HttpResponse>>
where
    E: ConditionFailure
        + aws_sdk_dynamodb::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    fn unless_condition_failed(self, context: &'static str) -> Result<Option<T>> {
        match self {
            Ok(output) => Ok(Some(output)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(ConditionFailure::is_condition_failure) =>
            {
                Ok(None)
            }
            Err(err) => Err(Error::from_sdk(context, err)),
        }
    }
}

/// Attempts at a write that another transaction keeps refusing
/// (`TransactionConflict`): DynamoDB refuses a write to an item an ongoing
/// transaction holds, and the SDK does not retry that. A hot item (the
/// tenant's, which every registration checks) frees up within milliseconds.
const CONFLICT_ATTEMPTS: u32 = 4;

/// A short, growing, jittered pause before attempt `attempt + 1` of a write
/// that lost to a transaction: 20, 40, 80 ms plus as much again at random,
/// so that the writers that collided do not collide again.
async fn conflict_pause(attempt: u32) {
    let base = 20_u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base.saturating_add(jitter))).await;
}

/// Whether a single write was refused because a transaction holds its item.
fn held_by_transaction<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("TransactionConflictException")
}

/// Sends a single write (`attempt` builds and sends it afresh), again after
/// a short jittered pause while a transaction holds its item, a few times
/// at most. Such a refusal changed nothing, so sending again is safe; if it
/// lasts, the last refusal is returned ([`Error::from_sdk`] makes it a 503
/// with `Retry-After`).
pub(crate) async fn through_conflicts<T, E, Fut>(
    mut attempt: impl FnMut() -> Fut,
) -> std::result::Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(err) if held_by_transaction(&err) && tries < CONFLICT_ATTEMPTS => {
                tracing::info!(attempt = tries, "item held by a transaction; trying again");
                conflict_pause(tries - 1).await;
                tries += 1;
            }
            result => return result,
        }
    }
}

/// A transaction DynamoDB cancelled: why, item by item.
pub(crate) struct Cancelled {
    reasons: Vec<CancellationReason>,
    error: SdkError<TransactWriteItemsError, HttpResponse>,
}

impl Cancelled {
    /// Whether the condition of the `index`th item failed.
    pub(crate) fn condition_failed(&self, index: usize) -> bool {
        self.reasons.get(index).and_then(|reason| reason.code()) == Some("ConditionalCheckFailed")
    }

    /// Whether another transaction held one of the items.
    pub(crate) fn any_conflict(&self) -> bool {
        self.reasons
            .iter()
            .any(|reason| reason.code() == Some("TransactionConflict"))
    }

    /// Cancelled only because other transactions held items: nothing was
    /// refused on its merits, and the same transaction may pass shortly.
    fn only_conflicts(&self) -> bool {
        self.any_conflict()
            && !self
                .reasons
                .iter()
                .any(|reason| reason.code() == Some("ConditionalCheckFailed"))
    }

    /// A cancellation none of the expected reasons explains. One that
    /// conflicts kept causing is the service being busy (503 with
    /// `Retry-After`), never a 500.
    pub(crate) fn into_error(self, context: &'static str) -> Error {
        if self.any_conflict() {
            return Error::Unavailable {
                context,
                source: Box::new(self.error),
            };
        }
        Error::from_sdk(context, self.error)
    }
}

/// A transaction's check that the tenant is live (see [`LIVE_TENANT`]).
pub(crate) fn live_tenant_check(table: &str, tenant_id: &str) -> Result<TransactWriteItem> {
    condition_check(table, tenant_key(tenant_id), LIVE_TENANT)
}

/// A transaction item that checks `condition` on the item at `key`.
pub(crate) fn condition_check(
    table: &str,
    key: Item,
    condition: &str,
) -> Result<TransactWriteItem> {
    let check = build(
        ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(condition)
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// A transaction item that writes `put` (its table and item set).
pub(crate) fn put_item(put: PutBuilder) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .put(build(put.build())?)
        .build())
}

/// A transaction item that applies `update` (its table and key set).
pub(crate) fn update_item(update: UpdateBuilder) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .update(build(update.build())?)
        .build())
}

/// A transaction item that deletes by `delete` (its table and key set).
pub(crate) fn delete_item(delete: DeleteBuilder) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .delete(build(delete.build())?)
        .build())
}

/// How many items one prefix read returned, and whether more were left.
pub(crate) struct Bounded {
    pub(crate) items: Vec<Item>,
    pub(crate) count: usize,
    pub(crate) more: bool,
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    /// Sees every write acknowledged before it. What an answer to the
    /// caller, and any read before a write, uses.
    Strong,
    /// May miss the writes of about the last second, at half the read
    /// units: for the bulk fan-out, where the read could equally have been
    /// made a moment earlier (docs/limits.md).
    Eventual,
}

impl Store {
    /// A put of `item` into the table.
    pub(crate) fn put(&self, item: Item) -> PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
    }

    /// An update of the item at `key`.
    pub(crate) fn update(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
    }

    /// A deletion of the item at `key`.
    pub(crate) fn delete(&self, key: Item) -> DeleteItemFluentBuilder {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
    }

    /// A transaction item's put builder for this table.
    pub(crate) fn tx_put(&self, item: Item) -> PutBuilder {
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
    }

    /// A transaction item that creates `item`, on condition that it is new.
    pub(crate) fn tx_put_new(&self, item: Item) -> Result<TransactWriteItem> {
        put_item(self.tx_put(item).condition_expression(ABSENT))
    }

    /// A transaction item's update builder for this table.
    pub(crate) fn tx_update(&self, key: Item) -> UpdateBuilder {
        aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
    }

    /// A transaction item's delete builder for this table.
    pub(crate) fn tx_delete(&self, key: Item) -> DeleteBuilder {
        aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
    }

    /// Runs a transaction. `Ok(Err(cancelled))` when DynamoDB cancelled it
    /// (conditions, conflicts: the caller reads the reasons); any other
    /// failure becomes an [`Error`] with `context`. A cancellation caused
    /// only by other transactions holding its items is tried again a few
    /// times, after short jittered pauses, before it is returned. A
    /// `request_token` makes the SDK's retry of a transaction whose answer
    /// was lost (a 500, a timeout) apply it once and answer with success.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        request_token: Option<&str>,
        context: &'static str,
    ) -> Result<std::result::Result<(), Cancelled>> {
        let mut tries = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_client_request_token(request_token.map(str::to_owned))
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(err) = result else {
                return Ok(Ok(()));
            };
            let cancelled = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => Cancelled {
                    reasons: cancel.cancellation_reasons().to_vec(),
                    error: err,
                },
                _ => return Err(Error::from_sdk(context, err)),
            };
            if !cancelled.only_conflicts() || tries >= CONFLICT_ATTEMPTS {
                return Ok(Err(cancelled));
            }
            tracing::info!(
                attempt = tries,
                context,
                "transaction conflict; trying again"
            );
            conflict_pause(tries - 1).await;
            tries += 1;
        }
    }

    /// Runs a transaction whose first item checks the tenant (see
    /// [`live_tenant_check`]): a failed check is the tenant gone, 404
    /// `tenant not found`; other cancellations are the caller's to read.
    pub(crate) async fn transact_for_tenant(
        &self,
        items: Vec<TransactWriteItem>,
        request_token: Option<&str>,
        context: &'static str,
    ) -> Result<std::result::Result<(), Cancelled>> {
        match self.transact(items, request_token, context).await? {
            Err(cancelled) if cancelled.condition_failed(0) => {
                Err(Error::NotFound("tenant not found".to_owned()))
            }
            outcome => Ok(outcome),
        }
    }

    /// The item at `key`, strongly consistent.
    pub(crate) async fn get_consistent(
        &self,
        key: Item,
        context: &'static str,
    ) -> Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| Error::from_sdk(context, err))?;
        Ok(output.item)
    }

    /// The items at `keys`, strongly consistent, in one round trip when
    /// DynamoDB processes them all (it may leave some unprocessed under
    /// load: those few are asked for again). Absent items are left out.
    pub(crate) async fn batch_get_consistent(
        &self,
        keys: Vec<Item>,
        context: &'static str,
    ) -> Result<Vec<Item>> {
        let mut pending = build(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build(),
        )?;
        let mut found = Vec::new();
        for attempt in 0..5_u32 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|err| Error::from_sdk(context, err))?;
            found.extend(
                output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default(),
            );
            match output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .filter(|left| !left.keys().is_empty())
            {
                Some(left) => {
                    pending = left;
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                None => return Ok(found),
            }
        }
        Err(Error::Unavailable {
            context,
            source: "DynamoDB left keys unprocessed".into(),
        })
    }

    /// Every item a query finds, all pages of it.
    pub(crate) async fn query_all(
        &self,
        query: QueryFluentBuilder,
        context: &'static str,
    ) -> Result<Vec<Item>> {
        let pages: Vec<_> = query
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        pages
            .into_iter()
            .map(|item| item.map_err(|err| Error::from_sdk(context, err)))
            .collect()
    }

    /// A strongly consistent query of partition `pk`'s items whose sort key
    /// starts with `prefix`.
    pub(crate) fn query_prefix(&self, pk: String, prefix: impl Into<String>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// One page of a query from `start` (`None`: the first).
    pub(crate) async fn query_page(
        &self,
        query: QueryFluentBuilder,
        start: Option<Item>,
        context: &'static str,
    ) -> Result<QueryOutput> {
        query
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|err| Error::from_sdk(context, err))
    }

    /// At most about `max` items `query` finds (after its filter), page by
    /// page; only their number when `count_only`. `more` when the read
    /// stopped at `max` with a page left.
    pub(crate) async fn items_upto(
        &self,
        query: QueryFluentBuilder,
        max: usize,
        count_only: bool,
        context: &'static str,
    ) -> Result<Bounded> {
        let mut found = Bounded {
            items: Vec::new(),
            count: 0,
            more: false,
        };
        let query = if count_only {
            query.select(Select::Count)
        } else {
            query
        };
        let mut start: Option<Item> = None;
        loop {
            let remaining = max.saturating_sub(found.count);
            let page = query
                .clone()
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX));
            let output = self.query_page(page, start.take(), context).await?;
            let items = output.items.unwrap_or_default();
            let counted = if count_only {
                usize::try_from(output.count.max(0)).unwrap_or(0)
            } else {
                items.len()
            };
            found.count = found.count.saturating_add(counted);
            found.items.extend(items);
            match output.last_evaluated_key.filter(|last| !last.is_empty()) {
                None => return Ok(found),
                Some(last) if found.count < max => start = Some(last),
                Some(_) => {
                    found.more = true;
                    return Ok(found);
                }
            }
        }
    }

    pub(crate) async fn batch_delete(&self, keys: Vec<Item>) -> Result<()> {
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|item_key| {
                    build(
                        DeleteRequest::builder()
                            .set_key(Some(item_key.clone()))
                            .build(),
                    )
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|err| Error::from_sdk("deleting items", err))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(Error::Unavailable {
                            context: "deleting items",
                            source: "DynamoDB left writes unprocessed".into(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
            }
        }
        Ok(())
    }
}
