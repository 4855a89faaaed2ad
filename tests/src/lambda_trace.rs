//! What the SDK does inside a Lambda invocation, for the in-process worker:
//! its `RecursionDetectionInterceptor` sends the invocation's trace
//! (`_X_AMZN_TRACE_ID`) as `X-Amzn-Trace-Id` with every request, and SQS
//! keeps it as each sent message's `AWSTraceHeader` unless the message sets
//! that system attribute itself. moto reads only the attribute, and the
//! tests run many invocations in one process (one environment), so the
//! invocation's trace lives in a task-local and goes into the attribute.

use aws_sdk_sqs::config::ConfigBag;
use aws_sdk_sqs::operation::send_message::SendMessageInput;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput;
use aws_sdk_sqs::types::{MessageSystemAttributeNameForSends, MessageSystemAttributeValue};
use aws_smithy_runtime_api::client::interceptors::context::Input;

use crate::hooks::{Hooked, Hooks};

tokio::task_local! {
    static INVOCATION_TRACE: String;
}

/// Runs `future` as an invocation traced as `trace`.
pub async fn within<F: std::future::Future>(trace: Option<String>, future: F) -> F::Output {
    match trace {
        Some(trace) => INVOCATION_TRACE.scope(trace, future).await,
        None => future.await,
    }
}

/// Put on the worker's SQS client.
#[derive(Debug, Clone, Default)]
pub struct PropagateTrace;

impl Hooks for PropagateTrace {
    fn modify_input(&self, input: &mut Input, _bag: &mut ConfigBag) -> Hooked {
        let Ok(trace) = INVOCATION_TRACE.try_with(Clone::clone) else {
            return Ok(());
        };
        let value = MessageSystemAttributeValue::builder()
            .data_type("String")
            .string_value(trace)
            .build()?;
        if let Some(send) = input.downcast_mut::<SendMessageInput>() {
            send.message_system_attributes
                .get_or_insert_with(Default::default)
                .entry(MessageSystemAttributeNameForSends::AwsTraceHeader)
                .or_insert(value);
        } else if let Some(batch) = input.downcast_mut::<SendMessageBatchInput>() {
            for entry in batch.entries.iter_mut().flatten() {
                entry
                    .message_system_attributes
                    .get_or_insert_with(Default::default)
                    .entry(MessageSystemAttributeNameForSends::AwsTraceHeader)
                    .or_insert_with(|| value.clone());
            }
        }
        Ok(())
    }
}

crate::intercept_with_hooks!(PropagateTrace);
