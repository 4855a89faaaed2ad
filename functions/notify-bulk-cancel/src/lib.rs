//! `DELETE /tenants/{tenant_id}/notify/bulk/{batch_id}`: cancels a batch
//! that is still `scheduled` and answers its status (`cancelled`); once
//! delivery has begun, 409 `not_cancellable`. The rules are in
//! [`notify_shared::service::bulk::cancel_bulk`].
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::model::{BulkStatus, Scope};
use notify_shared::service::bulk;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, cancel(app, &req)).await
}

async fn cancel(app: &App, req: &Request) -> Result<BulkStatus> {
    let tenant_id = path_param(req, "tenant_id")?;
    let batch_id = path_param(req, "batch_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Send))
        .await?;
    bulk::cancel_bulk(app, &tenant_id, &batch_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/notify-bulk-cancel.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
