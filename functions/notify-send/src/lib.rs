//! `POST /tenants/{tenant_id}/notify`: delivers one notification to every
//! device of one user, now, and reports each device's fate. Honours
//! `Idempotency-Key`.
#![forbid(unsafe_code)]

use std::time::SystemTime;

use lambda_http::{Body, Request, RequestExt, Response};
use notify_shared::auth::Requirement;
use notify_shared::clock::invocation_deadline;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::Scope;
use notify_shared::service::delivery::Delivery;
use notify_shared::service::idempotency::idempotent;
use notify_shared::service::sending::{self, SendOptions};
use notify_shared::{App, Result};

/// The endpoint's name in idempotency records.
pub const ENDPOINT: &str = "notify";

pub async fn handle(app: &App, delivery: &Delivery, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, send(app, delivery, &req)).await
}

async fn send(app: &App, delivery: &Delivery, req: &Request) -> Result<serde_json::Value> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Send))
        .await?;
    let options = SendOptions {
        deadline: req
            .lambda_context_ref()
            .and_then(|context| invocation_deadline(context.deadline(), SystemTime::now())),
        full_tokens: sending::reveals_device_tokens(&access.caller),
    };
    idempotent(app, req, &access.caller, &tenant_id, ENDPOINT, async {
        app.check_push_quota(&access.tenant).await?;
        sending::send_notification(delivery, &access.tenant, json_body(req)?, options).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::push::EncodedNotification;
    use notify_shared::service::sending::SendNotificationRequest;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/notify-send.json");

    fn delivery(app: &App) -> Delivery {
        match Delivery::from_app(app) {
            Ok(delivery) => delivery,
            Err(err) => panic!("provider clients: {err}"),
        }
    }

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        let delivery = delivery(&app);
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, &delivery, req))
            .await;
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
