//! `DELETE /tenants/{tenant_id}`: its keys fail at once; its data and secret
//! go. A deletion that stopped half way is resumed by the same request.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::http::{path_param, respond_to};
use notify_shared::service::tenants;
use notify_shared::{App, Result};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Deleted {
    pub deleted: bool,
    pub tenant_id: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, delete(app, &req)).await
}

async fn delete(app: &App, req: &Request) -> Result<Deleted> {
    let tenant_id = path_param(req, "tenant_id")?;
    // Users only; the service checks the org on the tenant item, which a
    // deletion under way keeps (as a tombstone) until it is finished.
    let user = app.authenticator().require_user(req).await?;
    tenants::delete_tenant(app, &user, &tenant_id).await?;
    Ok(Deleted {
        deleted: true,
        tenant_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/tenant-delete.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
