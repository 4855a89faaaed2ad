//! Single sends: one notification to every device of one user, now. The
//! contract's request and answer; the pushes go through
//! [`Delivery`](crate::service::delivery::Delivery).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::clock::less;
use crate::error::Result;
use crate::model::device::validate_user_id;
use crate::model::{Device, Platform, Scope, Tenant, WithNotification};
use crate::push::{EncodedNotification, TargetResult};
use crate::service::delivery::{Delivery, RecipientRules};

/// The send request's own fields (schema `SendNotificationRequest` with the
/// notification fields beside them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendTarget {
    pub user_id: String,
}

pub type SendNotificationRequest = WithNotification<SendTarget>;

/// Schema `SendNotificationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotificationResponse {
    /// At least one device accepted the push.
    pub success: bool,
    /// Only when there was nobody to send to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub message_id: String,
    pub delivered: u32,
    pub failed: u32,
    pub results: Vec<DeliveryResult>,
}

/// Schema `DeliveryResult`: one device's fate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryResult {
    pub token: String,
    pub platform: Platform,
    pub success: bool,
    pub error: Option<String>,
}

pub const NO_DEVICES: &str = "no devices registered for user";

/// Time a single send keeps back from its invocation's end, after the
/// pushes, to remove dead tokens, record an idempotent answer and reply.
pub const SEND_RESERVE: Duration = Duration::from_secs(2);

/// How a single send runs, besides what it sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// The invocation's end: no push runs past it less [`SEND_RESERVE`].
    pub deadline: Option<Instant>,
    /// Whether `results[].token` shows whole tokens. A key that may only
    /// send gets them shortened: it has no business reading device tokens
    /// (see [`reveals_device_tokens`]).
    pub full_tokens: bool,
}

/// User tokens and keys that may list devices see whole tokens in send
/// results; `send`-only keys see `abcd1234…`.
pub fn reveals_device_tokens(caller: &Caller) -> bool {
    match caller {
        Caller::User(_) => true,
        Caller::ApiKey(grant) => grant.allows(Scope::Devices),
    }
}

/// The first 8 characters of a token and an ellipsis, as the contract shows.
pub fn shortened_token(token: &str) -> String {
    let mut short: String = token.chars().take(8).collect();
    short.push('…');
    short
}

/// `POST /tenants/{tenant_id}/notify`: validates (400, 413 before anything
/// is sent), resolves the user's devices and delivers to all of them.
pub async fn send_notification(
    delivery: &Delivery,
    tenant: &Tenant,
    request: SendNotificationRequest,
    options: SendOptions,
) -> Result<SendNotificationResponse> {
    let user_id = &request.target.user_id;
    validate_user_id(user_id)?;
    let message_id = uuid::Uuid::new_v4().to_string();
    let encoded = EncodedNotification::with_message_id(&request.notification, &message_id)?;
    let devices = delivery
        .recipients(
            &tenant.tenant_id,
            user_id,
            &encoded,
            RecipientRules::SINGLE_SEND,
        )
        .await?;
    if devices.is_empty() {
        tracing::info!(tenant_id = %tenant.tenant_id, message_id, "no devices registered for user");
        return Ok(SendNotificationResponse {
            success: false,
            error: Some(NO_DEVICES.to_owned()),
            message_id,
            delivered: 0,
            failed: 0,
            results: Vec::new(),
        });
    }
    let push = delivery.tenant(tenant).await?;
    let deadline = less(options.deadline, SEND_RESERVE);
    let origin = crate::service::webhooks::events::Origin::Message(&message_id);
    let outcomes = delivery
        .push(&push, &encoded, &devices, deadline, origin)
        .await;
    let answer = answer(message_id, devices, outcomes, options.full_tokens);
    crate::limits::note_pushes(
        &tenant.tenant_id,
        answer.delivered.saturating_add(answer.failed),
        answer.failed,
    );
    tracing::info!(
        tenant_id = %tenant.tenant_id,
        message_id = answer.message_id.as_str(),
        delivered = answer.delivered,
        failed = answer.failed,
        "notification sent"
    );
    Ok(answer)
}

/// The answer to a send that pushed to `devices`; `outcomes[i]` is the
/// result for `devices[i]`.
fn answer(
    message_id: String,
    devices: Vec<Device>,
    outcomes: Vec<TargetResult>,
    full_tokens: bool,
) -> SendNotificationResponse {
    let results: Vec<DeliveryResult> = devices
        .into_iter()
        .zip(outcomes)
        .map(|(device, result)| DeliveryResult {
            token: match full_tokens {
                true => device.token,
                false => shortened_token(&device.token),
            },
            platform: device.platform,
            success: result.outcome.is_delivered(),
            error: result.outcome.error().map(str::to_owned),
        })
        .collect();
    let delivered = results.iter().filter(|result| result.success).count();
    let failed = results.len() - delivered;
    SendNotificationResponse {
        success: delivered > 0,
        error: None,
        message_id,
        delivered: u32::try_from(delivered).unwrap_or(u32::MAX),
        failed: u32::try_from(failed).unwrap_or(u32::MAX),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortened_tokens_keep_eight_characters() {
        assert_eq!(shortened_token(&"ab".repeat(32)), "abababab…");
        assert_eq!(shortened_token("fcm1:APA91bxyz"), "fcm1:APA…");
    }

    #[test]
    fn an_answer_without_devices_has_the_contract_shape() {
        let answer = SendNotificationResponse {
            success: false,
            error: Some(NO_DEVICES.to_owned()),
            message_id: "m".to_owned(),
            delivered: 0,
            failed: 0,
            results: Vec::new(),
        };
        let json = serde_json::to_value(&answer).unwrap_or_default();
        assert_eq!(json["error"], NO_DEVICES);
        let with_devices = SendNotificationResponse {
            success: true,
            error: None,
            ..answer
        };
        let json = serde_json::to_value(&with_devices).unwrap_or_default();
        let keys: Vec<&String> = json
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 5, "{json}");
    }
}
