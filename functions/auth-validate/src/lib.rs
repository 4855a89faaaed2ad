//! `GET /auth/validate`: tells a user token's owner who they are.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::http::respond;
use notify_shared::{App, Result};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Validation {
    pub valid: bool,
    pub user_id: String,
    pub email: Option<String>,
    pub orgs: Vec<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, validate(app, &req).await)
}

async fn validate(app: &App, req: &Request) -> Result<Validation> {
    let claims = app.authenticator().authenticate_user_token(req).await?;
    Ok(Validation {
        valid: true,
        user_id: claims.sub,
        email: claims.email,
        orgs: claims.orgs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{offline_app, request_from_event, with_header};

    const EVENT: &str = include_str!("../../../events/auth-validate.json");

    #[tokio::test]
    async fn the_sample_event_without_a_token_is_unauthorized() {
        let response = handle(&offline_app(), request_from_event(EVENT)).await;
        assert_eq!(response.status(), 401);
    }

    #[tokio::test]
    async fn an_api_key_is_not_a_user_credential() {
        let req = with_header(request_from_event(EVENT), "x-api-key", "msk_live_anything");
        let response = handle(&offline_app(), req).await;
        assert_eq!(response.status(), 401);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
        assert_eq!(body["code"], "unauthorized");
    }
}
