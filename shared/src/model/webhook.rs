//! Webhooks as the contract shows them: the registration (its secret in the
//! creation answer only), the event types, and the delivery log.

use serde::{Deserialize, Serialize};

/// What a webhook can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    #[serde(rename = "devices.removed")]
    DevicesRemoved,
    #[serde(rename = "credentials.failed")]
    CredentialsFailed,
    #[serde(rename = "key.unusual_activity")]
    KeyUnusualActivity,
}

impl EventType {
    /// Every type, in the order answers list them.
    pub const ALL: [EventType; 4] = [
        EventType::BatchCompleted,
        EventType::DevicesRemoved,
        EventType::CredentialsFailed,
        EventType::KeyUnusualActivity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BatchCompleted => "batch.completed",
            EventType::DevicesRemoved => "devices.removed",
            EventType::CredentialsFailed => "credentials.failed",
            EventType::KeyUnusualActivity => "key.unusual_activity",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// `POST /tenants/{tenant_id}/webhooks`. Events arrive as text so that an
/// unknown name is refused with a sentence naming `events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A webhook as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub created_at: String,
}

impl Webhook {
    pub fn wants(&self, kind: EventType) -> bool {
        self.events.contains(&kind)
    }
}

/// The creation answer: the only time the signing secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookDeleted {
    pub deleted: bool,
    pub webhook_id: String,
}

/// One delivery attempt of an event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's answer; `None` when it gave none (timeout, refused
    /// address, connection or TLS failure).
    pub status_code: Option<u16>,
    pub at: String,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_attempt_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookDeliveryList {
    pub deliveries: Vec<WebhookAttempt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip_through_text_and_json() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventType::parse("batch.Completed"), None);
    }
}
