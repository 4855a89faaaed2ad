//! Interceptors that change what the app hears back from AWS, for the
//! failures the emulator never produces:
//!
//! - [`LostAnswer`]: a call reaches the emulator and is applied, and its
//!   answer is lost (a 500 in its place, as after a timeout or a DynamoDB
//!   500), so the SDK sends the very same request again;
//! - [`Conflicts`]: a DynamoDB write is refused because another transaction
//!   holds one of its items (`TransactionCanceledException` with a
//!   `TransactionConflict` reason, or `TransactionConflictException` for a
//!   single write), and is not applied.
//!
//! Both pick their calls with a predicate on the operation's typed input.

use crate::hooks::{Hooked, Hooks};
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use std::fmt;
use std::sync::Arc;

use super::Budget;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Which calls an interceptor acts on.
pub type Matcher = Arc<dyn Fn(&Input) -> bool + Send + Sync>;

/// A JSON answer as the AWS JSON protocol gives it.
fn json_answer(status: u16, body: String) -> Result<Response, BoxError> {
    let mut response = Response::new(StatusCode::try_from(status)?, SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    Ok(response)
}

/// The calls an interceptor acts on: those `matches` picks, as long as its
/// budget lasts.
#[derive(Clone)]
struct Picked {
    matches: Matcher,
    budget: Budget,
}

impl Picked {
    fn new(times: usize, matches: impl Fn(&Input) -> bool + Send + Sync + 'static) -> Self {
        Self {
            matches: Arc::new(matches),
            budget: Budget::new(times),
        }
    }
}

impl fmt::Debug for Picked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Picked")
            .field("acted_on", &self.budget.used())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Lost answers
// ---------------------------------------------------------------------------

/// The first attempt of each matching call is applied by the emulator, and
/// its answer replaced by a 500, which the SDK retries (the same request,
/// a moment later), up to `times` calls.
#[derive(Debug, Clone)]
pub struct LostAnswer(Picked);

/// This call's first answer is to be lost (`true`), or was (`false`).
#[derive(Debug, Clone, Copy)]
struct LoseAnswer(bool);

impl Storable for LoseAnswer {
    type Storer = StoreReplace<Self>;
}

impl LostAnswer {
    pub fn new(times: usize, matches: impl Fn(&Input) -> bool + Send + Sync + 'static) -> Self {
        Self(Picked::new(times, matches))
    }

    /// How many answers were lost so far.
    pub fn lost(&self) -> usize {
        self.0.budget.used()
    }
}

impl Hooks for LostAnswer {
    // Once per call (not per attempt): only the first attempt loses its answer.
    fn before_serialization(&self, input: &Input, bag: &mut ConfigBag) -> Hooked {
        if (self.0.matches)(input) && self.0.budget.take() {
            bag.interceptor_state().store_put(LoseAnswer(true));
        }
        Ok(())
    }

    fn modify_response(&self, response: &mut HttpResponse, bag: &mut ConfigBag) -> Hooked {
        if !matches!(bag.load::<LoseAnswer>(), Some(LoseAnswer(true))) {
            return Ok(());
        }
        bag.interceptor_state().store_put(LoseAnswer(false));
        self.0.budget.count();
        *response = json_answer(
            500,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected: the answer was lost"}"#
                .to_owned(),
        )?;
        Ok(())
    }
}

crate::intercept_with_hooks!(LostAnswer);

// ---------------------------------------------------------------------------
// Transaction conflicts
// ---------------------------------------------------------------------------

/// Matching DynamoDB writes are refused as DynamoDB refuses a write that
/// meets an ongoing transaction on one of its items, up to `times`
/// attempts: the request never reaches a table (it is turned into a
/// `ListTables` on the way), and the answer is the conflict.
#[derive(Debug, Clone)]
pub struct Conflicts(Picked);

/// How the conflict of a call is answered.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// A transaction of this many items.
    Transaction(usize),
    /// A single write.
    Single,
}

/// The refusal of this call, and whether the current attempt gets it.
#[derive(Debug, Clone, Copy)]
struct Conflicting {
    refusal: Refusal,
    this_attempt: bool,
}

impl Storable for Conflicting {
    type Storer = StoreReplace<Self>;
}

impl Conflicts {
    pub fn new(times: usize, matches: impl Fn(&Input) -> bool + Send + Sync + 'static) -> Self {
        Self(Picked::new(times, matches))
    }

