//! `POST /tenants/{tenant_id}/devices`: registers a device token for a user,
//! or updates it (a token of another user moves to this one). Takes a user
//! token or an API key with scope `register` or `devices`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::http::{json_body, path_param, respond};
use notify_shared::model::{Device, Scope};
use notify_shared::service::devices;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, register(app, &req).await)
}

async fn register(app: &App, req: &Request) -> Result<Device> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access =
        authorize_tenant(app, req, &tenant_id, Requirement::Scope(Scope::Register)).await?;
    devices::register_device(app, &access, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::http::json_body;
    use notify_shared::model::{Platform, RegisterDeviceRequest};
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/device-register.json");

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
    fn the_sample_body_is_a_valid_registration() {
        let request: Result<RegisterDeviceRequest> = json_body(&request_from_event(EVENT));
        let registration = request.and_then(RegisterDeviceRequest::validate).ok();
        assert_eq!(
            registration.map(|r| (r.user_id, r.platform, r.app_version)),
            Some((
                "user-123".to_owned(),
                Platform::Ios,
                Some("1.2.0".to_owned())
            ))
        );
    }
}
