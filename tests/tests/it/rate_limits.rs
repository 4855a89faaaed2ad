//! Per-key rate limits (issue 20): every answer to an API key carries the
//! IETF `RateLimit-Policy` / `RateLimit` fields; over its rate a key gets
//! 429 `rate_limited` with `Retry-After`, nothing of the request done, and
//! recovers once that time has passed. Counting and limiting cost one
//! DynamoDB write per admitted request, and a throttled flood almost none.
//!
//! The limiter and the usage hours run on a manual clock here: the tests
//! set the second and the hour instead of racing the wall clock, so a slow
//! machine cannot change what they see.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::{Body, Response};
use notify_shared::clock::{now_unix_secs, Clock};
use notify_shared::App;
use notify_tests::faults::app_with;
use notify_tests::flows::{assert_error, tenant_with_key};
use notify_tests::hooks::{operation_name, Hooked, Hooks};
use notify_tests::{call, parts, Call, TestEnv};
use serde_json::{json, Value};

struct Tenant {
    env: TestEnv,
    owner: String,
    tenant_id: String,
    /// The time of `app`'s limiter and usage hours.
    clock: Clock,
    /// A container on `clock`.
    app: App,
}

impl Tenant {
    async fn new(org: &str) -> Self {
        let env = TestEnv::new().await;
        let (tenant_id, owner, _) =
            tenant_with_key(&env, &format!("owner-{org}"), org, "first").await;
        let clock = mid_hour();
        let app =
            app_with(&env, env.dynamodb.clone(), env.secrets.clone()).with_clock(clock.clone());
        Self {
            env,
            owner,
            tenant_id,
            clock,
            app,
        }
    }

    async fn create_key(&self, body: Value) -> (u16, Value) {
        let request = call("POST", "/tenants/{tenant_id}/api-keys")
            .param("tenant_id", &self.tenant_id)
            .bearer(&self.owner)
            .json(body);
        parts(&api_key_create::handle(&self.env.app, request.build()).await)
    }

    /// A key named `name` of `rate_limit`: (key, key id).
    async fn key_and_id(&self, name: &str, rate_limit: u32) -> (String, String) {
        let (status, created) = self
            .create_key(json!({"name": name, "rate_limit": rate_limit}))
            .await;
        assert_eq!(status, 200, "{created}");
        let text = |field: &str| created[field].as_str().unwrap_or_default().to_owned();
        (text("key"), text("key_id"))
    }

    async fn key(&self, rate_limit: u32) -> String {
        let (status, created) = self
            .create_key(json!({"name": "limited", "rate_limit": rate_limit}))
            .await;
        assert_eq!(status, 200, "{created}");
        assert_eq!(created["rate_limit"], rate_limit, "{created}");
        created["key"].as_str().unwrap_or_default().to_owned()
    }

    fn list_devices(&self) -> Call {
        call("GET", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &self.tenant_id)
            .query("user_id", "u1")
    }

    fn register(&self, token: &str) -> Call {
        call("POST", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &self.tenant_id)
            .json(json!({"token": token.repeat(20), "platform": "android", "user_id": "u1"}))
    }
}

fn header(response: &Response<Body>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A manual clock at the start of a second in the middle of the current
/// hour: far from an hour's edge, and the usage items' TTL stays real.
fn mid_hour() -> Clock {
    let now = now_unix_secs();
    Clock::manual(now - now % 3_600 + 1_800)
}

#[tokio::test]
async fn every_answer_to_an_api_key_carries_its_rate_limit_fields_and_user_tokens_none() {
    let tenant = Tenant::new("fields").await;
    let (status, created) = tenant.create_key(json!({"name": "default"})).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        created["rate_limit"], 50,
        "the deployment's default: {created}"
    );
    let key = created["key"].as_str().unwrap_or_default();

    let response =
        device_list::handle(&tenant.env.app, tenant.list_devices().api_key(key).build()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "ratelimit-policy"), "\"key\";q=50;w=1");
    assert_eq!(header(&response, "ratelimit"), "\"key\";r=49;t=1");

    // A refusal after authentication carries them too (scope, management).
    let register_only = tenant
        .create_key(json!({"name": "app", "scopes": ["register"], "rate_limit": 7}))
        .await
        .1;
    let register_only = register_only["key"].as_str().unwrap_or_default();
    let response = device_list::handle(
        &tenant.env.app,
        tenant.list_devices().api_key(register_only).build(),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "ratelimit-policy"), "\"key\";q=7;w=1");
    let keys = call("GET", "/tenants/{tenant_id}/api-keys").param("tenant_id", &tenant.tenant_id);
    let response = api_key_list::handle(&tenant.env.app, keys.clone().api_key(key).build()).await;
    assert_eq!(response.status(), 403);
    assert!(
        header(&response, "ratelimit").starts_with("\"key\";r="),
        "{:?}",
        response.headers()
    );

    // User tokens are not rate limited per key: no fields.
    let response = api_key_list::handle(&tenant.env.app, keys.bearer(&tenant.owner).build()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "ratelimit-policy"), "");
    let (_, list) = parts(&response);
    let mut limits: Vec<u64> = list["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key["rate_limit"].as_u64())
        .collect();
    limits.sort_unstable();
    assert_eq!(limits, [7, 50, 50], "{list}");
}

