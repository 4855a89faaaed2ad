//! Audience batches (a topic, all users, a scheduled list): reading the
//! audience a page at a time, the page records that make the reader's
//! redeliveries harmless, and the scheduled batch's transitions.
//!
//! | item          | SK                                 | written by |
//! |---------------|------------------------------------|------------|
//! | audience page | `BATCH#{batch}#PAGE#{n:06}`        | bulk endpoint (a list) or the reader (a topic, all users), once |
//! | page state    | `BATCH#{batch}#PAGE#{n:06}#STATE`  | the reader: `counted`, `enqueue_claimed_until`, `enqueued` |
//!
//! A page record holds the page's user ids as read the first time: a
//! redelivered page enqueues the very same chunks (the worker records a
//! chunk's progress by position), however the topic changed meanwhile.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{
    audience_page_sk, audience_page_state_sk, batch_sk, topic_subscriptions_prefix, COUNTER_PREFIX,
};
use super::ops::{decode, encode, through_conflicts, update_item, ConditionalExt, ABSENT};
use super::{key, n, s, tenant_pk, text_attribute, Store, SK};
use crate::error::Result;
use crate::store::CountResult;

/// Users one page holds at most: with user ids of up to 256 bytes a page
/// record stays well under DynamoDB's 400 KB item.
pub const AUDIENCE_PAGE_USERS: usize = 1000;

/// One page of an audience, as read or stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudiencePage {
    pub user_ids: Vec<String>,
    /// The sort key the next page starts after; `None` on the last page of
    /// a read audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The audience's last page.
    pub last: bool,
    /// Its users are in the batch's counters (from the page's state item).
    #[serde(default, skip_serializing)]
    pub counted: bool,
    /// Its chunks are on the queue (from the page's state item).
    #[serde(default, skip_serializing)]
    pub enqueued: bool,
}

/// The page's state item, as read.
#[derive(Deserialize)]
struct PageState {
    #[serde(default)]
    counted: bool,
    #[serde(default)]
    enqueued: bool,
}

#[derive(Serialize, Deserialize)]
struct PageItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    #[serde(flatten)]
    page: AudiencePage,
    expires_at: i64,
}

/// What a page adds to its batch when counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCount {
    pub users: u32,
    pub chunks: u32,
    /// Add the users to `total` as well (a topic's or all users' audience,
    /// whose total is known only once read).
    pub adds_total: bool,
    /// The last page: the audience is read.
    pub last: bool,
    /// The batch's TTL, which the page's state item carries too.
    pub expires_at: i64,
}

fn state_key(tenant_id: &str, batch_id: &str, number: u32) -> super::ops::Item {
    key(
        tenant_pk(tenant_id),
        audience_page_state_sk(batch_id, number),
    )
}

impl Store {
    /// Stores a list's pages before its batch record, so that the reader
    /// always finds them. A page already there (a retried request) is kept.
    #[tracing::instrument(skip(self, pages))]
    pub async fn put_list_pages(
        &self,
        tenant_id: &str,
        batch_id: &str,
        pages: Vec<AudiencePage>,
        expires_at: i64,
    ) -> Result<()> {
        for (index, page) in pages.into_iter().enumerate() {
            let number = u32::try_from(index).unwrap_or(u32::MAX);
            self.put_page_new(tenant_id, batch_id, number, page, expires_at)
                .await?;
        }
        Ok(())
    }

    /// Writes page `number` unless it exists; `false` when it did (another
    /// attempt of the same page wrote it first: read that one).
    pub async fn put_page_new(
        &self,
        tenant_id: &str,
        batch_id: &str,
        number: u32,
        page: AudiencePage,
        expires_at: i64,
    ) -> Result<bool> {
        let item = encode(
            PageItem {
                pk: tenant_pk(tenant_id),
                sk: audience_page_sk(batch_id, number),
                entity: "audience_page".to_owned(),
                page,
                expires_at,
            },
            "encoding audience page",
        )?;
        let request = self.put(item).condition_expression(ABSENT);
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("writing audience page")
    }

