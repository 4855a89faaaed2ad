//! Path values on API Gateway (AWS audit finding 1): HTTP API decodes the
//! request path before it routes, so a `%2F` becomes a segment boundary and
//! a URL never reaches the function; `cargo lambda watch` keeps escapes in
//! the segment and decodes nothing. So no route may take a value that can
//! contain `/` in a path segment (checked over template.yaml and the watch
//! router), a Web Push endpoint is unregistered through the query string,
//! and a path value is decoded exactly once whichever router ran.

use notify_tests::flows::{device, OwnedTenant};
use notify_tests::repo::read;
use std::collections::BTreeSet;

use notify_shared::ids::has_id_shape;
use notify_shared::model::topic::validate_topic;
use notify_shared::service::devices::{checked_token, TokenIn};
use notify_shared::service::topics::checked_path_user_id;
use notify_tests::{call, parts};
use serde_json::{json, Value};

/// Whether the code accepts a value in a path parameter.
type Accepts = fn(&str) -> bool;

/// Every path parameter a route may have, with what the code accepts in it.
/// A new parameter needs a row here, and a row whose values may contain `/`
/// fails `no_route_takes_a_value_that_may_contain_a_slash_in_a_path_segment`.
const PATH_PARAMETERS: &[(&str, Accepts)] = &[
    ("tenant_id", |value| has_id_shape(value, "tnt_")),
    ("key_id", |value| has_id_shape(value, "key_")),
    ("batch_id", |value| uuid::Uuid::parse_str(value).is_ok()),
    ("webhook_id", |value| has_id_shape(value, "wh_")),
    ("token", |value| checked_token(TokenIn::Path(value)).is_ok()),
    ("topic", |value| validate_topic(value).is_ok()),
    ("user_id", |value| checked_path_user_id(value).is_ok()),
];

/// Values a client may need to send that contain `/` once decoded.
const SLASHED_VALUES: &[&str] = &[
    "https://fcm.googleapis.com/fcm/send/abc:APA91bHun4MxP5egoKMwt2KZFBaFUH",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABh",
    "https://web.push.apple.com/QGuQyavXutnMH2o5CSk",
    "tnt_abcdefghij/klmnopqrs",
    "a/b",
];

/// "METHOD /path" of every HttpApi event of template.yaml.
fn template_routes() -> BTreeSet<String> {
    let template: serde_norway::Value = serde_norway::from_str(&read("template.yaml"))
        .unwrap_or_else(|err| panic!("template.yaml: {err}"));
    let resources = template
        .get("Resources")
        .and_then(serde_norway::Value::as_mapping)
        .unwrap_or_else(|| panic!("template.yaml has no Resources"));
    let mut routes = BTreeSet::new();
    for resource in resources.values() {
        let Some(events) = resource
            .get("Properties")
            .and_then(|properties| properties.get("Events"))
            .and_then(serde_norway::Value::as_mapping)
        else {
            continue;
        };
        for event in events.values() {
            if event.get("Type").and_then(serde_norway::Value::as_str) != Some("HttpApi") {
                continue;
            }
            let field = |name: &str| {
                event
                    .get("Properties")
                    .and_then(|properties| properties.get(name))
                    .and_then(serde_norway::Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            routes.insert(format!(
                "{} {}",
                field("Method").to_uppercase(),
                field("Path")
            ));
        }
    }
    routes
}

/// "METHOD /path" of every entry of the `cargo lambda watch` router table.
fn router_routes() -> BTreeSet<String> {
    let cargo: toml::Table = read("Cargo.toml")
        .parse()
        .unwrap_or_else(|err| panic!("Cargo.toml: {err}"));
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&cargo, |table, key| table.get(*key)?.as_table())
        .unwrap_or_else(|| panic!("Cargo.toml has no router table"));
    let mut routes = BTreeSet::new();
    for (path, entries) in router {
        for entry in entries.as_array().into_iter().flatten() {
            let method = entry
                .get("method")
                .and_then(toml::Value::as_str)
                .unwrap_or_default();
            routes.insert(format!("{method} {path}"));
        }
    }
    routes
}

fn path_parameters(route: &str) -> Vec<&str> {
    route
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

#[test]
fn no_route_takes_a_value_that_may_contain_a_slash_in_a_path_segment() {
    let routes: BTreeSet<String> = template_routes().union(&router_routes()).cloned().collect();
    assert!(routes.len() > 10, "{routes:?}");
    for route in &routes {
        for name in path_parameters(route) {
            let accepts = PATH_PARAMETERS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, accepts)| accepts)
                .unwrap_or_else(|| {
                    panic!("{route}: path parameter `{name}` is not in PATH_PARAMETERS: add it with the check the code applies to it")
                });
            for value in SLASHED_VALUES {
                assert!(
                    !accepts(value),
                    "{route}: `{name}` accepts {value:?}, which API Gateway splits at its `/` before routing; take it from the query string"
                );
            }
        }
    }
}

