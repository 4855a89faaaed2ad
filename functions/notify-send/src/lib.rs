//! `POST /tenants/{tenant_id}/notify`: delivers one notification to every
//! device of one user, now, and reports each device's fate. Honours
//! `Idempotency-Key`.
#![forbid(unsafe_code)]

use std::time::SystemTime;

use lambda_http::{Body, Request, RequestExt, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::clock::invocation_deadline;
use notify_shared::http::{json_body, path_param, respond};
use notify_shared::model::Scope;
use notify_shared::service::idempotency::idempotent;
use notify_shared::service::sending::{self, Dispatcher, SendOptions};
use notify_shared::{App, Result};

/// The endpoint's name in idempotency records.
pub const ENDPOINT: &str = "notify";

pub async fn handle(app: &App, dispatcher: &Dispatcher, req: Request) -> Response<Body> {
    respond(&req, send(app, dispatcher, &req).await)
}

async fn send(app: &App, dispatcher: &Dispatcher, req: &Request) -> Result<serde_json::Value> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = authorize_tenant(app, req, &tenant_id, Requirement::Scope(Scope::Send)).await?;
    let options = SendOptions {
        deadline: req
            .lambda_context_ref()
            .and_then(|context| invocation_deadline(context.deadline(), SystemTime::now())),
        full_tokens: sending::reveals_device_tokens(&access.caller),
    };
    idempotent(app, req, &tenant_id, ENDPOINT, async {
        sending::send_notification(app, dispatcher, &access.tenant, json_body(req)?, options).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::push::EncodedNotification;
    use notify_shared::service::sending::SendNotificationRequest;
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/notify-send.json");

    fn dispatcher(app: &App) -> Dispatcher {
        match Dispatcher::from_config(&app.config) {
            Ok(dispatcher) => dispatcher,
            Err(err) => panic!("provider clients: {err}"),
        }
    }

    #[tokio::test]
    async fn the_sample_event_without_credentials_is_unauthorized() {
        let app = offline_app();
        let (status, body) =
            status_and_json(&handle(&app, &dispatcher(&app), request_from_event(EVENT)).await);
        assert_eq!(status, 401);
        assert_eq!(body["code"], "unauthorized");
    }

    #[tokio::test]
    async fn a_malformed_api_key_is_rejected_before_any_aws_call() {
        // The offline app answers 503 to any AWS call: 401 proves there was none.
        let app = offline_app();
        let req = with_header(
            request_from_event(EVENT),
            "x-api-key",
            "msk_live_0000000000",
        );
        let (status, body) = status_and_json(&handle(&app, &dispatcher(&app), req).await);
        assert_eq!(status, 401);
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-API-Key"));
    }

    #[test]
    fn the_sample_body_is_a_valid_notification_for_one_user() {
        let request: Result<SendNotificationRequest> = json_body(&request_from_event(EVENT));
        let request = request.ok();
        assert_eq!(
            request.as_ref().map(|r| r.target.user_id.as_str()),
            Some("user-123")
        );
        assert!(request.is_some_and(|r| EncodedNotification::new(&r.notification).is_ok()));
    }
}
