//! `POST /tenants/{tenant_id}/user-verification`: creates or rotates the
//! tenant's user verification secret and answers it this once. User tokens
//! only.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::http::{path_param, respond};
use notify_shared::service::user_verification::{self, CreatedUserVerification};
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, create(app, &req).await)
}

async fn create(app: &App, req: &Request) -> Result<CreatedUserVerification> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = authorize_tenant(app, req, &tenant_id, Requirement::Management).await?;
    user_verification::create_user_verification(app, access.tenant).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/user-verification-create.json");

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
}
