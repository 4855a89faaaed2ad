//! Audience batches, the request's side: a topic, all users, or any send
//! with a `send_at`. The request records the batch (and a list's pages)
//! and arms its first page: on the queue now; at `send_at` as a delayed
//! message when that is at most `NOTIFY_SCHEDULE_AFTER_SECS` ahead (SQS
//! delays a message by up to 15 minutes, to the second); further ahead as
//! an EventBridge Scheduler one-time schedule that puts it there then. The delivery worker's audience reader
//! (`service::worker::audience`) reads the audience page by page and
//! enqueues its chunks.
//!
//! What a failure leaves behind is as for a list sent now (see the parent
//! module): the batch stays `pending` until armed, turns `aborted` with a
//! 503 when arming fails, and the reader postpones a pending batch's page
//! and drops an aborted one's.

use crate::app::App;
use crate::auth::Caller;
use crate::clock::{now_epoch_seconds, now_rfc3339};
use crate::config::MAX_QUEUE_DELAY_SECS;
use crate::error::{Error, Result};
use crate::model::audience::rfc3339;
use crate::model::{
    Audience, AudienceSource, Batch, BatchState, BatchStatus, BulkNotificationResponse,
    Notification, QueueMessage, ReadAudience,
};
use crate::schedules::Schedules;
use crate::service::bulk::{
    plan_chunks, recipients, Recipients, BATCH_RETENTION_SECS, MAX_USER_IDS,
};
use crate::service::queue_schema::{schema_attribute, SCHEMA_ATTRIBUTE};
use crate::store::{AudiencePage, AUDIENCE_PAGE_USERS};

/// What [`start`] is asked to do.
pub(super) struct AudienceStart<'a> {
    pub audience: Audience,
    /// Epoch seconds; `None`: now.
    pub send_at: Option<i64>,
    pub notification: &'a Notification,
    pub queue_url: &'a str,
}

/// Records an audience batch and arms its first page.
pub(super) async fn start(
    app: &App,
    tenant_id: &str,
    caller: &Caller,
    start: AudienceStart<'_>,
) -> Result<BulkNotificationResponse> {
    let now = now_epoch_seconds();
    let (source, list) = match &start.audience {
        Audience::Users(user_ids) => (AudienceSource::List, Some(recipients(user_ids.clone())?)),
        Audience::Topic(topic) => (
            AudienceSource::Topic {
                topic: topic.clone(),
            },
            None,
        ),
        Audience::AllUsers => (AudienceSource::AllUsers, None),
    };
    let batch = audience_batch(tenant_id, caller, source, list.as_ref(), &start, now)?;
    let batch_id = batch.batch_id.clone();
    if let Some(list) = &list {
        let pages = list_pages(list.accepted.clone());
        app.store
            .put_list_pages(tenant_id, &batch_id, pages, batch.expires_at)
            .await?;
    }
    app.store.insert_batch(&batch).await?;
    let first = ReadAudience {
        tenant_id: tenant_id.to_owned(),
        batch_id: batch_id.clone(),
        page: 0,
        after: None,
        first_chunk: 0,
    };
    if let Err(err) = arm_first_page(app, &start, &first, now).await {
        let scheduled = start.send_at.is_some();
        return Err(super::abort_batch(app, tenant_id, &batch_id, scheduled, err).await);
    }
    let (to, status) = match start.send_at {
        None => (BatchState::Open, BatchStatus::Queued),
        Some(_) => (BatchState::Scheduled, BatchStatus::Scheduled),
    };
    super::open_batch(app, tenant_id, &batch_id, to).await?;
    tracing::info!(
        tenant_id,
        batch_id,
        scheduled = start.send_at.is_some(),
        "audience batch armed"
    );
    Ok(BulkNotificationResponse {
        batch_id,
        total: list.as_ref().map(|list| list.total()),
        success: list
            .as_ref()
            .map(|list| u32::try_from(list.accepted.len()).unwrap_or(u32::MAX))
            .unwrap_or_default(),
        failed: batch.rejected,
        status,
        send_at: start.send_at.map(rfc3339),
    })
}

/// The batch record of an audience batch, still `pending`: kept 7 days
/// after its `send_at`.
fn audience_batch(
    tenant_id: &str,
    caller: &Caller,
    source: AudienceSource,
    list: Option<&Recipients>,
    start: &AudienceStart<'_>,
    now: i64,
) -> Result<Batch> {
    let notification = serde_json::to_string(start.notification)
        .map_err(|err| Error::internal("encoding notification", err))?;
    Ok(Batch {
        batch_id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant_id.to_owned(),
        state: BatchState::Pending,
        total: list.map(Recipients::total).unwrap_or_default(),
        accepted: 0,
        rejected: list.map(|list| list.rejected).unwrap_or_default(),
        chunks: 0,
        delivered: 0,
        failed: 0,
        no_devices: 0,
        created_at: now_rfc3339(),
        created_by: caller.actor().to_owned(),
        started_at: None,
        expires_at: start.send_at.unwrap_or(now).max(now) + BATCH_RETENTION_SECS,
        audience: Some(source),
        audience_pending: true,
        send_at: start.send_at,
        notification: Some(notification),
        metered_key: crate::limits::metered_key_id(),
    })
}

