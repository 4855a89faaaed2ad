//! `DELETE /tenants/{tenant_id}/devices/{token}?user_id=...`: unregisters one
//! of the user's devices; 404 when the token is not registered to that user.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::http::{path_param, query_param, respond};
use notify_shared::model::{DeviceDeleted, Scope};
use notify_shared::service::devices;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, unregister(app, &req).await)
}

async fn unregister(app: &App, req: &Request) -> Result<DeviceDeleted> {
    let tenant_id = path_param(req, "tenant_id")?;
    authorize_tenant(app, req, &tenant_id, Requirement::Scope(Scope::Devices)).await?;
    let token = path_param(req, "token")?;
    let user_id = query_param(req, "user_id");
    devices::unregister_device(app, &tenant_id, user_id.as_deref(), &token).await?;
    Ok(DeviceDeleted { deleted: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/device-unregister.json");

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
    fn the_sample_event_carries_the_token_in_its_path() {
        let req = request_from_event(EVENT);
        assert_eq!(
            path_param(&req, "token").ok().map(|token| token.len()),
            Some(64)
        );
    }
}
