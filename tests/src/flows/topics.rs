//! The topic endpoints of a tenant, called by one client.

use notify_shared::App;
use serde_json::{json, Value};

use super::As;
use crate::calls::{call, parts, Call};

const SUBSCRIBERS: &str = "/tenants/{tenant_id}/topics/{topic}/subscribers";
const USER_TOPICS: &str = "/tenants/{tenant_id}/users/{user_id}/topics";

/// The topic endpoints of one tenant, called by one client. Path values
/// are sent as `cargo lambda watch` hands them over: as given.
#[derive(Clone, Copy)]
pub struct Topics<'a> {
    pub app: &'a App,
    pub who: As<'a>,
    pub tenant_id: &'a str,
}

impl<'a> Topics<'a> {
    pub fn new(app: &'a App, who: As<'a>, tenant_id: &'a str) -> Self {
        Self {
            app,
            who,
            tenant_id,
        }
    }

    fn at(&self, method: &str, route: &str) -> Call {
        self.who
            .on(call(method, route).param("tenant_id", self.tenant_id))
    }

    /// `POST .../topics/{topic}/subscribers` with `body`.
    pub async fn subscribe_body(&self, topic: &str, body: Value) -> (u16, Value) {
        let request = self
            .at("POST", SUBSCRIBERS)
            .param("topic", topic)
            .json(body);
        parts(&topic_subscribe::handle(self.app, request.build()).await)
    }

    /// `POST .../topics/{topic}/subscribers` `{"user_ids": user_ids}`.
    pub async fn subscribe(&self, topic: &str, user_ids: &[&str]) -> (u16, Value) {
        self.subscribe_body(topic, json!({ "user_ids": user_ids }))
            .await
    }

    /// Subscribes `user_ids`; panics unless the answer is 200. The answer.
    pub async fn subscribe_ok(&self, topic: &str, user_ids: &[&str]) -> Value {
        let (status, answer) = self.subscribe(topic, user_ids).await;
        assert_eq!(status, 200, "subscribing to {topic}: {answer}");
        answer
    }

    /// `DELETE .../topics/{topic}/subscribers` with `body`.
    pub async fn unsubscribe_body(&self, topic: &str, body: Value) -> (u16, Value) {
        let request = self
            .at("DELETE", SUBSCRIBERS)
            .param("topic", topic)
            .json(body);
        parts(&topic_unsubscribe::handle(self.app, request.build()).await)
    }

    /// `DELETE .../topics/{topic}/subscribers` `{"user_ids": user_ids}`.
    pub async fn unsubscribe(&self, topic: &str, user_ids: &[&str]) -> (u16, Value) {
        self.unsubscribe_body(topic, json!({ "user_ids": user_ids }))
            .await
    }

    /// `GET .../users/{user_id}/topics`, the user id as it goes in the path.
    pub async fn list(&self, path_user_id: &str) -> (u16, Value) {
        let request = self.at("GET", USER_TOPICS).param("user_id", path_user_id);
        parts(&user_topics::handle(self.app, request.build()).await)
    }

    /// The topics of `user_id`; panics unless the listing is 200.
    pub async fn topics_of(&self, user_id: &str) -> Vec<String> {
        let (status, listed) = self.list(user_id).await;
        assert_eq!(status, 200, "listing topics: {listed}");
        listed["topics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|topic| topic.as_str().map(str::to_owned))
            .collect()
    }
}