/// The first page on the queue: now; delayed until `send_at` when that is
/// at most `NOTIFY_SCHEDULE_AFTER_SECS` ahead; else through a schedule.
async fn arm_first_page(
    app: &App,
    start: &AudienceStart<'_>,
    first: &ReadAudience,
    now: i64,
) -> Result<()> {
    match start.send_at {
        None => send_page(&app.sqs, start.queue_url, first, 0).await,
        Some(at) if at - now <= i64::from(app.config.schedule_after_secs) => {
            let delay = u32::try_from((at - now).max(0)).unwrap_or_default();
            send_page(&app.sqs, start.queue_url, first, delay).await
        }
        Some(at) => schedule_first_page(app, first, at).await,
    }
}

/// The schedule that puts the first page on the queue at `at`. Its body
/// carries its version inside: a schedule cannot set message attributes.
async fn schedule_first_page(app: &App, first: &ReadAudience, at: i64) -> Result<()> {
    let body = QueueMessage::ReadAudience(first.clone())
        .to_versioned_body()
        .map_err(|err| Error::internal("encoding queue message", err))?;
    app.schedules
        .create_once(&Schedules::schedule_name(&first.batch_id), at, &body)
        .await
}

/// A list's users as stored pages, in request order.
pub fn list_pages(user_ids: Vec<String>) -> Vec<AudiencePage> {
    debug_assert!(user_ids.len() <= MAX_USER_IDS);
    let count = user_ids.len().div_ceil(AUDIENCE_PAGE_USERS).max(1);
    let mut pages: Vec<AudiencePage> = user_ids
        .chunks(AUDIENCE_PAGE_USERS)
        .map(|users| AudiencePage {
            user_ids: users.to_vec(),
            ..AudiencePage::default()
        })
        .collect();
    pages.resize_with(count, AudiencePage::default);
    if let Some(last) = pages.last_mut() {
        last.last = true;
    }
    pages
}

/// The chunk bodies of an audience page: its users from `first_chunk` on,
/// with the batch's notification.
pub fn page_chunks(batch: &Batch, page: &AudiencePage, first_chunk: u32) -> Result<Vec<String>> {
    let Some(json) = batch.notification.as_deref() else {
        return Err(Error::internal(
            "planning an audience page",
            "the batch keeps no notification",
        ));
    };
    let notification: Notification = serde_json::from_str(json)
        .map_err(|err| Error::internal("decoding the batch's notification", err))?;
    plan_chunks(
        &batch.tenant_id,
        &batch.batch_id,
        page.user_ids.clone(),
        &notification,
        first_chunk,
    )
}

/// Puts one audience page's message on the delivery queue, with the
/// tenant as `MessageGroupId` (fair queues) like every chunk, visible after
/// `delay_secs` (at most SQS's 900).
pub async fn send_page(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    page: &ReadAudience,
    delay_secs: u32,
) -> Result<()> {
    let body = QueueMessage::ReadAudience(page.clone())
        .to_body()
        .map_err(|err| Error::internal("encoding queue message", err))?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_attributes(SCHEMA_ATTRIBUTE, schema_attribute()?)
        .message_group_id(&page.tenant_id)
        .delay_seconds(i32::try_from(delay_secs.min(MAX_QUEUE_DELAY_SECS)).unwrap_or_default())
        .send()
        .await
        .map_err(|err| Error::from_sdk("enqueueing an audience page", err))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_becomes_pages_of_a_thousand_the_last_marked() {
        let ids: Vec<String> = (0..2500).map(|i| format!("u{i}")).collect();
        let pages = list_pages(ids);
        let sizes: Vec<usize> = pages.iter().map(|p| p.user_ids.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let lasts: Vec<bool> = pages.iter().map(|p| p.last).collect();
        assert_eq!(lasts, vec![false, false, true]);
        assert_eq!(pages[1].user_ids[0], "u1000");
    }

    #[test]
    fn chunks_of_a_page_are_numbered_after_the_previous_pages() {
        let mut batch = super::super::plan_batch(
            "tnt_4fG7hK2mN9pQ3rS5tV8w",
            "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            "key_x",
            recipients(vec!["u".to_owned()]).unwrap_or_else(|err| panic!("{err}")),
            &Notification::default(),
            String::new(),
            0,
        )
        .unwrap_or_else(|err| panic!("{err}"))
        .batch;
        batch.notification = Some(r#"{"alert":{"title":"hi"}}"#.to_owned());
        let page = AudiencePage {
            user_ids: (0..1000).map(|i| format!("u{i}")).collect(),
            ..AudiencePage::default()
        };
        let bodies = page_chunks(&batch, &page, 7).unwrap_or_default();
        let chunks: Vec<u32> = bodies
            .iter()
            .filter_map(|body| match QueueMessage::from_body(body) {
                Ok(QueueMessage::Deliver(chunk)) => Some(chunk.chunk),
                _ => None,
            })
            .collect();
        assert_eq!(chunks, vec![7, 8]);
    }
}