#[tokio::test]
async fn a_rate_limit_outside_one_to_the_deployment_maximum_is_refused_naming_it() {
    let tenant = Tenant::new("bounds").await;
    let max = tenant.env.app.config.key_rate_limits.max;
    for refused in [
        json!(0),
        json!(max + 1),
        json!(-1),
        json!("fast"),
        json!(2.5),
    ] {
        let (status, body) = tenant
            .create_key(json!({"name": "k", "rate_limit": refused}))
            .await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert_eq!(body["code"], "invalid_request", "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("rate_limit"),
            "{body}"
        );
    }
    let (status, body) = tenant
        .create_key(json!({"name": "k", "rate_limit": max}))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_burst_over_a_key_s_limit_gets_429s_with_the_fields_does_nothing_and_recovers_after_retry_after(
) {
    let tenant = Tenant::new("burst").await;
    let key = tenant.key(3).await;
    let app = &tenant.app;
    for remaining in [2, 1, 0] {
        let response = device_list::handle(app, tenant.list_devices().api_key(&key).build()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-policy"), "\"key\";q=3;w=1");
        assert_eq!(
            header(&response, "ratelimit"),
            format!("\"key\";r={remaining};t=1")
        );
    }
    // The fourth request of the second: refused before anything is done.
    let response = device_register::handle(
        app,
        tenant.register("throttled_token_").api_key(&key).build(),
    )
    .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = header(&response, "retry-after").parse().unwrap_or(0);
    assert_eq!(retry_after, 1, "{:?}", response.headers());
    assert_eq!(header(&response, "ratelimit-policy"), "\"key\";q=3;w=1");
    assert_eq!(
        header(&response, "ratelimit"),
        format!("\"key\";r=0;t={retry_after}")
    );
    let (_, body) = parts(&response);
    assert_eq!(body["code"], "rate_limited", "{body}");
    // Another container (no note on the key) is refused by the item too.
    let other = app_with(
        &tenant.env,
        tenant.env.dynamodb.clone(),
        tenant.env.secrets.clone(),
    )
    .with_clock(tenant.clock.clone());
    let response = device_list::handle(&other, tenant.list_devices().api_key(&key).build()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), "1");

    tenant.clock.advance(Duration::from_secs(retry_after));
    let devices = || tenant.list_devices().bearer(&tenant.owner).build();
    let (_, listed) = parts(&device_list::handle(app, devices()).await);
    assert_eq!(
        listed["devices"],
        json!([]),
        "the throttled registration did nothing: {listed}"
    );
    let response = device_register::handle(
        app,
        tenant.register("throttled_token_").api_key(&key).build(),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", parts(&response));
    assert_eq!(header(&response, "ratelimit"), "\"key\";r=2;t=1");
    let (_, listed) = parts(&device_list::handle(app, devices()).await);
    assert_eq!(
        listed["devices"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}

/// DynamoDB writes by operation name.
#[derive(Debug, Clone, Default)]
struct Writes(Arc<Mutex<HashMap<String, usize>>>);

impl Writes {
    fn total(&self) -> usize {
        let counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.values().sum()
    }

    fn app(&self, env: &TestEnv, clock: &Clock) -> App {
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&env.sdk)
                .interceptor(self.clone())
                .build(),
        );
        app_with(env, dynamodb, env.secrets.clone()).with_clock(clock.clone())
    }
}

impl Hooks for Writes {
    fn before_serialization(&self, _input: &Input, bag: &mut ConfigBag) -> Hooked {
        let name = operation_name(bag).unwrap_or_default().to_owned();
        if [
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "TransactWriteItems",
        ]
        .contains(&name.as_str())
        {
            let mut counts = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *counts.entry(name).or_default() += 1;
        }
        Ok(())
    }
}

notify_tests::intercept_with_hooks!(Writes);

#[tokio::test]
async fn metering_costs_one_write_per_admitted_request_and_a_throttled_flood_almost_none() {
    let tenant = Tenant::new("writes").await;
    let key = tenant.key(5).await;
    let writes = Writes::default();
    let app = writes.app(&tenant.env, &tenant.clock);
    // The key's first use also refreshes `last_used_at` (two writes, once an hour).
    let response = device_list::handle(&app, tenant.list_devices().api_key(&key).build()).await;
    assert_eq!(response.status(), 200);
    tenant.clock.advance(Duration::from_secs(1));
    let before = writes.total();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let response = device_list::handle(&app, tenant.list_devices().api_key(&key).build()).await;
        statuses.push(response.status().as_u16());
    }
    // All 40 in one second: the key's 5, then refusals.
    let mut expected = vec![200; 5];
    expected.resize(40, 429);
    assert_eq!(statuses, expected);
    let spent = writes.total() - before;
    println!("40 requests (5 admitted, 35 throttled in one second): {spent} DynamoDB writes");
    // One write per admitted request, and one failed conditional write for
    // the second of throttling (the request that found the window full);
    // the tenant's keys together stay within its rate, so no lease.
    assert!(spent <= 5 + 1, "{spent} writes for {statuses:?}");
}

