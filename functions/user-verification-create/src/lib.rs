//! `POST /tenants/{tenant_id}/user-verification`: creates or rotates the
//! tenant's user verification secret and answers it this once. User tokens
//! only.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::service::user_verification::{self, CreatedUserVerification};
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, create(app, &req)).await
}

async fn create(app: &App, req: &Request) -> Result<CreatedUserVerification> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    user_verification::create_user_verification(app, access.tenant).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/user-verification-create.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
