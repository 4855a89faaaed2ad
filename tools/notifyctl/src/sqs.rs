//! The delivery queue and its dead-letter queue, and moving messages back
//! from the latter.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_sqs::operation::create_queue::CreateQueueError;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;

use crate::template::QueueDefinition;

/// URLs and ARNs of the delivery queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queues {
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

/// The dead-letter queue of queue `name` is `name-dlq`.
pub fn dead_letter_queue_name(name: &str) -> String {
    format!("{name}-dlq")
}

/// Creates the dead-letter queue `{name}-dlq`, then `name` redriving into it
/// after `maxReceiveCount` receives. Existing queues get the template's
/// attributes set again, so a re-run converges instead of failing.
#[tracing::instrument(skip(client, def))]
pub async fn create_queues(client: &Client, def: &QueueDefinition, name: &str) -> Result<Queues> {
    let dlq_name = dead_letter_queue_name(name);
    let mut dlq_attributes = HashMap::new();
    if let Some(retention) = def.dead_letter.message_retention_seconds {
        dlq_attributes.insert(
            QueueAttributeName::MessageRetentionPeriod,
            retention.to_string(),
        );
    }
    if def.dead_letter.sqs_managed_sse {
        dlq_attributes.insert(QueueAttributeName::SqsManagedSseEnabled, "true".to_owned());
    }
    let dlq_url = ensure_queue(client, &dlq_name, dlq_attributes).await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;

    let redrive_policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": def.max_receive_count,
    });
    let mut attributes = HashMap::from([(
        QueueAttributeName::RedrivePolicy,
        redrive_policy.to_string(),
    )]);
    if let Some(timeout) = def.visibility_timeout_seconds {
        attributes.insert(QueueAttributeName::VisibilityTimeout, timeout.to_string());
    }
    if let Some(retention) = def.message_retention_seconds {
        attributes.insert(
            QueueAttributeName::MessageRetentionPeriod,
            retention.to_string(),
        );
    }
    if def.sqs_managed_sse {
        attributes.insert(QueueAttributeName::SqsManagedSseEnabled, "true".to_owned());
    }
    let url = ensure_queue(client, name, attributes).await?;
    let arn = queue_arn(client, &url).await?;
    Ok(Queues {
        url,
        arn,
        dlq_url,
        dlq_arn,
    })
}

async fn ensure_queue(
    client: &Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String> {
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.clone()))
        .send()
        .await;
    match created {
        Ok(output) => {
            tracing::info!(queue = name, "queue created or already identical");
            output
                .queue_url
                .ok_or_else(|| anyhow!("CreateQueue returned no URL for {name}"))
        }
        // The queue exists with other attributes: set ours.
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateQueueError::QueueNameExists(_))
            ) =>
        {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|err| anyhow!(err))
                .with_context(|| format!("looking up queue {name}"))?
                .queue_url
                .ok_or_else(|| anyhow!("GetQueueUrl returned no URL for {name}"))?;
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|err| anyhow!(err))
                .with_context(|| format!("updating the attributes of queue {name}"))?;
            tracing::info!(queue = name, "queue existed; attributes updated");
            Ok(url)
        }
        Err(err) => Err(anyhow!(err)).with_context(|| format!("creating queue {name}")),
    }
}

async fn queue_arn(client: &Client, url: &str) -> Result<String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| anyhow!(err))
        .with_context(|| format!("reading the ARN of {url}"))?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow!("GetQueueAttributes returned no QueueArn for {url}"))
}

/// What `redrive` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedriveReport {
    /// Sent to the target queue and deleted from the dead-letter queue.
    pub moved: usize,
    /// Not sent; they return to the dead-letter queue when their visibility
    /// timeout ends.
    pub send_failed: usize,
    /// Sent but not deleted: they will be delivered twice.
    pub delete_failed: usize,
}

/// How long received messages stay hidden while they are moved.
const REDRIVE_VISIBILITY: Duration = Duration::from_secs(120);

/// The tenant a delivery message belongs to (its `tenant_id`), for a
/// message that reached the dead-letter queue without a `MessageGroupId`.
fn tenant_of(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("tenant_id")?.as_str().map(str::to_owned)
}

/// Moves up to `max` messages (all when `None`) from `dlq_url` to
/// `queue_url`: receive, send with the same body and message attributes,
/// delete. Stops at the first empty receive or when a whole batch fails to
/// send.
#[tracing::instrument(skip(client))]
pub async fn redrive(
    client: &Client,
    dlq_url: &str,
    queue_url: &str,
    max: Option<usize>,
) -> Result<RedriveReport> {
    let mut report = RedriveReport::default();
    let mut received = 0usize;
    loop {
        let wanted = match max {
            Some(max) if received >= max => break,
            Some(max) => (max - received).min(10),
            None => 10,
        };
        let wanted = i32::try_from(wanted).unwrap_or(10);
        let messages = client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(wanted)
            .wait_time_seconds(1)
            .visibility_timeout(i32::try_from(REDRIVE_VISIBILITY.as_secs()).unwrap_or(120))
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|err| anyhow!(err))
            .context("receiving from the dead-letter queue")?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        received += messages.len();

        let mut entries = Vec::with_capacity(messages.len());
        let mut receipts = HashMap::new();
        for (index, message) in messages.into_iter().enumerate() {
            let id = index.to_string();
            let (Some(body), Some(receipt)) = (message.body, message.receipt_handle) else {
                report.send_failed += 1;
                continue;
            };
            // Back in its tenant's group, as every delivery message.
            let group = message
                .attributes
                .and_then(|mut system| system.remove(&MessageSystemAttributeName::MessageGroupId))
                .or_else(|| tenant_of(&body));
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(&id)
                    .message_body(body)
                    .set_message_group_id(group)
                    .set_message_attributes(message.message_attributes)
                    .build()
                    .context("building a send entry")?,
            );
            receipts.insert(id, receipt);
        }
        if entries.is_empty() {
            continue;
        }
        let batch = entries.len();
        let sent = client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| anyhow!(err))
            .context("sending to the delivery queue")?;
        report.send_failed += sent.failed.len();
        for failure in &sent.failed {
            tracing::warn!(code = failure.code, message = ?failure.message, "message not sent; it stays in the dead-letter queue");
        }
        if sent.successful.is_empty() {
            bail!("no message of a batch of {batch} could be sent; stopped after {report:?}");
        }

        let deletes = sent
            .successful
            .iter()
            .filter_map(|entry| {
                let receipt = receipts.get(&entry.id)?;
                DeleteMessageBatchRequestEntry::builder()
                    .id(&entry.id)
                    .receipt_handle(receipt)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let deleted = client
            .delete_message_batch()
            .queue_url(dlq_url)
            .set_entries(Some(deletes))
            .send()
            .await
            .map_err(|err| anyhow!(err))
            .context("deleting redriven messages from the dead-letter queue")?;
        report.moved += deleted.successful.len();
        report.delete_failed += deleted.failed.len();
        for failure in &deleted.failed {
            tracing::warn!(
                code = failure.code,
                "message sent but not deleted: it will be delivered twice"
            );
        }
        tracing::info!(moved = report.moved, "batch redriven");
    }
    Ok(report)
}
