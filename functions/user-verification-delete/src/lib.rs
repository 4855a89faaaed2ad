//! `DELETE /tenants/{tenant_id}/user-verification`: turns user verification
//! off and forgets its secret; 404 when it was off. User tokens only.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::service::user_verification::{self, DeletedUserVerification};
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, delete(app, &req)).await
}

async fn delete(app: &App, req: &Request) -> Result<DeletedUserVerification> {
    let tenant_id = path_param(req, "tenant_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    user_verification::delete_user_verification(app, access.tenant).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/user-verification-delete.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
