//! `DELETE /tenants/{tenant_id}/api-keys/{key_id}`: the key fails on the very
//! next request (authentication always reads the store; nothing caches keys).
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::service::api_keys;
use notify_shared::{App, Result};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Deleted {
    pub deleted: bool,
    pub key_id: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, delete(app, &req)).await
}

async fn delete(app: &App, req: &Request) -> Result<Deleted> {
    let tenant_id = path_param(req, "tenant_id")?;
    let key_id = path_param(req, "key_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    api_keys::delete_api_key(app, &tenant_id, &key_id).await?;
    Ok(Deleted {
        deleted: true,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{assert_credentials_checked_before_any_aws_call, offline_app};

    const EVENT: &str = include_str!("../../../events/api-key-delete.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }
}
