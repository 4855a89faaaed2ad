//! The messages on the delivery queue: what the bulk endpoint and tenant
//! deletion enqueue, and what the delivery worker reads.
//!
//! Bodies are JSON objects tagged by `kind`; their schema version travels
//! beside them, as the message attribute `notify_schema`
//! (`service::queue_schema`):
//!
//! ```json
//! {"kind": "deliver", "tenant_id": "tnt_...", "batch_id": "<uuid>", "chunk": 0,
//!  "user_ids": ["u1", "u2"], "notification": {"alert": {"title": "Hi"}}}
//! {"kind": "purge_tenant", "tenant_id": "tnt_..."}
//! ```
//!
//! # Versions, and rolling deploys
//!
//! The functions that write messages and the worker that reads them are
//! deployed apart, in no set order, and a message may wait on the queue
//! across a deploy. So a worker reads three versions:
//! - the previous one ([`SCHEMA_VERSION`] − 1; version 1 is a message
//!   without the attribute, as workers before versions wrote it), exactly;
//! - its own, exactly;
//! - the next one, which may only add fields (to the message or to its
//!   `notification` / `alert`) whose absence keeps today's meaning: this
//!   worker drops those it does not know and delivers the rest.
//!
//! A version that changes the meaning of a field needs a new `kind`. Any
//! other body (a version further ahead, an unknown kind, a wrong field) is
//! a poison message: the worker moves it to the dead-letter queue.
//!
//! The version is not in the body because the workers deployed before
//! versions existed refuse a body field they do not know (they would
//! dead-letter every message of the first versioned writer) and ignore
//! attributes. A body that carries `v` itself (an earlier build of this
//! scheme wrote it) is read at that version when no attribute says
//! otherwise.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Read one page of an audience batch's users and enqueue its chunks
    /// (`service::worker::audience`). A scheduled send's first page is
    /// what its schedule puts on the queue at `send_at`.
    ReadAudience(ReadAudience),
}

/// One page of an audience batch. Its body never changes across
/// redeliveries, so the page it names and the chunk numbers it starts at
/// are stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadAudience {
    pub tenant_id: String,
    pub batch_id: String,
    /// The page's position, from 0.
    pub page: u32,
    /// The sort key the page starts after (the previous page's last);
    /// `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The number of the page's first chunk: chunks are numbered across
    /// pages without gaps.
    pub first_chunk: u32,
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

/// The schema version this build writes (see the module documentation).
/// The `read_audience` kind came within version 2: a worker that predates
/// it refuses it as poison (moved to the dead-letter queue, from which the
/// operator redrives it after the deploy), as it would at a new version.
pub const SCHEMA_VERSION: u64 = 2;

/// Fields of each kind of message, and of the parts of a notification the
/// next version may add to.
const DELIVER_FIELDS: [&str; 6] = [
    "kind",
    "tenant_id",
    "batch_id",
    "chunk",
    "user_ids",
    "notification",
];
const PURGE_FIELDS: [&str; 2] = ["kind", "tenant_id"];
const READ_AUDIENCE_FIELDS: [&str; 6] = [
    "kind",
    "tenant_id",
    "batch_id",
    "page",
    "after",
    "first_chunk",
];
const ALERT_FIELDS: [&str; 3] = ["title", "subtitle", "body"];

/// The body as this version reads it, at the `attribute`'s version (else
/// the body's own `v`, else 1): `v` removed, and for the next version the
/// fields this one does not know dropped.
fn readable(mut value: Value, attribute: Option<&str>) -> Result<Value, String> {
    let fields = value
        .as_object_mut()
        .ok_or_else(|| "the body is not a JSON object".to_owned())?;
    let in_body = match fields.remove("v") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| "`v` is not a whole number".to_owned())?,
        ),
    };
    let version = match attribute {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| "the schema attribute is not a whole number".to_owned())?,
        None => in_body.unwrap_or(1),
    };
    if version + 1 < SCHEMA_VERSION || version > SCHEMA_VERSION + 1 {
        return Err(format!(
            "schema version {version}; this worker reads {} to {}",
            SCHEMA_VERSION - 1,
            SCHEMA_VERSION + 1
        ));
    }
    if version == SCHEMA_VERSION + 1 {
        let known: &[&str] = match fields.get("kind").and_then(Value::as_str) {
            Some("deliver") => &DELIVER_FIELDS,
            Some("purge_tenant") => &PURGE_FIELDS,
            Some("read_audience") => &READ_AUDIENCE_FIELDS,
            _ => return Err("unknown `kind`".to_owned()),
        };
        fields.retain(|key, _| known.contains(&key.as_str()));
        if let Some(notification) = fields
            .get_mut("notification")
            .and_then(Value::as_object_mut)
        {
            notification.retain(|key, _| Notification::FIELDS.contains(&key.as_str()));
            if let Some(alert) = notification.get_mut("alert").and_then(Value::as_object_mut) {
                alert.retain(|key, _| ALERT_FIELDS.contains(&key.as_str()));
            }
        }
    }
    Ok(value)
}

/// Why a body is not a message this worker reads. Names a version, a field
/// or a position, never the content.
#[derive(Debug, thiserror::Error)]
pub enum QueueBodyError {
    #[error("body is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Version(String),
}

impl QueueMessage {
    /// Parses a message body of the previous, this or the next schema
    /// version. `Err` means poison: retrying will not help.
    pub fn from_body(body: &str) -> Result<Self, QueueBodyError> {
        Self::from_message(body, None)
    }

