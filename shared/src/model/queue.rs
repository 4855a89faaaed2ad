//! The messages on the delivery queue: what the bulk endpoint and tenant
//! deletion enqueue, and what the delivery worker reads.
//!
//! Bodies are JSON objects tagged by `kind`:
//!
//! ```json
//! {"kind": "deliver", "tenant_id": "tnt_...", "batch_id": "<uuid>", "chunk": 0,
//!  "user_ids": ["u1", "u2"], "notification": {"alert": {"title": "Hi"}}}
//! {"kind": "purge_tenant", "tenant_id": "tnt_..."}
//! ```
//!
//! A body that does not parse is a poison message: the worker reports it as
//! failed every time, so SQS moves it to the dead-letter queue after
//! `maxReceiveCount` receives.

use serde::{Deserialize, Serialize};

use crate::model::Notification;

/// One message of the delivery queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
// Messages are decoded one at a time and never stored in bulk: boxing the
// large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum QueueMessage {
    /// Deliver one notification to a chunk of a bulk batch's users.
    Deliver(DeliverChunk),
    /// Delete what is left of a deleted tenant, in bounded steps.
    PurgeTenant { tenant_id: String },
}

/// A chunk of a bulk batch: up to a few hundred users, one notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverChunk {
    pub tenant_id: String,
    pub batch_id: String,
    /// The chunk's position in its batch, from 0. With the batch id it names
    /// the chunk's progress items, which make redelivery harmless.
    pub chunk: u32,
    /// Distinct, validated user ids. Their positions are stable across
    /// redeliveries (the body never changes), so progress records them by index.
    pub user_ids: Vec<String>,
    pub notification: Notification,
}

impl QueueMessage {
    /// Parses a message body. `Err` means poison: retrying will not help.
    pub fn from_body(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// The body to enqueue.
    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// For logs: never the users or the notification.
    pub fn kind(&self) -> &'static str {
        match self {
            QueueMessage::Deliver(_) => "deliver",
            QueueMessage::PurgeTenant { .. } => "purge_tenant",
        }
    }

    pub fn tenant_id(&self) -> &str {
        match self {
            QueueMessage::Deliver(chunk) => &chunk.tenant_id,
            QueueMessage::PurgeTenant { tenant_id } => tenant_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;

    fn chunk() -> QueueMessage {
        QueueMessage::Deliver(DeliverChunk {
            tenant_id: "tnt_4fG7hK2mN9pQ3rS5tV8w".to_owned(),
            batch_id: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f".to_owned(),
            chunk: 3,
            user_ids: vec!["u1".to_owned(), "u2".to_owned()],
            notification: Notification {
                alert: Some(Alert {
                    title: Some("Hi".to_owned()),
                    ..Alert::default()
                }),
                ..Notification::default()
            },
        })
    }

    #[test]
    fn messages_are_tagged_by_kind_and_round_trip() {
        let body = chunk().to_body().unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(value["kind"], "deliver");
        assert_eq!(value["chunk"], 3);
        assert_eq!(value["notification"]["alert"]["title"], "Hi");
        assert_eq!(QueueMessage::from_body(&body).ok(), Some(chunk()));

        let purge = QueueMessage::PurgeTenant {
            tenant_id: "tnt_x".to_owned(),
        };
        let body = purge.to_body().unwrap_or_default();
        assert_eq!(body, r#"{"kind":"purge_tenant","tenant_id":"tnt_x"}"#);
        assert_eq!(QueueMessage::from_body(&body).ok(), Some(purge));
    }

    #[test]
    fn unknown_kinds_missing_fields_and_garbage_do_not_parse() {
        for body in [
            "",
            "not json",
            "[]",
            r#"{"kind":"explode","tenant_id":"t"}"#,
            r#"{"tenant_id":"t"}"#,
            r#"{"kind":"deliver","tenant_id":"t","batch_id":"b","chunk":0,"user_ids":["u"]}"#,
            r#"{"kind":"deliver","tenant_id":"t","batch_id":"b","chunk":-1,"user_ids":["u"],"notification":{"badge":1}}"#,
            r#"{"kind":"purge_tenant","tenant_id":"t","extra":1}"#,
        ] {
            assert!(QueueMessage::from_body(body).is_err(), "{body}");
        }
    }
}
