//! `read_audience`: one page of an audience batch (a topic, all users, a
//! scheduled list). Every step is safe to run again, so a redelivered or
//! duplicated page (EventBridge Scheduler and SQS both deliver at least
//! once) enqueues the same chunks and counts its users once:
//!
//! 1. The batch decides: aborted, cancelled or gone drops the message, a
//!    pending one comes back later. A scheduled one is opened by its first
//!    page, conditionally (a concurrent cancel wins or loses as a whole),
//!    and not before `send_at`: the schedule may fire up to a minute early
//!    (it fires within the minute it names), and the page then comes back
//!    at `send_at`.
//! 2. The page record: a list's was written by the request; a topic's or
//!    all users' page is read (one query of the tenant's partition) and
//!    written unless an earlier attempt wrote it, whose users then win.
//! 3. Counted once: the page's users and chunks go into the batch in one
//!    transaction with the page's `counted` mark; the last page ends the
//!    audience (`total` known, the batch can be done).
//! 4. Its chunks go on the queue, by the one delivery that claims the
//!    page (a duplicate comes back later; a claim lapses after two minutes,
//!    so an attempt that died before marking the page enqueued is taken
//!    over, its chunks then possibly queued twice: the worker acknowledges
//!    a counted chunk's duplicate), then the next page's message.

use std::time::Duration;

use super::{MessageMeta, Verdict, Worker};
use crate::clock::now_epoch_seconds;
use crate::error::{Error, Result};
use crate::model::{AudienceSource, Batch, BatchState, ReadAudience};
use crate::service::bulk::{enqueue, page_chunks, send_page};
use crate::store::{AudiencePage, CountResult, PageCount};

/// How long one delivery of a page holds its enqueueing: well over the
/// worker's 30-second invocation.
const ENQUEUE_CLAIM_SECS: i64 = 120;
/// When a page whose enqueueing another delivery holds comes back.
const CLAIMED_RETRY: Duration = Duration::from_secs(10);

impl Worker {
    /// One page of an audience batch: the module docs' steps.
    pub(super) async fn read_audience(
        &self,
        message: ReadAudience,
        meta: &MessageMeta,
    ) -> Result<Verdict> {
        let Ok(batch_uuid) = uuid::Uuid::parse_str(&message.batch_id) else {
            tracing::error!("poison message: malformed batch id");
            return Ok(Verdict::Poison("malformed batch id"));
        };
        let message = ReadAudience {
            batch_id: batch_uuid.hyphenated().to_string(),
            ..message
        };
        let Some(batch) = self.admit_page(&message, meta).await? else {
            return Ok(Verdict::Done);
        };
        let Some(source) = batch.audience.clone() else {
            tracing::error!("poison message: the batch has no audience to read");
            return Ok(Verdict::Poison("the batch has no audience to read"));
        };
        let Some(page) = self.page_of(&batch, &source, &message).await? else {
            tracing::error!(page = message.page, "a list batch lacks its page; dropped");
            return Ok(Verdict::Done);
        };
        let bodies = page_chunks(&batch, &page, message.first_chunk)?;
        let count = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        if !page.counted {
            let counted = PageCount {
                users: count(page.user_ids.len()),
                chunks: count(bodies.len()),
                adds_total: !source.total_known_upfront(),
                last: page.last,
                expires_at: batch.expires_at,
            };
            let store = &self.app.store;
            if store
                .count_audience_page(&batch.tenant_id, &batch.batch_id, message.page, counted)
                .await?
                == CountResult::BatchGone
            {
                tracing::info!("batch no longer open; page dropped");
                return Ok(Verdict::Done);
            }
        }
        self.enqueue_page(&batch, &message, meta, &page, &bodies)
            .await?;
        if page.last {
            tracing::info!(pages = message.page + 1, "audience read");
            self.delivery
                .events()
                .batch_completed_if_done(&batch.tenant_id, &batch.batch_id)
                .await;
        }
        Ok(Verdict::Done)
    }

    /// Step 1: the batch to read a page of, open; `None` when the message is
    /// to be dropped (or, postponed, to come back: reported done here would
    /// delete it, so a postponed page is an error the caller retries).
    async fn admit_page(
        &self,
        message: &ReadAudience,
        meta: &MessageMeta,
    ) -> Result<Option<Batch>> {
        let tenant_id = message.tenant_id.as_str();
        let Some(batch) = self
            .app
            .store
            .get_batch(tenant_id, &message.batch_id)
            .await?
        else {
            tracing::info!("batch gone; page dropped");
            return Ok(None);
        };
        match batch.state {
            BatchState::Open => Ok(Some(batch)),
            BatchState::Aborted | BatchState::Cancelled => {
                tracing::info!(state = ?batch.state, "batch not to be delivered; page dropped");
                Ok(None)
            }
            BatchState::Pending => {
                self.postpone(meta, self.settings.pending_retry).await;
                Err(Error::Unavailable {
                    context: "reading an audience page",
                    source: "the batch is still being made".into(),
                })
            }
            BatchState::Scheduled => self.open_at_its_time(batch, meta).await,
        }
    }

