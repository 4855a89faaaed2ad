//! `DELETE /tenants/{tenant_id}/devices/{token}?user_id=...` (APNs and FCM
//! tokens) and `DELETE /tenants/{tenant_id}/devices?token=...&user_id=...`
//! (any token, the only form for a Web Push endpoint: API Gateway decodes
//! `%2F` in a path before routing): unregisters one of the user's devices;
//! 404 when the token is not registered to that user.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{optional_path_param, path_param, query_param, respond_to};
use notify_shared::model::{DeviceDeleted, Scope};
use notify_shared::service::devices::{self, TokenIn};
use notify_shared::{App, Error, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, unregister(app, &req)).await
}

async fn unregister(app: &App, req: &Request) -> Result<DeviceDeleted> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Devices))
        .await?;
    let user_id = query_param(req, "user_id");
    let in_path = optional_path_param(req, "token");
    let in_query = query_param(req, "token");
    let token = match (&in_path, &in_query) {
        (Some(token), _) => TokenIn::Path(token),
        (None, Some(token)) => TokenIn::Query(token),
        (None, None) => {
            return Err(Error::invalid_request(
                "the `token` query parameter is required (the device's token or Web Push endpoint, URL-encoded)",
            ))
        }
    };
    devices::unregister_device(app, &tenant_id, user_id.as_deref(), token).await?;
    Ok(DeviceDeleted { deleted: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/device-unregister.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_carries_the_token_in_its_path() {
        let req = request_from_event(EVENT);
        assert_eq!(
            path_param(&req, "token").ok().map(|token| token.len()),
            Some(64)
        );
    }
}
