//! `purge_tenant`: a deleted tenant's partition in bounded steps.

use std::time::Instant;

use super::chain::{self, Continuation};
use super::{MessageMeta, Verdict, Worker};
use crate::error::{Error, Result};
use crate::service::tenants::{self, Finish};
use crate::service::webhooks;

impl Worker {
    /// Goes on with a deletion: the partition in steps, then (see
    /// [`tenants::finish_deletion`]) the secret and the tombstone. Only a
    /// tenant being deleted (or already gone) is purged; a live one never.
    pub(super) async fn purge(
        &self,
        tenant_id: &str,
        body: &str,
        meta: &MessageMeta,
    ) -> Result<Verdict> {
        let record = self.app.store.tenant_record(tenant_id).await?;
        if record.is_some_and(|record| record.is_live()) {
            tracing::error!("purge requested for a live tenant; refused and dropped");
            return Ok(Verdict::Done);
        }
        let started = Instant::now();
        let budget = match meta.time_left(self.settings.deadline_margin) {
            Some(left) => left.min(self.settings.purge_budget),
            None => self.settings.purge_budget,
        };
        // Webhook secrets first: the items naming them go with the partition.
        webhooks::forget_secrets(&self.app, tenant_id).await?;
        let mut deleted = 0;
        loop {
            let step = self
                .app
                .store
                .purge_tenant_partition(tenant_id, self.settings.purge_step)
                .await?;
            deleted += step.deleted;
            if step.complete {
                return Ok(
                    match tenants::finish_deletion(&self.app, tenant_id).await? {
                        Finish::Done => {
                            tracing::info!(deleted, "tenant purged");
                            Verdict::Done
                        }
                        // SQS delivers it again after the visibility timeout,
                        // longer than any claim.
                        Finish::Held { retry_after_secs } => {
                            tracing::info!(deleted, retry_after_secs, "tenant purged but for its secret, which a change still holds; retrying");
                            Verdict::Retry
                        }
                    },
                );
            }
            if started.elapsed() >= budget {
                break;
            }
        }
        // More is left: hand it to a fresh message so no single one runs long.
        let Ok(queue_url) = self.app.config.delivery_queue() else {
            tracing::warn!(
                deleted,
                "purge incomplete and no queue to continue on; retrying"
            );
            return Ok(Verdict::Retry);
        };
        // Lambda stops a chain after 16 invocations: see `chain`.
        let Some(next) = Continuation::after(meta.hop)? else {
            tracing::error!(deleted, hop = meta.hop, "purge exceeded its hop limit");
            return Ok(Verdict::Poison("purge exceeded its hop limit"));
        };
        let send = meta.copy_attributes(
            self.app
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                // Its tenant's group, as every delivery message (SQS fair queues).
                .message_group_id(tenant_id)
                .message_attributes(chain::HOP_ATTRIBUTE, next.attribute),
        );
        send.set_message_system_attributes(
            next.trace
                .map(|trace| [(Continuation::trace_attribute_name(), trace)].into()),
        )
        .send()
        .await
        .map_err(|err| Error::from_sdk("re-enqueueing purge", err))?;
        tracing::info!(deleted, hop = next.hop, "purge continues in a new message");
        Ok(Verdict::Done)
    }
}
