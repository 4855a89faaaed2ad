//! `DELETE /tenants/{tenant_id}/webhooks/{webhook_id}`: events already
//! queued for the webhook are dropped, not delivered.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::model::WebhookDeleted;
use notify_shared::service::webhooks;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, delete(app, &req)).await
}

async fn delete(app: &App, req: &Request) -> Result<WebhookDeleted> {
    let tenant_id = path_param(req, "tenant_id")?;
    let webhook_id = path_param(req, "webhook_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    webhooks::delete_webhook(app, &tenant_id, &webhook_id).await?;
    Ok(WebhookDeleted {
        deleted: true,
        webhook_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/webhook-delete.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
