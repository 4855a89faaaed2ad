//! `GET /tenants/{tenant_id}/notify/bulk/{batch_id}`: a batch's progress,
//! from the counters the delivery worker maintains. Unknown, malformed and
//! other tenants' batch ids are all 404.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::{authorize_tenant, Requirement};
use notify_shared::http::{path_param, respond};
use notify_shared::model::{BulkStatus, Scope};
use notify_shared::service::bulk;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, status(app, &req).await)
}

async fn status(app: &App, req: &Request) -> Result<BulkStatus> {
    let tenant_id = path_param(req, "tenant_id")?;
    let batch_id = path_param(req, "batch_id")?;
    authorize_tenant(app, req, &tenant_id, Requirement::Scope(Scope::Send)).await?;
    bulk::bulk_status(app, &tenant_id, &batch_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{offline_app, request_from_event, status_and_json, with_header};

    const EVENT: &str = include_str!("../../../events/notify-bulk-status.json");

    #[tokio::test]
    async fn the_sample_event_without_credentials_is_unauthorized() {
        let (status, body) =
            status_and_json(&handle(&offline_app(), request_from_event(EVENT)).await);
        assert_eq!(status, 401);
        assert_eq!(body["code"], "unauthorized");
    }

    #[tokio::test]
    async fn a_malformed_api_key_is_rejected_before_any_aws_call() {
        let req = with_header(
            request_from_event(EVENT),
            "x-api-key",
            "msk_live_0000000000",
        );
        let (status, body) = status_and_json(&handle(&offline_app(), req).await);
        assert_eq!(status, 401);
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-API-Key"));
    }
}
