//! `POST /tenants/{tenant_id}/notify/bulk`: validates, records the batch,
//! queues its users in chunks for the delivery worker and answers at once.
//! Honours `Idempotency-Key`. The rules are in
//! [`notify_shared::service::bulk`].
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::http::{json_body, path_param, respond};
use notify_shared::model::{BulkNotificationRequest, Scope};
use notify_shared::service::bulk;
use notify_shared::service::idempotency::idempotent;
use notify_shared::{App, Result};

/// The endpoint's name in idempotency records.
pub const ENDPOINT: &str = "notify_bulk";

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, send(app, &req).await)
}

async fn send(app: &App, req: &Request) -> Result<serde_json::Value> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = authorize_tenant(app, req, &tenant_id, Requirement::Scope(Scope::Send)).await?;
    idempotent(app, req, &tenant_id, ENDPOINT, async {
        let request: BulkNotificationRequest = json_body(req)?;
        bulk::send_bulk(app, &tenant_id, &access.caller, request).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::push::EncodedNotification;
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/notify-bulk.json");

    #[tokio::test]
    async fn the_sample_event_without_credentials_is_unauthorized() {
        let (status, body) =
            status_and_json(&handle(&offline_app(), request_from_event(EVENT)).await);
        assert_eq!(status, 401);
        assert_eq!(body["code"], "unauthorized");
    }

    #[tokio::test]
    async fn a_malformed_api_key_is_rejected_before_any_aws_call() {
        // The offline app answers 503 to any AWS call: 401 proves there was none.
        let req = with_header(
            request_from_event(EVENT),
            "x-api-key",
            "msk_live_0000000000",
        );
        let (status, body) = status_and_json(&handle(&offline_app(), req).await);
        assert_eq!(status, 401);
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-API-Key"));
    }

    #[test]
    fn the_sample_body_is_a_valid_bulk_request() {
        let request: Result<BulkNotificationRequest> = json_body(&request_from_event(EVENT));
        let request = request.ok();
        assert_eq!(
            request.as_ref().map(|r| r.target.user_ids.clone()),
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
