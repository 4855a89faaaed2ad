//! Fair delivery between tenants: each tenant gets at most a share of every
//! worker invocation.
//!
//! Every delivery message carries its tenant as `MessageGroupId`. On AWS
//! that alone makes the standard delivery queue an SQS fair queue: when one
//! group has a backlog, SQS hands out the other groups' messages first. A
//! queue that does not (the local emulator, or a backlog larger than SQS's
//! fairness evens out) hands out messages roughly in the order they were
//! sent, so the worker evens out what it is given:
//!
//! * Of one event's records, at most [`WorkerSettings::tenant_share`] per
//!   tenant are processed (its redeliveries first, which always are).
//! * The rest of that tenant's first-receive records are *set aside*: sent
//!   again to the back of the queue (same body and attributes, the same
//!   group, a new trace: it is the same work put off, not a loop) and
//!   acknowledged. They cost a receive and a send, no push and no
//!   DynamoDB request. Another tenant's message behind them is thus
//!   reached after one pass through them, not after their delivery.
//! * Should the send fail, the record is processed after all: fairness
//!   gives way, delivery does not.
//!
//! Redeliveries are never set aside: the copy would start its
//! `ApproximateReceiveCount` again, and the last receive is what settles
//! transient failures (`WorkerSettings::max_receive_count`). A set-aside
//! copy delivered alongside its original (the original's deletion failed)
//! is a duplicate like any SQS redelivery: its progress items make it push
//! nothing twice.
//!
//! [`WorkerSettings::tenant_share`]: super::WorkerSettings::tenant_share

use std::collections::HashMap;

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeValue};
use serde::Deserialize;

use super::chain::{fresh_trace_header, Continuation, HOP_ATTRIBUTE};
use super::{MessageMeta, Worker};
use crate::error::{Error, Result};
use crate::ids::is_tenant_id;

/// The only field the share needs; the body is parsed in full later.
#[derive(Deserialize)]
struct Head {
    tenant_id: String,
}

/// The tenant of a queue message body; `None` when it has none (such a
/// record is never set aside: it is poison, and dealt with as such).
pub fn tenant_of(body: &str) -> Option<String> {
    serde_json::from_str::<Head>(body)
        .ok()
        .map(|head| head.tenant_id)
        .filter(|tenant_id| is_tenant_id(tenant_id))
}

/// What one record of an event is: its tenant (if its body names one) and
/// whether this is its first receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub tenant_id: Option<String>,
    pub first_receive: bool,
}

/// For each record in order, whether it is set aside: records beyond
/// `share` per tenant, redeliveries counted first and never set aside.
pub fn plan_set_aside(candidates: &[Candidate], share: usize) -> Vec<bool> {
    let mut taken: HashMap<&str, usize> = HashMap::new();
    for candidate in candidates.iter().filter(|c| !c.first_receive) {
        if let Some(tenant) = candidate.tenant_id.as_deref() {
            *taken.entry(tenant).or_default() += 1;
        }
    }
    candidates
        .iter()
        .map(|candidate| match candidate.tenant_id.as_deref() {
            Some(tenant) if candidate.first_receive => {
                let count = taken.entry(tenant).or_default();
                *count += 1;
                *count > share
            }
            _ => false,
        })
        .collect()
}

impl Worker {
    /// Which of an event's records (bodies and metadata, in order) to set
    /// aside (see the module's docs).
    pub fn plan_set_aside(&self, records: &[(Option<&str>, &MessageMeta)]) -> Vec<bool> {
        let candidates: Vec<Candidate> = records
            .iter()
            .map(|(body, meta)| Candidate {
                tenant_id: body.and_then(tenant_of),
                first_receive: meta.receive_count <= 1,
            })
            .collect();
        plan_set_aside(&candidates, self.settings.tenant_share.max(1))
    }

    /// Sends `body` again to the back of the delivery queue, in
    /// `tenant_id`'s group. `Ok`: the original may be acknowledged.
    pub async fn set_aside(&self, body: &str, tenant_id: &str, meta: &MessageMeta) -> Result<()> {
        let queue_url = self
            .app
            .config
            .delivery_queue()
            .map_err(|err| Error::internal("setting a message aside", err))?;
        // A new trace: Lambda's loop detection must not count put-off work
        // as a chain (see `chain`).
        let trace = MessageSystemAttributeValue::builder()
            .data_type("String")
            .string_value(fresh_trace_header())
            .build()
            .map_err(|err| Error::internal("building the AWSTraceHeader attribute", err))?;
        let mut send = self
            .app
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .message_group_id(tenant_id)
            .message_system_attributes(Continuation::trace_attribute_name(), trace);
        send = meta.copy_attributes(send);
        // A purge's place in its chain goes with it (`chain::MAX_HOPS`).
        if meta.hop > 0 {
            let hop = MessageAttributeValue::builder()
                .data_type("Number")
                .string_value(meta.hop.to_string())
                .build()
                .map_err(|err| Error::internal("building the hop attribute", err))?;
            send = send.message_attributes(HOP_ATTRIBUTE, hop);
        }
        send.send()
            .await
            .map_err(|err| Error::from_sdk("setting a message aside", err))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(tenant: &str) -> Candidate {
        Candidate {
            tenant_id: Some(tenant.to_owned()),
            first_receive: true,
        }
    }

    fn again(tenant: &str) -> Candidate {
        Candidate {
            first_receive: false,
            ..first(tenant)
        }
    }

    #[test]
    fn each_tenant_keeps_its_share_of_an_event_and_the_rest_is_set_aside() {
        let mut event = vec![first("noisy"); 9];
        event.push(first("quiet"));
        let plan = plan_set_aside(&event, 2);
        assert_eq!(plan.iter().filter(|aside| **aside).count(), 7);
        assert_eq!(&plan[..3], &[false, false, true]);
        assert!(!plan[9], "the quiet tenant's record is processed");
    }

    #[test]
    fn redeliveries_are_never_set_aside_and_use_the_share_first() {
        let event = [
            first("noisy"),
            again("noisy"),
            again("noisy"),
            first("noisy"),
        ];
        assert_eq!(plan_set_aside(&event, 2), vec![true, false, false, true]);
    }

    #[test]
    fn records_without_a_tenant_are_processed_and_split_batches_share_one_share() {
        let unreadable = Candidate {
            tenant_id: None,
            first_receive: true,
        };
        assert_eq!(
            plan_set_aside(&[unreadable.clone(), unreadable], 1),
            vec![false, false]
        );
        // Ten small batches of one tenant are still one tenant.
        let small = r#"{"kind":"deliver","tenant_id":"tnt_4fG7hK2mN9pQ3rS5tV8w","chunk":0}"#;
        assert_eq!(
            tenant_of(small).as_deref(),
            Some("tnt_4fG7hK2mN9pQ3rS5tV8w")
        );
        assert_eq!(tenant_of(r#"{"tenant_id":"TENANT#x"}"#), None);
        assert_eq!(tenant_of("{oops"), None);
    }
}
