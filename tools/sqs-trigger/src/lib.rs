//! A local stand-in for Lambda's SQS event source mapping with
//! `ReportBatchItemFailures`:
//!
//! 1. [`receive_event`] long-polls the queue and builds the [`SqsEvent`]
//!    Lambda would send (`messageId`, `receiptHandle`, `body`, `attributes`
//!    such as `ApproximateReceiveCount`, `md5OfBody`, `eventSource`
//!    `aws:sqs`, `eventSourceARN`, `awsRegion`);
//! 2. [`Invoker::invoke`] posts it to a function's invoke endpoint
//!    (`cargo lambda watch` serves `/2015-03-31/functions/NAME/invocations`)
//!    and reads the [`SqsBatchResponse`];
//!    Before that, [`recursion::play_loop_detection`] drops the records of a
//!    chain Lambda's recursive loop detection would stop (16 invocations);
//! 3. [`acknowledge`] deletes the records the response does not list as
//!    failed. Failed ones reappear after the visibility timeout, and SQS
//!    moves them to the dead-letter queue after `maxReceiveCount` receives.
//!    If the invocation itself fails, nothing is deleted.
//!
//! The integration tests call [`receive_event`] and [`acknowledge`] around
//! the worker's handler, in-process, to get exactly this behaviour.
#![forbid(unsafe_code)]

pub mod recursion;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use aws_sdk_sqs::Client;

/// SQS hands out at most 10 messages per receive; Lambda's batches of a
/// standard queue without a batching window are the same size.
pub const MAX_BATCH_SIZE: i32 = 10;

/// Receipt handles of an event's records, by message id.
pub type Receipts = HashMap<String, String>;

/// How to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receive {
    /// 1 to 10 messages per event.
    pub batch_size: i32,
    /// Long-poll wait, 0 to 20 seconds.
    pub wait: Duration,
    /// Overrides the queue's visibility timeout for the received messages.
    pub visibility_timeout: Option<i32>,
}

impl Default for Receive {
    fn default() -> Self {
        Self {
            batch_size: MAX_BATCH_SIZE,
            wait: Duration::from_secs(2),
            visibility_timeout: None,
        }
    }
}

/// What [`acknowledge`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acknowledged {
    /// Records deleted from the queue.
    pub deleted: usize,
    /// Records left to reappear (reported failed, or not deletable).
    pub kept: usize,
}

/// The queue's ARN (the event's `eventSourceARN`).
pub async fn queue_arn(sqs: &Client, queue_url: &str) -> Result<String> {
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(err)))
        .with_context(|| format!("reading the ARN of {queue_url}"))?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow!("GetQueueAttributes returned no QueueArn for {queue_url}"))
}

/// One long poll of up to `batch_size` messages, as the `SqsEvent` Lambda
/// would send; `None` when the queue stayed empty for `wait`.
pub async fn receive_event(
    sqs: &Client,
    queue_url: &str,
    batch_size: i32,
    wait: Duration,
) -> Result<Option<(SqsEvent, Receipts)>> {
    let options = Receive {
        batch_size,
        wait,
        visibility_timeout: None,
    };
    let arn = queue_arn(sqs, queue_url).await?;
    receive_with(sqs, queue_url, &arn, &options).await
}

