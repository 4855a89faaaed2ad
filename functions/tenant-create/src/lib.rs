//! `POST /tenants`: a user creates a tenant in one of their orgs.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::http::{json_body, respond_to};
use notify_shared::model::Tenant;
use notify_shared::service::tenants;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, create(app, &req)).await
}

async fn create(app: &App, req: &Request) -> Result<Tenant> {
    let user = app.authenticator().require_user(req).await?;
    tenants::create_tenant(app, &user, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/tenant-create.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
