//! `GET /tenants/{tenant_id}/api-keys/{key_id}/usage?period=hour|day`: one
//! key's requests, refusals and pushes in the last 48 hours or 90 days.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, query_param, respond_to};
use notify_shared::model::KeyUsage;
use notify_shared::service::usage::{self, Period};
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, key_usage(app, &req)).await
}

async fn key_usage(app: &App, req: &Request) -> Result<KeyUsage> {
    let tenant_id = path_param(req, "tenant_id")?;
    let key_id = path_param(req, "key_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Management)
        .await?;
    let period = Period::parse(query_param(req, "period").as_deref())?;
    let now = app.rate_limiter.now();
    usage::key_usage(app, &tenant_id, &key_id, period, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/api-key-usage.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_asks_for_day_buckets() {
        let req = request_from_event(EVENT);
        assert_eq!(query_param(&req, "period").as_deref(), Some("day"));
    }
}