    /// Parses a message whose schema attribute (`notify_schema`) is
    /// `schema`; `None` when the message has none.
    pub fn from_message(body: &str, schema: Option<&str>) -> Result<Self, QueueBodyError> {
        let value: Value = serde_json::from_str(body)?;
        let value = readable(value, schema).map_err(QueueBodyError::Version)?;
        Ok(serde_json::from_value(value)?)
    }

    /// The body to enqueue, at [`SCHEMA_VERSION`], which its message
    /// carries as an attribute (`service::queue_schema`).
    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The body with its version inside (`v`), for a sender that cannot set
    /// message attributes: EventBridge Scheduler's SQS target.
    pub fn to_versioned_body(&self) -> Result<String, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(fields) = value.as_object_mut() {
            fields.insert("v".to_owned(), Value::from(SCHEMA_VERSION));
        }
        serde_json::to_string(&value)
    }

    /// For logs: never the users or the notification.
    pub fn kind(&self) -> &'static str {
        match self {
            QueueMessage::Deliver(_) => "deliver",
            QueueMessage::PurgeTenant { .. } => "purge_tenant",
            QueueMessage::ReadAudience(_) => "read_audience",
        }
    }

    pub fn tenant_id(&self) -> &str {
        match self {
            QueueMessage::Deliver(chunk) => &chunk.tenant_id,
            QueueMessage::PurgeTenant { tenant_id } => tenant_id,
            QueueMessage::ReadAudience(page) => &page.tenant_id,
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
        // No `v`: the version travels as an attribute (`service::queue_schema`).
        assert_eq!(body, r#"{"kind":"purge_tenant","tenant_id":"tnt_x"}"#);
        assert_eq!(QueueMessage::from_body(&body).ok(), Some(purge));
    }

    fn fixture_body(event: &str) -> String {
        record(event).0
    }

    /// The body and the schema attribute of an event fixture's record.
    fn record(event: &str) -> (String, Option<String>) {
        let event: serde_json::Value = serde_json::from_str(event).unwrap_or_default();
        let record = &event["Records"][0];
        (
            record["body"].as_str().unwrap_or_default().to_owned(),
            record["messageAttributes"]["notify_schema"]["stringValue"]
                .as_str()
                .map(str::to_owned),
        )
    }

    #[test]
    fn the_previous_the_current_and_the_next_schema_version_are_read() {
        let expected = |chunk_no: u32| match chunk() {
            QueueMessage::Deliver(mut chunk) => {
                chunk.chunk = chunk_no;
                chunk.notification.alert = Some(Alert {
                    title: Some("Flash sale".to_owned()),
                    body: Some("20% off today only".to_owned()),
                    ..Alert::default()
                });
                chunk.user_ids = vec!["user-123".to_owned(), "user-456".to_owned()];
                QueueMessage::Deliver(chunk)
            }
            other => other,
        };
        for (fixture, version) in [
            (
                include_str!("../../../events/delivery-worker-v1.json"),
                None,
            ),
            (
                include_str!("../../../events/delivery-worker.json"),
                Some(2),
            ),
            (
                include_str!("../../../events/delivery-worker-v3.json"),
                Some(3),
            ),
        ] {
            let (body, schema) = record(fixture);
            assert_eq!(
                schema.as_deref().and_then(|v| v.parse::<u64>().ok()),
                version,
                "{body}"
            );
            let message = QueueMessage::from_message(&body, schema.as_deref());
            assert_eq!(message.ok(), Some(expected(0)), "{body}");
        }
    }

    #[test]
    fn a_version_further_ahead_or_behind_is_poison_and_only_the_next_may_add_fields() {
        let body = fixture_body(include_str!("../../../events/delivery-worker-v3.json"));
        for schema in ["4", "0", "three", ""] {
            assert!(
                QueueMessage::from_message(&body, Some(schema)).is_err(),
                "{schema}"
            );
        }
        // Fields added by the next version are refused in this one's.
        assert!(QueueMessage::from_message(&body, Some("2")).is_err());
        let purge = r#"{"kind":"purge_tenant","tenant_id":"tnt_x","reason":"gdpr"}"#;
        assert_eq!(
            QueueMessage::from_message(purge, Some("3")).ok(),
            Some(QueueMessage::PurgeTenant {
                tenant_id: "tnt_x".to_owned()
            })
        );
        let new_kind = r#"{"kind":"digest","tenant_id":"tnt_x"}"#;
        assert!(QueueMessage::from_message(new_kind, Some("3")).is_err());
        // A body that names its version itself is read at it.
        let in_body = r#"{"v":3,"kind":"purge_tenant","tenant_id":"tnt_x","reason":"gdpr"}"#;
        assert!(QueueMessage::from_body(in_body).is_ok());
        assert!(QueueMessage::from_body(&in_body.replacen(r#""v":3"#, r#""v":4"#, 1)).is_err());
    }

    #[test]
    fn what_this_build_writes_a_worker_from_before_versions_reads() {
        // Those workers parsed the body strictly, fields they did not know
        // refused, and read no attribute.
        for message in [
            chunk(),
            QueueMessage::PurgeTenant {
                tenant_id: "tnt_x".to_owned(),
            },
        ] {
            let body = message.to_body().unwrap_or_default();
            assert_eq!(
                serde_json::from_str::<QueueMessage>(&body).ok(),
                Some(message)
            );
        }
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