    /// Page `number` of a batch, strongly consistent.
    pub async fn audience_page(
        &self,
        tenant_id: &str,
        batch_id: &str,
        number: u32,
    ) -> Result<Option<AudiencePage>> {
        // The users item and its state item, in one strongly consistent query.
        let sk = audience_page_sk(batch_id, number);
        let query = self.query_prefix(tenant_pk(tenant_id), sk.clone());
        let mut page: Option<AudiencePage> = None;
        let mut state: Option<PageState> = None;
        for item in self.query_all(query, "reading audience page").await? {
            if text_attribute(&item, SK) == Some(sk.as_str()) {
                page = Some(decode::<PageItem>(item, "decoding audience page")?.page);
            } else {
                state = Some(decode(item, "decoding audience page state")?);
            }
        }
        Ok(page.map(|page| AudiencePage {
            counted: state.as_ref().is_some_and(|state| state.counted),
            enqueued: state.as_ref().is_some_and(|state| state.enqueued),
            ..page
        }))
    }

    /// Adds a page's users and chunks to its open batch, once: the page
    /// turns `counted` in the same transaction, on condition it was not.
    #[tracing::instrument(skip(self))]
    pub async fn count_audience_page(
        &self,
        tenant_id: &str,
        batch_id: &str,
        number: u32,
        count: PageCount,
    ) -> Result<CountResult> {
        let mark = self
            .tx_update(state_key(tenant_id, batch_id, number))
            .update_expression("SET counted = :yes, expires_at = :expires")
            .condition_expression("attribute_not_exists(counted)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":expires", n(count.expires_at));
        let mut adds = "ADD accepted :users, chunks :chunks".to_owned();
        if count.adds_total {
            adds.push_str(", #total :users");
        }
        if count.last {
            adds.push_str(" REMOVE audience_pending");
        }
        let mut add = self
            .tx_update(key(tenant_pk(tenant_id), batch_sk(batch_id)))
            .update_expression(adds)
            .condition_expression("#state = :open")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":users", n(count.users))
            .expression_attribute_values(":chunks", n(count.chunks))
            .expression_attribute_values(":open", s("open"));
        if count.adds_total {
            add = add.expression_attribute_names("#total", "total");
        }
        let items = vec![update_item(mark)?, update_item(add)?];
        match self.transact(items, None, "counting audience page").await? {
            Ok(()) => Ok(CountResult::Counted),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(CountResult::AlreadyCounted),
            Err(cancelled) if cancelled.condition_failed(1) => Ok(CountResult::BatchGone),
            Err(cancelled) => Err(cancelled.into_error("counting audience page")),
        }
    }

