//! Helpers for unit tests of the function crates (feature `testing`).

use std::future::Future;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::app::App;
use crate::config::{Config, JwtRules, ProviderEndpoints, PurgeMode};

/// An `App` whose clients point nowhere reachable: for tests of paths that
/// must answer before any AWS call (credential and input checks). A test
/// that reaches AWS by mistake gets a 503, not a pass.
pub fn offline_app() -> App {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("offline", "offline", None, None, "offline"),
        ))
        .build();
    App::new(
        Config {
            table_name: "offline".to_owned(),
            signing_secret_id: "offline".to_owned(),
            jwt: JwtRules::default(),
            oidc: None,
            tenant_secret_prefix: "offline/".to_owned(),
            delivery_queue_url: None,
            delivery_dlq_url: None,
            tenant_purge: PurgeMode::Inline,
            delivery_max_receive_count: None,
            worker_tenant_share: None,
            max_tenants_per_org: crate::config::DEFAULT_MAX_TENANTS_PER_ORG,
            key_rate_limits: crate::config::KeyRateLimits::default(),
            tenant_limits: crate::model::EffectiveLimits::default(),
            providers: ProviderEndpoints::default(),
            metrics_namespace: crate::config::DEFAULT_METRICS_NAMESPACE.to_owned(),
            schedule_after_secs: crate::config::MAX_QUEUE_DELAY_SECS,
            webhooks: crate::config::WebhookSettings::default(),
            schedules: crate::config::ScheduleSettings::default(),
        },
        &sdk,
    )
}

/// Loads an API Gateway HTTP API event fixture as a `lambda_http::Request`.
pub fn request_from_event(json: &str) -> lambda_http::Request {
    match lambda_http::request::from_str(json) {
        Ok(request) => request,
        Err(err) => panic!("event fixture does not parse: {err}"),
    }
}

/// The request with one more header (test values are always valid header text).
pub fn with_header(
    mut request: lambda_http::Request,
    name: &'static str,
    value: &str,
) -> lambda_http::Request {
    match http::HeaderValue::from_str(value) {
        Ok(value) => {
            request.headers_mut().insert(name, value);
        }
        Err(err) => panic!("invalid test header value: {err}"),
    }
    request
}

/// The status and JSON body of a response.
pub fn status_and_json(
    response: &lambda_http::Response<lambda_http::Body>,
) -> (u16, serde_json::Value) {
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (response.status().as_u16(), body)
}

/// The checks every endpoint under `/tenants` makes before any AWS call:
/// its sample event without credentials answers 401 `unauthorized`, and
/// with a malformed `X-API-Key` 401 naming the header. `handle` is the
/// function's handler on an [`offline_app`], which answers 503 to any AWS
/// call: a 401 proves there was none.
pub async fn assert_credentials_checked_before_any_aws_call<F, Fut>(event: &str, handle: F)
where
    F: Fn(lambda_http::Request) -> Fut,
    Fut: Future<Output = lambda_http::Response<lambda_http::Body>>,
{
    let (status, body) = status_and_json(&handle(request_from_event(event)).await);
    assert_eq!(
        (status, &body["code"]),
        (401, &"unauthorized".into()),
        "{body}"
    );
    let malformed = with_header(
        request_from_event(event),
        "x-api-key",
        "msk_live_0000000000",
    );
    let (status, body) = status_and_json(&handle(malformed).await);
    assert_eq!(status, 401, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("X-API-Key"), "{body}");
}
