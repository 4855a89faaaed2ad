//! `POST /tenants/{tenant_id}/notify/bulk`: validates, records the batch,
//! queues its users in chunks for the delivery worker and answers at once.
//! Honours `Idempotency-Key`. The rules are in
//! [`notify_shared::service::bulk`].
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::{BulkNotificationRequest, Scope};
use notify_shared::service::bulk;
use notify_shared::service::idempotency::idempotent;
use notify_shared::{App, Result};

/// The endpoint's name in idempotency records.
pub const ENDPOINT: &str = "notify_bulk";

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, send(app, &req)).await
}

async fn send(app: &App, req: &Request) -> Result<serde_json::Value> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Send))
        .await?;
    idempotent(app, req, &access.caller, &tenant_id, ENDPOINT, async {
        app.check_push_quota(&access.tenant).await?;
        let request: BulkNotificationRequest = json_body(req)?;
        bulk::send_bulk(app, &tenant_id, &access.caller, request).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::push::EncodedNotification;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/notify-bulk.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_body_is_a_valid_bulk_request() {
        let request: Result<BulkNotificationRequest> = json_body(&request_from_event(EVENT));
        let request = request.ok();
        assert_eq!(
            request.as_ref().and_then(|r| r.target.user_ids.clone()),
            Some(vec!["user-123".to_owned(), "user-456".to_owned()])
        );
        assert!(request.is_some_and(|r| EncodedNotification::new(&r.notification).is_ok()));
    }

    #[test]
    fn unknown_fields_are_named() {
        let body = br#"{"user_ids":["u1"],"alert":{"title":"t"},"user_id":"u2"}"#;
        let err = notify_shared::http::request::parse_json::<BulkNotificationRequest>(body).err();
        let detail = err.map(|err| err.to_string()).unwrap_or_default();
        assert!(detail.contains("unknown field `user_id`"), "{detail}");
    }
}
