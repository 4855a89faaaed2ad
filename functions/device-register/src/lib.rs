//! `POST /tenants/{tenant_id}/devices`: registers a device token for a user,
//! or updates it (a token of another user moves to this one). Takes a user
//! token or an API key with scope `register` or `devices`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::{Device, Scope};
use notify_shared::service::devices;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, register(app, &req)).await
}

async fn register(app: &App, req: &Request) -> Result<Device> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Register))
        .await?;
    devices::register_device(app, &access, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::http::json_body;
    use notify_shared::model::{Platform, RegisterDeviceRequest};
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/device-register.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
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