    /// How many attempts were refused so far.
    pub fn injected(&self) -> usize {
        self.0.budget.used()
    }

    /// Lets every later call through.
    pub fn heal(&self) {
        self.0.budget.heal();
    }
}

/// The refusal a write gets, `None` for a call that is no write.
fn refusal(input: &Input) -> Option<Refusal> {
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        return Some(Refusal::Transaction(transaction.transact_items().len()));
    }
    let single = input.downcast_ref::<PutItemInput>().is_some()
        || input.downcast_ref::<UpdateItemInput>().is_some()
        || input.downcast_ref::<DeleteItemInput>().is_some();
    single.then_some(Refusal::Single)
}

/// DynamoDB's answer to a refused write: the first item of a transaction
/// (the tenant check, in this service) met another transaction.
fn conflict_answer(refusal: Refusal) -> Result<Response, BoxError> {
    let body = match refusal {
        Refusal::Transaction(items) => {
            let reasons: Vec<serde_json::Value> = (0..items.max(1))
                .map(|index| match index {
                    0 => serde_json::json!({
                        "Code": "TransactionConflict",
                        "Message": "Transaction is ongoing for the item"
                    }),
                    _ => serde_json::json!({"Code": "None"}),
                })
                .collect();
            let codes: Vec<&str> = (0..items.max(1))
                .map(|index| match index {
                    0 => "TransactionConflict",
                    _ => "None",
                })
                .collect();
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                ),
                "CancellationReasons": reasons,
            })
        }
        Refusal::Single => serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
            "message": "Transaction is ongoing for the item"
        }),
    };
    json_answer(400, body.to_string())
}

impl Hooks for Conflicts {
    fn before_serialization(&self, input: &Input, bag: &mut ConfigBag) -> Hooked {
        if let Some(refusal) = refusal(input).filter(|_| (self.0.matches)(input)) {
            bag.interceptor_state().store_put(Conflicting {
                refusal,
                this_attempt: false,
            });
        }
        Ok(())
    }

    // Per attempt: the refused attempt never reaches a table.
    fn modify_request(&self, request: &mut HttpRequest, bag: &mut ConfigBag) -> Hooked {
        let Some(conflicting) = bag.load::<Conflicting>().copied() else {
            return Ok(());
        };
        if !self.0.budget.take() {
            return Ok(());
        }
        self.0.budget.count();
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.ListTables");
        request.headers_mut().insert("content-length", "2");
        *request.body_mut() = SdkBody::from("{}");
        bag.interceptor_state().store_put(Conflicting {
            this_attempt: true,
            ..conflicting
        });
        Ok(())
    }

    fn modify_response(&self, response: &mut HttpResponse, bag: &mut ConfigBag) -> Hooked {
        let Some(conflicting) = bag.load::<Conflicting>().copied() else {
            return Ok(());
        };
        if !conflicting.this_attempt {
            return Ok(());
        }
        bag.interceptor_state().store_put(Conflicting {
            this_attempt: false,
            ..conflicting
        });
        *response = conflict_answer(conflicting.refusal)?;
        Ok(())
    }
}

crate::intercept_with_hooks!(Conflicts);

/// Whether a DynamoDB call writes the item with this sort key (a put, an
/// update, a delete, or one item of a transaction, condition checks
/// included).
pub fn writes_sort_key(input: &Input, sort_key: &str) -> bool {
    use aws_sdk_dynamodb::types::AttributeValue;
    let is = |value: Option<&AttributeValue>| matches!(value, Some(AttributeValue::S(sk)) if sk == sort_key);
    if let Some(put) = input.downcast_ref::<PutItemInput>() {
        return is(put.item().and_then(|item| item.get("SK")));
    }
    if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
        return is(update.key().and_then(|key| key.get("SK")));
    }
    if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
        return is(delete.key().and_then(|key| key.get("SK")));
    }
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        return transaction.transact_items().iter().any(|item| {
            is(item
                .condition_check()
                .and_then(|check| check.key().get("SK")))
                || is(item.put().and_then(|put| put.item().get("SK")))
                || is(item.update().and_then(|update| update.key().get("SK")))
                || is(item.delete().and_then(|delete| delete.key().get("SK")))
        });
    }
    false
}
