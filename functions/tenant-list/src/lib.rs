//! `GET /tenants[?org_id=...]`: the tenants of one org, or of all the caller's orgs.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::http::{query_param, respond_to};
use notify_shared::model::TenantList;
use notify_shared::service::tenants;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, list(app, &req)).await
}

async fn list(app: &App, req: &Request) -> Result<TenantList> {
    let user = app.authenticator().require_user(req).await?;
    let org_id = query_param(req, "org_id");
    tenants::list_tenants(app, &user, org_id.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/tenant-list.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