/// The current hour's bucket of a key's usage, read by the tenant's owner.
async fn this_hour(tenant: &Tenant, key_id: &str) -> Value {
    let request = call("GET", "/tenants/{tenant_id}/api-keys/{key_id}/usage")
        .param("tenant_id", &tenant.tenant_id)
        .param("key_id", key_id)
        .bearer(&tenant.owner);
    let (status, usage) = parts(&api_key_usage::handle(&tenant.app, request.build()).await);
    assert_eq!(status, 200, "{usage}");
    assert_eq!(usage["period"], "hour", "{usage}");
    assert_eq!(
        usage["buckets"].as_array().map(Vec::len),
        Some(48),
        "{usage}"
    );
    usage["buckets"][47].clone()
}

#[tokio::test]
async fn usage_counts_exactly_the_requests_refusals_and_throttles_of_a_scripted_sequence() {
    let tenant = Tenant::new("usage").await;
    let app = &tenant.app;
    let (key, key_id) = tenant.key_and_id("scripted", 100).await;
    for _ in 0..3 {
        let response = device_list::handle(app, tenant.list_devices().api_key(&key).build()).await;
        assert_eq!(response.status(), 200);
    }
    let bad_token = tenant.register("x").api_key(&key).build();
    assert_eq!(device_register::handle(app, bad_token).await.status(), 400);
    let keys = call("GET", "/tenants/{tenant_id}/api-keys").param("tenant_id", &tenant.tenant_id);
    assert_eq!(
        api_key_list::handle(app, keys.api_key(&key).build())
            .await
            .status(),
        403
    );
    // The key's next request carries the refusals' counts.
    let response = device_list::handle(app, tenant.list_devices().api_key(&key).build()).await;
    assert_eq!(response.status(), 200);
    let bucket = this_hour(&tenant, &key_id).await;
    let counts = |bucket: &Value| {
        [
            "requests",
            "rejected",
            "throttled",
            "pushes",
            "pushes_failed",
        ]
        .map(|name| bucket[name].as_u64().unwrap_or(99))
    };
    assert_eq!(counts(&bucket), [6, 2, 0, 0, 0], "{bucket}");

    // A key of one request per second, three times in one second, then once more.
    let (slow, slow_id) = tenant.key_and_id("slow", 1).await;
    tenant.clock.advance(Duration::from_secs(1));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = device_list::handle(app, tenant.list_devices().api_key(&slow).build()).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 429, 429]);
    tenant.clock.advance(Duration::from_secs(1));
    let response = device_list::handle(app, tenant.list_devices().api_key(&slow).build()).await;
    assert_eq!(response.status(), 200);
    let bucket = this_hour(&tenant, &slow_id).await;
    assert_eq!(counts(&bucket), [4, 2, 2, 0, 0], "{bucket}");
    // The other key's counts are its own.
    assert_eq!(counts(&this_hour(&tenant, &key_id).await), [6, 2, 0, 0, 0]);

    // The key list sums the last 24 hours; nothing here is unusual.
    let keys = call("GET", "/tenants/{tenant_id}/api-keys")
        .param("tenant_id", &tenant.tenant_id)
        .bearer(&tenant.owner);
    let (_, list) = parts(&api_key_list::handle(app, keys.build()).await);
    let listed = |key_id: &str| {
        list["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|key| key["key_id"] == key_id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(listed(&key_id)["requests_24h"], 6, "{list}");
    assert_eq!(listed(&slow_id)["requests_24h"], 4, "{list}");
    assert_eq!(listed(&key_id)["unusual_activity"], false, "{list}");

    // The tenant's totals: both keys (the key made by `Tenant::new` was not used).
    let tenant_usage = || async {
        let request = call("GET", "/tenants/{tenant_id}/usage")
            .param("tenant_id", &tenant.tenant_id)
            .query("period", "day")
            .bearer(&tenant.owner);
        let (status, usage) = parts(&tenant_usage::handle(app, request.build()).await);
        assert_eq!(status, 200, "{usage}");
        usage
    };
    let usage = tenant_usage().await;
    assert_eq!(
        usage["buckets"].as_array().map(Vec::len),
        Some(90),
        "{usage}"
    );
    assert_eq!(counts(&usage["buckets"][89]), [10, 4, 2, 0, 0], "{usage}");

    // A deleted key's requests stay in the tenant's totals.
    let delete = call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
        .param("tenant_id", &tenant.tenant_id)
        .param("key_id", &slow_id)
        .bearer(&tenant.owner);
    let (status, body) = parts(&api_key_delete::handle(app, delete.build()).await);
    assert_eq!(status, 200, "{body}");
    let usage = tenant_usage().await;
    assert_eq!(counts(&usage["buckets"][89]), [10, 4, 2, 0, 0], "{usage}");
}

#[tokio::test]
async fn a_silent_key_s_held_refusal_reaches_the_store_with_the_containers_next_answer() {
    let tenant = Tenant::new("held").await;
    let app = &tenant.app;
    let (silent, silent_id) = tenant.key_and_id("goes-silent", 100).await;
    let other = tenant.key(100).await;
    // Two requests a second apart (a busy key), then a 400 whose count is
    // held for the key's next request, which never comes.
    let response = device_list::handle(app, tenant.list_devices().api_key(&silent).build()).await;
    assert_eq!(response.status(), 200);
    tenant.clock.advance(Duration::from_secs(1));
    let bad_token = tenant.register("x").api_key(&silent).build();
    assert_eq!(device_register::handle(app, bad_token).await.status(), 400);
    let counts = |bucket: &Value| ["requests", "rejected"].map(|name| bucket[name].as_u64());
    assert_eq!(
        counts(&this_hour(&tenant, &silent_id).await),
        [Some(2), Some(0)],
        "the refusal is held"
    );
    // Ten seconds on, another key's answer writes it.
    tenant.clock.advance(Duration::from_secs(10));
    let response = device_list::handle(app, tenant.list_devices().api_key(&other).build()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        counts(&this_hour(&tenant, &silent_id).await),
        [Some(2), Some(1)]
    );
}

#[tokio::test]
async fn usage_of_a_key_of_another_tenant_or_an_unknown_period_is_refused() {
    let tenant = Tenant::new("usage-refused").await;
    let other = Tenant::new("usage-other").await;
    let (_, created) = other.create_key(json!({"name": "theirs"})).await;
    let theirs = created["key_id"].as_str().unwrap_or_default();
    let usage = |key_id: &str, period: &str| {
        call("GET", "/tenants/{tenant_id}/api-keys/{key_id}/usage")
            .param("tenant_id", &tenant.tenant_id)
            .param("key_id", key_id)
            .query("period", period)
            .bearer(&tenant.owner)
            .build()
    };
    let (status, body) =
        parts(&api_key_usage::handle(&tenant.env.app, usage(theirs, "hour")).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (_, created) = tenant.create_key(json!({"name": "mine"})).await;
    let mine = created["key_id"].as_str().unwrap_or_default();
    let (status, body) = parts(&api_key_usage::handle(&tenant.env.app, usage(mine, "week")).await);
    let detail = assert_error((status, &body), 400, "invalid_request");
    assert!(detail.contains("period"), "{body}");
    let (status, body) = parts(&api_key_usage::handle(&tenant.env.app, usage(mine, "day")).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["buckets"].as_array().map(Vec::len), Some(90), "{body}");
}
