//! Lambda's recursive loop detection, played locally. Lambda follows the
//! X-Ray trace header through SQS (a message's `AWSTraceHeader`) and counts
//! the invocations of one chain in its `Lineage` field; "if a function is
//! invoked more than 16 times in the same chain of requests", Lambda stops
//! the next invocation (`RecursiveInvocationsDropped`) and the message stays
//! on the queue until SQS moves it to the dead-letter queue
//! (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html>,
//! default `Terminate`).
//!
//! Here: a record whose `AWSTraceHeader` lineage already counts 16
//! invocations is not invoked (and not deleted: it reappears after the
//! visibility timeout and goes to the dead-letter queue after
//! `maxReceiveCount` receives, as on AWS). The others are handled by one
//! invocation traced one lineage count further than the longest chain among
//! them; the trigger passes that trace to the function (`X-Amzn-Trace-Id`
//! on the invoke request; the in-process tests give it to the worker's SQS
//! client), and what the function sends with it continues the chain, as
//! the SDK's `RecursionDetectionInterceptor` does from `_X_AMZN_TRACE_ID`
//! on AWS. moto keeps a message's `AWSTraceHeader` attribute but not the
//! HTTP header, so under `scripts/dev` only messages that set the attribute
//! themselves carry a chain; the in-process tests play it end to end. The
//! lineage's `<version>:<hash>` part is a local stand-in; only the count is
//! read.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

/// Invocations of one chain Lambda allows before it stops the next.
pub const MAX_CHAIN_INVOCATIONS: u32 = 16;

/// The system attribute the trace travels in.
pub const TRACE_ATTRIBUTE: &str = "AWSTraceHeader";

/// The lineage prefix this trigger writes (version 1, a local hash).
const LOCAL_LINEAGE: &str = "1:10ca1000";

/// Invocations counted in a trace header's `Lineage` (0 without one).
pub fn lineage_count(header: &str) -> u32 {
    header
        .split(';')
        .filter_map(|field| field.trim().strip_prefix("Lineage="))
        .filter_map(|lineage| lineage.rsplit(':').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

/// The trace of the invocation that handles a message sent under `header`:
/// the same root, one lineage count further.
pub fn invocation_trace(header: Option<&str>, fresh_root: &str) -> String {
    let count = header.map_or(0, lineage_count).saturating_add(1);
    let kept: Vec<&str> = header
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|field| !field.is_empty() && !field.starts_with("Lineage="))
        .collect();
    let mut fields = if kept.iter().any(|field| field.starts_with("Root=")) {
        kept.join(";")
    } else {
        format!("Root={fresh_root}")
    };
    fields.push_str(&format!(";Lineage={LOCAL_LINEAGE}:{count}"));
    fields
}

/// What Lambda does with an event before it invokes the function.
#[derive(Debug, Default)]
pub struct Played {
    /// The records it does not invoke the function for.
    pub dropped: Vec<SqsMessage>,
    /// The invocation's trace (`_X_AMZN_TRACE_ID` in the function), which
    /// the SDK copies into every request the function makes; `None` when
    /// every record was dropped.
    pub trace: Option<String>,
}

/// Applies the stop to `event`: the records of a chain at its limit leave
/// it; the rest are handled by one invocation, in the longest chain among
/// them, whose trace each keeps record's `AWSTraceHeader` now shows.
pub fn play_loop_detection(event: &mut SqsEvent, fresh_root: &str) -> Played {
    let mut played = Played::default();
    let mut kept = Vec::with_capacity(event.records.len());
    for record in std::mem::take(&mut event.records) {
        let count = record
            .attributes
            .get(TRACE_ATTRIBUTE)
            .map_or(0, |header| lineage_count(header));
        if count >= MAX_CHAIN_INVOCATIONS {
            tracing::warn!(
                message_id = record.message_id.as_deref().unwrap_or_default(),
                "recursive loop detected: Lambda would not invoke the function for this message (RecursiveInvocationsDropped)"
            );
            played.dropped.push(record);
        } else {
            kept.push(record);
        }
    }
    let longest = kept
        .iter()
        .filter_map(|record| record.attributes.get(TRACE_ATTRIBUTE))
        .max_by_key(|header| lineage_count(header))
        .cloned();
    if !kept.is_empty() {
        let trace = invocation_trace(longest.as_deref(), fresh_root);
        for record in &mut kept {
            record
                .attributes
                .insert(TRACE_ATTRIBUTE.to_owned(), trace.clone());
        }
        played.trace = Some(trace);
    }
    event.records = kept;
    played
}

/// A root for a chain that starts here: `1-<8 hex seconds>-<24 hex>`.
pub fn fresh_root(seconds: u64, nanos: u32, sequence: u64) -> String {
    format!("1-{seconds:08x}-{nanos:08x}{sequence:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(header: Option<&str>) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some("m".to_owned());
        if let Some(header) = header {
            record
                .attributes
                .insert(TRACE_ATTRIBUTE.to_owned(), header.to_owned());
        }
        record
    }

    #[test]
    fn each_invocation_counts_one_more_in_the_lineage_of_its_root() {
        let first = invocation_trace(None, "1-00000001-000000000000000000000001");
        assert_eq!(
            first,
            "Root=1-00000001-000000000000000000000001;Lineage=1:10ca1000:1"
        );
        let sent = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=1:a87bd80c:7";
        let next = invocation_trace(Some(sent), "unused");
        assert_eq!(lineage_count(&next), 8);
        assert!(next.starts_with("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;"));
        // A new trace (no lineage) starts a new chain.
        assert_eq!(
            lineage_count(&invocation_trace(Some("Root=1-a-b;Sampled=0"), "x")),
            1
        );
    }

    #[test]
    fn the_seventeenth_invocation_of_a_chain_is_dropped() {
        let at_16 = "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=1:a87bd80c:16";
        let at_15 = "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=1:a87bd80c:15";
        let mut event = SqsEvent::default();
        event.records = vec![record(Some(at_16)), record(Some(at_15)), record(None)];
        let played = play_loop_detection(&mut event, "1-00000001-000000000000000000000001");
        assert_eq!(played.dropped.len(), 1);
        assert_eq!(event.records.len(), 2);
        assert_eq!(played.trace.as_deref().map(lineage_count), Some(16));
        let mut last = SqsEvent::default();
        last.records = vec![record(played.trace.as_deref())];
        let played = play_loop_detection(&mut last, "unused");
        assert_eq!((played.dropped.len(), played.trace), (1, None));
    }
}
