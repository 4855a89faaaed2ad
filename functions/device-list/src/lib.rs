//! `GET /tenants/{tenant_id}/devices?user_id=...`: one user's devices.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, query_param, respond_to};
use notify_shared::model::{DeviceList, Scope};
use notify_shared::service::devices;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, list(app, &req)).await
}

async fn list(app: &App, req: &Request) -> Result<DeviceList> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Devices))
        .await?;
    let user_id = query_param(req, "user_id");
    devices::list_devices(app, &tenant_id, user_id.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/device-list.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_names_the_user_in_its_query() {
        let req = request_from_event(EVENT);
        assert_eq!(query_param(&req, "user_id").as_deref(), Some("user-123"));
    }
}
