//! `GET /tenants/{tenant_id}/users/{user_id}/topics`: the topics one user
//! is subscribed to, sorted (`{"topics": []}` for a user with none). Takes
//! a user token or an API key with scope `devices`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{path_param, respond_to};
use notify_shared::model::{Scope, TopicList};
use notify_shared::service::topics;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, list(app, &req)).await
}

async fn list(app: &App, req: &Request) -> Result<TopicList> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Devices))
        .await?;
    let user_id = path_param(req, "user_id")?;
    topics::user_topics(&app.store, &tenant_id, &user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/user-topics.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_names_a_valid_user_in_its_path() {
        let req = request_from_event(EVENT);
        let user_id = path_param(&req, "user_id").ok();
        assert_eq!(user_id.as_deref(), Some("user-123"));
        assert!(topics::checked_path_user_id("user-123").is_ok());
    }
}
