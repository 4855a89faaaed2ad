//! `DELETE /tenants/{tenant_id}/topics/{topic}/subscribers` `{"user_ids": [...]}`:
//! unsubscribes up to 1,000 users from a topic (users not subscribed are
//! fine). Takes a user token or an API key with scope `devices`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::{Scope, TopicUnsubscribed};
use notify_shared::service::topics;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, unsubscribe(app, &req)).await
}

async fn unsubscribe(app: &App, req: &Request) -> Result<TopicUnsubscribed> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Devices))
        .await?;
    let topic = path_param(req, "topic")?;
    topics::unsubscribe(&app.store, &tenant_id, &topic, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::model::TopicSubscribersRequest;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/topic-unsubscribe.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_is_a_delete_with_a_body_of_user_ids() {
        let req = request_from_event(EVENT);
        assert_eq!(req.method().as_str(), "DELETE");
        assert_eq!(path_param(&req, "topic").ok().as_deref(), Some("sports"));
        let request: Result<TopicSubscribersRequest> = json_body(&req);
        assert_eq!(request.ok().map(|request| request.user_ids.len()), Some(2));
    }

    #[tokio::test]
    async fn a_bad_topic_is_refused_before_any_write() {
        // The offline app answers 503 to any AWS call: a 400 proves none.
        let app = offline_app();
        let request = TopicSubscribersRequest {
            user_ids: vec!["user-123".to_owned()],
        };
        let refused =
            topics::unsubscribe(&app.store, "tnt_4fG7hK2mN9pQ3rS5tV8w", "a/b", request).await;
        let text = refused.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(text.contains("`topic`"), "{text}");
    }
}
