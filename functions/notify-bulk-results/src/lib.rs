//! `GET /tenants/{tenant_id}/notify/bulk/{batch_id}/results`: every device a
//! bulk send reached with its final outcome, and every user without
//! devices, a page at a time. Authorised as the batch's status; tokens are
//! shortened for API keys without the `devices` scope, as in single sends.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, query_param, respond_to};
use notify_shared::model::{BulkResultList, Scope};
use notify_shared::service::bulk::{self, ResultsQuery};
use notify_shared::service::sending::reveals_device_tokens;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, results(app, &req)).await
}

async fn results(app: &App, req: &Request) -> Result<BulkResultList> {
    let tenant_id = path_param(req, "tenant_id")?;
    let batch_id = path_param(req, "batch_id")?;
    let access = app
        .authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Send))
        .await?;
    let query = ResultsQuery {
        outcome: query_param(req, "outcome"),
        limit: query_param(req, "limit"),
        cursor: query_param(req, "cursor"),
    };
    let full_tokens = reveals_device_tokens(&access.caller);
    bulk::bulk_results(app, &tenant_id, &batch_id, &query, full_tokens).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/notify-bulk-results.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_filters_and_limits_in_its_query() {
        let req = request_from_event(EVENT);
        assert_eq!(query_param(&req, "outcome").as_deref(), Some("removed"));
        assert_eq!(query_param(&req, "limit").as_deref(), Some("50"));
    }
}
