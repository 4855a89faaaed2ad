//! `DELETE /tenants/{tenant_id}/notify/bulk/{batch_id}`: cancels a batch
//! still `scheduled`. Cancelling and the reader opening the batch at its
//! time are both conditional on `scheduled`, so exactly one of them wins;
//! the schedule is then deleted, and should it fire anyway (deleting
//! failed, or it was already firing) the reader drops the cancelled batch.

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{BatchState, BulkStatus};
use crate::schedules::Schedules;

/// Cancels `batch_id`: its status, `cancelled`. Cancelling again answers
/// the same; a batch whose delivery has begun (or a batch never scheduled)
/// is 409 `not_cancellable`; unknown batches 404.
pub async fn cancel_bulk(app: &App, tenant_id: &str, batch_id: &str) -> Result<BulkStatus> {
    let batch = super::reported_batch(app, tenant_id, batch_id).await?;
    let batch_id = batch.batch_id.clone();
    if batch.state == BatchState::Scheduled
        && !app
            .store
            .cancel_scheduled_batch(tenant_id, &batch_id)
            .await?
    {
        // It moved meanwhile: opened by the reader (409 below) or cancelled
        // by a concurrent request.
        tracing::info!(
            tenant_id,
            batch_id,
            "the batch left `scheduled` before the cancel"
        );
    }
    let batch = super::reported_batch(app, tenant_id, &batch_id).await?;
    if batch.state != BatchState::Cancelled {
        return Err(Error::Conflict {
            code: "not_cancellable",
            detail: format!(
                "batch `{batch_id}` is {}: only a scheduled batch can be cancelled",
                serde_json::to_value(batch.status())
                    .ok()
                    .and_then(|status| status.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        });
    }
    // Best effort: a schedule left behind fires into a cancelled batch.
    if let Err(err) = app
        .schedules
        .delete(&Schedules::schedule_name(&batch_id))
        .await
    {
        tracing::warn!(tenant_id, batch_id, error = %err, "the cancelled batch's schedule could not be deleted; it will fire into nothing");
    }
    tracing::info!(tenant_id, batch_id, "scheduled batch cancelled");
    Ok(batch.report())
}