#[test]
fn a_web_push_endpoint_can_be_unregistered_through_the_query_on_both_routers() {
    let route = "DELETE /tenants/{tenant_id}/devices".to_owned();
    assert!(
        template_routes().contains(&route),
        "template.yaml lacks {route}"
    );
    assert!(
        router_routes().contains(&route),
        "the watch router lacks {route}"
    );
}

fn fcm_token(n: u32) -> String {
    format!("fcm{n}:APA91b{}", "x_-Z".repeat(30))
}

/// The owner's calls the route tests make, for user `u1`.
trait RouteCalls {
    async fn register(&self, token: &str);
    async fn unregister_by_path(&self, segment: &str) -> (u16, Value);
    async fn tokens(&self) -> Vec<Value>;
}

impl RouteCalls for OwnedTenant {
    async fn register(&self, token: &str) {
        self.by_owner()
            .register_ok(device("u1", token, "android"))
            .await;
    }

    /// `DELETE .../devices/{token}` with the segment as `cargo lambda watch`
    /// hands it over: exactly as the client sent it.
    async fn unregister_by_path(&self, segment: &str) -> (u16, Value) {
        self.by_owner().unregister(segment, Some("u1")).await
    }

    async fn tokens(&self) -> Vec<Value> {
        let devices = self.by_owner().devices_of("u1").await;
        devices
            .iter()
            .map(|device| device["token"].clone())
            .collect()
    }
}

#[tokio::test]
async fn an_fcm_token_whose_colon_the_sdk_percent_encoded_is_unregistered_like_a_raw_one() {
    let t = OwnedTenant::new("routes").await;
    let (encoded, raw) = (fcm_token(1), fcm_token(2));
    t.register(&encoded).await;
    t.register(&raw).await;
    // What the Python SDK sends: quote(token, safe="").
    let (status, body) = t.unregister_by_path(&encoded.replace(':', "%3A")).await;
    assert_eq!((status, &body), (200, &json!({"deleted": true})));
    let (status, body) = t.unregister_by_path(&raw).await;
    assert_eq!((status, &body), (200, &json!({"deleted": true})));
    assert_eq!(t.tokens().await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_percent_25_in_a_path_token_is_decoded_once_never_twice() {
    let t = OwnedTenant::new("routes").await;
    let token = fcm_token(3);
    t.register(&token).await;
    // `%253A` is a literal `%3A`: not an FCM token, whatever it would
    // become after a second decoding.
    let (status, body) = t.unregister_by_path(&token.replace(':', "%253A")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_token_format")),
        "{body}"
    );
    assert_eq!(t.tokens().await, vec![json!(token)]);
}

#[tokio::test]
async fn a_web_push_endpoint_in_the_path_is_refused_naming_the_query_form() {
    let t = OwnedTenant::new("routes").await;
    for segment in [
        "https%3A%2F%2Ffcm.googleapis.com%2Ffcm%2Fsend%2Fabc%3AAPA91b",
        "https://fcm.googleapis.com/fcm/send/abc:APA91b",
    ] {
        let (status, body) = t.unregister_by_path(segment).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "invalid_token_format");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("/devices?token="), "{detail}");
    }
}

#[tokio::test]
async fn the_query_form_unregisters_any_token_and_names_a_missing_token_parameter() {
    let t = OwnedTenant::new("routes").await;
    let token = fcm_token(4);
    t.register(&token).await;
    let by_query = |query: Option<&str>| {
        let mut request = call("DELETE", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &t.tenant_id)
            .query("user_id", "u1")
            .bearer(&t.owner);
        if let Some(token) = query {
            request = request.query("token", token);
        }
        request.build()
    };
    let (status, body) = parts(&device_unregister::handle(&t.env.app, by_query(None)).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`token`"),
        "{body}"
    );
    let (status, body) =
        parts(&device_unregister::handle(&t.env.app, by_query(Some(&token))).await);
    assert_eq!((status, &body), (200, &json!({"deleted": true})));
    assert_eq!(t.tokens().await, Vec::<Value>::new());
}
