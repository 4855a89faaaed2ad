//! `POST /tenants/{tenant_id}/webhooks`: the signing secret is in this answer only.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::CreatedWebhook;
use notify_shared::service::webhooks;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, create(app, &req)).await
}

async fn create(app: &App, req: &Request) -> Result<CreatedWebhook> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    webhooks::create_webhook(app, &tenant_id, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/webhook-create.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
