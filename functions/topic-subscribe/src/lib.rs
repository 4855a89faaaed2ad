//! `POST /tenants/{tenant_id}/topics/{topic}/subscribers` `{"user_ids": [...]}`:
//! subscribes up to 1,000 users to a topic, whether or not they have
//! devices; users already at 100 topics are named in `too_many_topics`.
//! Takes a user token or an API key with scope `devices`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::auth::Requirement;
use notify_shared::http::{json_body, path_param, respond_to};
use notify_shared::model::{Scope, TopicSubscribed};
use notify_shared::service::topics;
use notify_shared::{App, Result};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_to(app.meter(), &req, subscribe(app, &req)).await
}

async fn subscribe(app: &App, req: &Request) -> Result<TopicSubscribed> {
    let tenant_id = path_param(req, "tenant_id")?;
    app.authenticator()
        .authorize_tenant(req, &tenant_id, Requirement::Scope(Scope::Devices))
        .await?;
    let topic = path_param(req, "topic")?;
    topics::subscribe(&app.store, &tenant_id, &topic, json_body(req)?).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::model::topic::validate_topic;
    use notify_shared::model::TopicSubscribersRequest;
    use notify_shared::testing::{
        assert_credentials_checked_before_any_aws_call, offline_app, request_from_event,
    };

    const EVENT: &str = include_str!("../../../events/topic-subscribe.json");

    #[tokio::test]
    async fn credentials_are_checked_before_any_aws_call() {
        let app = offline_app();
        assert_credentials_checked_before_any_aws_call(EVENT, |req| handle(&app, req)).await;
    }

    #[test]
    fn the_sample_event_subscribes_two_users_to_a_valid_topic() {
        let req = request_from_event(EVENT);
        let topic = path_param(&req, "topic").ok();
        assert_eq!(topic.as_deref(), Some("sports"));
        assert!(topic.is_some_and(|topic| validate_topic(&topic).is_ok()));
        let request: Result<TopicSubscribersRequest> = json_body(&req);
        let user_ids = request
            .and_then(TopicSubscribersRequest::distinct_user_ids)
            .ok();
        assert_eq!(
            user_ids,
            Some(vec!["user-123".to_owned(), "user-456".to_owned()])
        );
    }
}