/// [`receive_event`] with every option, for a queue whose ARN is known.
pub async fn receive_with(
    sqs: &Client,
    queue_url: &str,
    queue_arn: &str,
    options: &Receive,
) -> Result<Option<(SqsEvent, Receipts)>> {
    if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
        bail!("the batch size must be 1 to {MAX_BATCH_SIZE}");
    }
    let wait = i32::try_from(options.wait.as_secs().min(20)).unwrap_or(20);
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(options.batch_size)
        .wait_time_seconds(wait)
        .set_visibility_timeout(options.visibility_timeout)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|err| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(err)))
        .with_context(|| format!("receiving from {queue_url}"))?;
    let messages = output.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(None);
    }
    // arn:aws:sqs:REGION:ACCOUNT:NAME
    let region = queue_arn.split(':').nth(3).unwrap_or_default().to_owned();
    let mut receipts = Receipts::new();
    let mut event = SqsEvent::default();
    for message in messages {
        let mut record = SqsMessage::default();
        if let (Some(id), Some(receipt)) = (&message.message_id, &message.receipt_handle) {
            receipts.insert(id.clone(), receipt.clone());
        }
        record.message_id = message.message_id;
        record.receipt_handle = message.receipt_handle;
        record.body = message.body;
        record.md5_of_body = message.md5_of_body;
        record.md5_of_message_attributes = message.md5_of_message_attributes;
        record.attributes = message
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name.as_str().to_owned(), value))
            .collect();
        record.message_attributes = message
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| {
                let mut attribute = SqsMessageAttribute::default();
                attribute.string_value = value.string_value;
                attribute.binary_value = value.binary_value.map(base64_data);
                attribute.string_list_values = value.string_list_values.unwrap_or_default();
                attribute.binary_list_values = value
                    .binary_list_values
                    .unwrap_or_default()
                    .into_iter()
                    .map(base64_data)
                    .collect();
                attribute.data_type = Some(value.data_type);
                (name, attribute)
            })
            .collect();
        record.event_source = Some("aws:sqs".to_owned());
        record.event_source_arn = Some(queue_arn.to_owned());
        record.aws_region = Some(region.clone());
        event.records.push(record);
    }
    Ok(Some((event, receipts)))
}

/// `Base64Data` is `#[non_exhaustive]`: filled through `DerefMut`.
fn base64_data(blob: aws_sdk_sqs::primitives::Blob) -> Base64Data {
    let mut data = Base64Data::default();
    *data = blob.into_inner();
    data
}

/// Deletes the event's records that `response` does not report failed.
///
/// Like Lambda, a response naming an id that is not in the event (or an
/// empty one) fails the whole batch: nothing is deleted.
pub async fn acknowledge(
    sqs: &Client,
    queue_url: &str,
    event: &SqsEvent,
    response: &SqsBatchResponse,
) -> Result<Acknowledged> {
    let ids: HashSet<&str> = event
        .records
        .iter()
        .filter_map(|record| record.message_id.as_deref())
        .collect();
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    if failed.iter().any(|id| !ids.contains(id)) {
        tracing::warn!("the response names an unknown message id: the whole batch is retried");
        return Ok(Acknowledged {
            deleted: 0,
            kept: event.records.len(),
        });
    }
    let done: Vec<(&str, &str)> = event
        .records
        .iter()
        .filter_map(|record| {
            let id = record.message_id.as_deref()?;
            let receipt = record.receipt_handle.as_deref()?;
            (!failed.contains(id)).then_some((id, receipt))
        })
        .collect();
    let mut deleted = 0;
    for chunk in done.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(index, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(*receipt)
                    .build()
                    .context("building a delete entry")
            })
            .collect::<Result<Vec<_>>>()?;
        let output = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(err)))
            .context("deleting processed messages")?;
        for failure in &output.failed {
            tracing::warn!(code = %failure.code, "a processed message could not be deleted; it will be delivered again");
        }
        deleted += output.successful.len();
    }
    Ok(Acknowledged {
        deleted,
        kept: event.records.len() - deleted,
    })
}

/// Invokes a function through a Lambda invoke endpoint.
#[derive(Debug, Clone)]
pub struct Invoker {
    client: reqwest::Client,
    url: String,
}

impl Invoker {
    /// `invoke_url` is the endpoint's base (`http://127.0.0.1:9000`).
    pub fn new(invoke_url: &str, function: &str, timeout: Duration) -> Result<Self> {
        // reqwest's rustls needs a process-wide crypto provider, even for http.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            client,
            url: format!(
                "{}/2015-03-31/functions/{function}/invocations",
                invoke_url.trim_end_matches('/')
            ),
        })
    }

    /// The function's `SqsBatchResponse`. `Err` when the invocation failed
    /// in any way (unreachable, HTTP error, function error, another answer):
    /// then nothing may be deleted.
    pub async fn invoke(&self, event: &SqsEvent) -> Result<SqsBatchResponse> {
        self.invoke_traced(event, None).await
    }

    /// [`Self::invoke`] within the X-Ray trace `trace` (`X-Amzn-Trace-Id`).
    pub async fn invoke_traced(
        &self,
        event: &SqsEvent,
        trace: Option<&str>,
    ) -> Result<SqsBatchResponse> {
        let mut request = self.client.post(&self.url).json(event);
        if let Some(trace) = trace {
            request = request.header("x-amzn-trace-id", trace);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("invoking {}", self.url))?;
        let status = response.status();
        let function_error = response
            .headers()
            .get("x-amz-function-error")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .context("reading the invocation answer")?;
        if let Some(kind) = function_error {
            bail!(
                "the function failed ({kind}): {}",
                String::from_utf8_lossy(&body)
            );
        }
        if !status.is_success() {
            bail!(
                "the invocation answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).with_context(|| {
            format!(
                "the function's answer is not an SqsBatchResponse: {}",
                String::from_utf8_lossy(&body)
            )
        })
    }
}