    /// Claims the enqueueing of page `number`'s chunks until `until` (epoch
    /// seconds): `false` while another delivery of the page holds it. A
    /// duplicated page (two copies in one event, a schedule firing twice)
    /// thus puts its chunks on the queue once; should the claimer die, the
    /// claim lapses and a redelivery enqueues them.
    pub async fn claim_page_enqueue(
        &self,
        tenant_id: &str,
        batch_id: &str,
        number: u32,
        now: i64,
        until: i64,
    ) -> Result<bool> {
        // The state item exists: the page was counted first.
        let request = self
            .update(state_key(tenant_id, batch_id, number))
            .update_expression("SET enqueue_claimed_until = :until")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(enqueue_claimed_until) \
                 OR enqueue_claimed_until < :now)",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("claiming an audience page")
    }

    /// Notes that page `number`'s chunks are all on the queue.
    pub async fn mark_page_enqueued(
        &self,
        tenant_id: &str,
        batch_id: &str,
        number: u32,
    ) -> Result<()> {
        let request = self
            .update(state_key(tenant_id, batch_id, number))
            .update_expression("SET enqueued = :yes")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true));
        through_conflicts(|| request.clone().send())
            .await
            .condition_held("marking audience page enqueued")?;
        Ok(())
    }

    /// Up to [`AUDIENCE_PAGE_USERS`] subscribers of `topic` after sort key
    /// `after`, in user id order: one query of the tenant's partition.
    pub async fn topic_page(
        &self,
        tenant_id: &str,
        topic: &str,
        after: Option<&str>,
    ) -> Result<AudiencePage> {
        let query = self
            .query_prefix(tenant_pk(tenant_id), topic_subscriptions_prefix(topic))
            .projection_expression("#sk, user_id")
            .expression_attribute_names("#sk", SK);
        self.read_page(tenant_id, query, after, "reading topic subscribers")
            .await
    }

    /// Up to [`AUDIENCE_PAGE_USERS`] users with a device after sort key
    /// `after`: the tenant's per-user device counters (one item per user,
    /// holding the user id), those above zero.
    pub async fn all_users_page(
        &self,
        tenant_id: &str,
        after: Option<&str>,
    ) -> Result<AudiencePage> {
        let query = self
            .query_prefix(tenant_pk(tenant_id), COUNTER_PREFIX)
            .filter_expression("device_count > :zero")
            .projection_expression("#sk, user_id")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":zero", n(0_u32));
        self.read_page(tenant_id, query, after, "reading the tenant's users")
            .await
    }

    async fn read_page(
        &self,
        tenant_id: &str,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        after: Option<&str>,
        context: &'static str,
    ) -> Result<AudiencePage> {
        let start = after.map(|sk| key(tenant_pk(tenant_id), sk));
        // Eventually consistent, at half the cost: a subscription made
        // within the second before the read may be missed.
        let query = query.consistent_read(false);
        let limit = i32::try_from(AUDIENCE_PAGE_USERS).unwrap_or(i32::MAX);
        let output = self.query_page(query.limit(limit), start, context).await?;
        #[derive(Deserialize)]
        struct Row {
            user_id: String,
        }
        let mut user_ids = Vec::new();
        for item in output.items.unwrap_or_default() {
            let row: Row = decode(item, context)?;
            user_ids.push(row.user_id);
        }
        let next = output
            .last_evaluated_key
            .and_then(|last| last.get(SK).and_then(|sk| sk.as_s().ok()).cloned());
        Ok(AudiencePage {
            user_ids,
            last: next.is_none(),
            next,
            counted: false,
            enqueued: false,
        })
    }

    /// Opens a scheduled batch at its time; `false` when it was not
    /// scheduled any more (cancelled, or opened by an earlier delivery).
    #[tracing::instrument(skip(self))]
    pub async fn open_scheduled_batch(&self, tenant_id: &str, batch_id: &str) -> Result<bool> {
        self.leave_waiting(tenant_id, batch_id, "scheduled", "open")
            .await
    }

    /// Cancels a scheduled batch; `false` when it was not scheduled (see
    /// the batch's state for why).
    #[tracing::instrument(skip(self))]
    pub async fn cancel_scheduled_batch(&self, tenant_id: &str, batch_id: &str) -> Result<bool> {
        self.leave_waiting(tenant_id, batch_id, "scheduled", "cancelled")
            .await
    }

    /// Aborts a batch with a `send_at` still pending (its first page could
    /// not be armed); `false` when it was not pending any more.
    #[tracing::instrument(skip(self))]
    pub async fn abort_pending_scheduled_batch(
        &self,
        tenant_id: &str,
        batch_id: &str,
    ) -> Result<bool> {
        self.leave_waiting(tenant_id, batch_id, "pending", "aborted")
            .await
    }

    /// Moves a batch with a `send_at` from `from` to `to`, where it no longer
    /// waits: in one transaction with the tenant's count of waiting batches
    /// (see `insert_batch`), so the count leaves with the batch exactly once.
    async fn leave_waiting(
        &self,
        tenant_id: &str,
        batch_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let moved = self
            .tx_update(key(tenant_pk(tenant_id), batch_sk(batch_id)))
            .update_expression("SET #state = :to")
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":from", s(from));
        let items = vec![update_item(moved)?, self.count_scheduled(tenant_id, -1)?];
        match self.transact(items, None, "moving batch state").await? {
            Ok(()) => Ok(true),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(false),
            Err(cancelled) => Err(cancelled.into_error("moving batch state")),
        }
    }
}