    /// A scheduled batch's first page: held back until `send_at`, then the
    /// batch opened, unless a cancel got there first.
    async fn open_at_its_time(&self, batch: Batch, meta: &MessageMeta) -> Result<Option<Batch>> {
        let early = batch.send_at.unwrap_or_default() - now_epoch_seconds();
        if early > 0 {
            tracing::info!(
                seconds = early,
                "the schedule fired before send_at; the page comes back then"
            );
            let wait = Duration::from_secs(u64::try_from(early).unwrap_or_default());
            self.postpone(meta, wait).await;
            return Err(Error::Unavailable {
                context: "reading an audience page",
                source: "the batch's send_at is still ahead".into(),
            });
        }
        let (tenant_id, batch_id) = (batch.tenant_id.as_str(), batch.batch_id.as_str());
        self.app
            .store
            .open_scheduled_batch(tenant_id, batch_id)
            .await?;
        // Opened now or by an earlier delivery, or cancelled: the record says.
        let batch = self.app.store.get_batch(tenant_id, batch_id).await?;
        Ok(batch.filter(|batch| batch.state == BatchState::Open))
    }

    /// Step 2: the page as first recorded; `None` for a list page that is
    /// not there (never written: nothing to deliver).
    async fn page_of(
        &self,
        batch: &Batch,
        source: &AudienceSource,
        message: &ReadAudience,
    ) -> Result<Option<AudiencePage>> {
        let store = &self.app.store;
        let (tenant_id, batch_id) = (batch.tenant_id.as_str(), batch.batch_id.as_str());
        if let Some(page) = store
            .audience_page(tenant_id, batch_id, message.page)
            .await?
        {
            return Ok(Some(page));
        }
        let after = message.after.as_deref();
        let read = match source {
            AudienceSource::List => return Ok(None),
            AudienceSource::Topic { topic } => store.topic_page(tenant_id, topic, after).await?,
            AudienceSource::AllUsers => store.all_users_page(tenant_id, after).await?,
        };
        if store
            .put_page_new(
                tenant_id,
                batch_id,
                message.page,
                read.clone(),
                batch.expires_at,
            )
            .await?
        {
            return Ok(Some(read));
        }
        // An earlier attempt recorded the page first: its users win.
        store.audience_page(tenant_id, batch_id, message.page).await
    }

    /// Step 4: the page's chunks (by the delivery holding the page's claim),
    /// then the next page's message.
    async fn enqueue_page(
        &self,
        batch: &Batch,
        message: &ReadAudience,
        meta: &MessageMeta,
        page: &AudiencePage,
        bodies: &[String],
    ) -> Result<()> {
        let queue_url = self
            .app
            .config
            .delivery_queue()
            .map_err(|err| Error::internal("enqueueing an audience page", err))?;
        let (tenant_id, batch_id) = (batch.tenant_id.as_str(), batch.batch_id.as_str());
        if !page.enqueued {
            let now = now_epoch_seconds();
            let claimed = self
                .app
                .store
                .claim_page_enqueue(
                    tenant_id,
                    batch_id,
                    message.page,
                    now,
                    now + ENQUEUE_CLAIM_SECS,
                )
                .await?;
            if !claimed {
                // Another copy of this page is enqueueing it: this one comes
                // back, to find it enqueued and send the next page on.
                self.postpone(meta, CLAIMED_RETRY).await;
                return Err(Error::Unavailable {
                    context: "enqueueing an audience page",
                    source: "another delivery of the page is enqueueing it".into(),
                });
            }
            let key = batch.metered_key.as_deref();
            enqueue(&self.app.sqs, queue_url, tenant_id, bodies, key).await?;
            self.app
                .store
                .mark_page_enqueued(tenant_id, batch_id, message.page)
                .await?;
        }
        if page.last {
            return Ok(());
        }
        let chunks = u32::try_from(bodies.len()).unwrap_or(u32::MAX);
        let next = ReadAudience {
            tenant_id: tenant_id.to_owned(),
            batch_id: batch_id.to_owned(),
            page: message.page.saturating_add(1),
            after: page.next.clone(),
            first_chunk: message.first_chunk.saturating_add(chunks),
        };
        send_page(&self.app.sqs, queue_url, &next, 0).await
    }
}