/// The trigger loop's settings.
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    pub queue_url: String,
    pub receive: Receive,
    /// Pollers receiving and invoking at once, each one batch at a time:
    /// Lambda runs up to the mapping's `MaximumConcurrency` (the template's
    /// `WorkerMaximumConcurrency`, default 10) instances this way.
    pub concurrency: usize,
}

/// Receives, invokes and acknowledges with `config.concurrency` pollers
/// until `stop` resolves. Errors of one round are logged and that poller
/// goes on after a pause.
pub async fn run(
    sqs: &Client,
    invoker: &Invoker,
    config: &TriggerConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let arn = queue_arn(sqs, &config.queue_url).await?;
    tracing::info!(queue_url = %config.queue_url, pollers = config.concurrency, "polling");
    let pollers = (0..config.concurrency.max(1)).map(|_| poll(sqs, invoker, config, &arn));
    tokio::select! {
        () = stop => {
            tracing::info!("stopping");
            Ok(())
        }
        _ = futures::future::join_all(pollers) => Ok(()),
    }
}

/// One poller: rounds one after another, for ever.
async fn poll(sqs: &Client, invoker: &Invoker, config: &TriggerConfig, arn: &str) {
    loop {
        if let Err(err) = round(sqs, invoker, config, arn).await {
            tracing::warn!(error = format!("{err:#}"), "round failed; pausing");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn round(sqs: &Client, invoker: &Invoker, config: &TriggerConfig, arn: &str) -> Result<()> {
    let Some((mut event, _)) = receive_with(sqs, &config.queue_url, arn, &config.receive).await?
    else {
        return Ok(());
    };
    let played = recursion::play_loop_detection(&mut event, &new_trace_root());
    if !played.dropped.is_empty() {
        tracing::warn!(
            dropped = played.dropped.len(),
            "records left to the dead-letter queue, as Lambda's recursive loop detection does"
        );
    }
    let Some(trace) = played.trace else {
        return Ok(());
    };
    let records = event.records.len();
    let response = match invoker.invoke_traced(&event, Some(&trace)).await {
        Ok(response) => response,
        Err(err) => {
            tracing::warn!(
                records,
                error = format!("{err:#}"),
                "invocation failed; nothing deleted"
            );
            return Ok(());
        }
    };
    let acknowledged = acknowledge(sqs, &config.queue_url, &event, &response).await?;
    tracing::info!(
        records,
        deleted = acknowledged.deleted,
        retried = acknowledged.kept,
        "batch handled"
    );
    Ok(())
}

/// A trace root for a chain that starts at this trigger.
pub fn new_trace_root() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    recursion::fresh_root(now.as_secs(), now.subsec_nanos(), sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoke_url_is_lambdas_path() {
        let invoker = Invoker::new(
            "http://127.0.0.1:9000/",
            "delivery-worker",
            Duration::from_secs(1),
        );
        assert_eq!(
            invoker.map(|i| i.url).ok().as_deref(),
            Some("http://127.0.0.1:9000/2015-03-31/functions/delivery-worker/invocations")
        );
    }

    #[test]
    fn a_function_error_body_is_not_a_batch_response() {
        let error = br#"{"errorType":"Runtime.ExitError","errorMessage":"boom"}"#;
        assert!(serde_json::from_slice::<SqsBatchResponse>(error).is_err());
        let ok = br#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#;
        let parsed = serde_json::from_slice::<SqsBatchResponse>(ok).ok();
        assert_eq!(parsed.map(|r| r.batch_item_failures.len()), Some(1));
    }
}
