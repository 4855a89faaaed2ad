//! Messages the worker sends to its own queue (a purge's continuation) form
//! a chain that Lambda's recursive loop detection counts: it follows the
//! X-Ray trace header (the SDK copies the invocation's `_X_AMZN_TRACE_ID`
//! into each request, SQS keeps it as the message's `AWSTraceHeader`) and
//! stops a function invoked more than 16 times in one chain, leaving the
//! message to the dead-letter queue
//! (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html>).
//!
//! A purge of a large tenant needs more hops than that, so it carries its
//! own hop count (message attribute [`HOP_ATTRIBUTE`]) and every
//! [`HOPS_PER_TRACE`] hops sends its continuation with a new trace, whose
//! lineage starts again: the `AWSTraceHeader` message system attribute
//! overrides the HTTP trace header the SDK adds
//! (<https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html>).
//! The other hops keep the SDK's header, so Lambda still sees the chain.
//! Lambda's stop stays on for every other loop; [`MAX_HOPS`] is the
//! purge's own guard rail.

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
};

use crate::error::{Error, Result};

/// The message attribute that counts a chain's hops (absent: 0).
pub const HOP_ATTRIBUTE: &str = "hop";

/// A new trace every this many hops: well before Lambda's 16, counting the
/// function that started the chain.
pub const HOPS_PER_TRACE: u32 = 10;

/// More hops than any purge needs (each one deletes thousands of items):
/// past it the chain is a bug, and its message goes to the dead-letter queue.
pub const MAX_HOPS: u32 = 100_000;

/// The attributes of the message that continues a chain.
pub struct Continuation {
    pub hop: u32,
    pub attribute: MessageAttributeValue,
    /// A new trace, on the hops that start one; else the SDK's header stays.
    pub trace: Option<MessageSystemAttributeValue>,
}

impl Continuation {
    /// The next hop after a message at `hop`; `None` past [`MAX_HOPS`].
    pub fn after(hop: u32) -> Result<Option<Self>> {
        let next = hop.saturating_add(1);
        if next > MAX_HOPS {
            return Ok(None);
        }
        let trace = next
            .is_multiple_of(HOPS_PER_TRACE)
            .then(|| {
                MessageSystemAttributeValue::builder()
                    .data_type("String")
                    .string_value(fresh_trace_header())
                    .build()
            })
            .transpose()
            .map_err(|err| Error::internal("building the AWSTraceHeader attribute", err))?;
        let attribute = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(next.to_string())
            .build()
            .map_err(|err| Error::internal("building the hop attribute", err))?;
        Ok(Some(Self {
            hop: next,
            attribute,
            trace,
        }))
    }

    pub fn trace_attribute_name() -> MessageSystemAttributeNameForSends {
        MessageSystemAttributeNameForSends::AwsTraceHeader
    }
}

/// An X-Ray trace header of a new trace, without lineage:
/// `Root=1-<8 hex seconds>-<24 hex random>;Sampled=0`.
pub fn fresh_trace_header() -> String {
    let seconds = crate::clock::now_unix_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{seconds:08x}-{};Sampled=0", &random[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_starts_a_new_trace_every_ten_hops_and_ends_at_its_limit() {
        let next = Continuation::after(3).ok().flatten();
        assert_eq!(next.as_ref().map(|c| c.hop), Some(4));
        assert!(
            next.is_some_and(|c| c.trace.is_none()),
            "the SDK's header stays"
        );
        let restart = Continuation::after(HOPS_PER_TRACE - 1)
            .ok()
            .flatten()
            .and_then(|c| c.trace)
            .and_then(|t| t.string_value)
            .unwrap_or_default();
        assert!(
            restart.starts_with("Root=1-") && !restart.contains("Lineage"),
            "{restart}"
        );
        assert!(Continuation::after(MAX_HOPS).ok().flatten().is_none());
    }
}
