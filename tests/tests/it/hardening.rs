//! Edges that must stay 4xx, and sends that must not run twice: request
//! bodies that are not UTF-8, tenant paths that are no tenant id, and an
//! `Idempotency-Key` whose answer could not be stored.

use base64::Engine as _;
use lambda_http::{Body, Request, Response};
use notify_shared::auth::api_key;
use notify_shared::service::delivery::Delivery;
use notify_shared::App;
use notify_tests::faults::{DynamoDbFault, DynamoDbKeys, Target};
use notify_tests::flows::tenant_of;
use notify_tests::flows::tenant_with_key;
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{call, parts, Call, TestEnv};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Bodies that are not UTF-8
// ---------------------------------------------------------------------------

/// Every POST and PATCH handler with a JSON body, by its event fixture.
const BODY_ENDPOINTS: &[(&str, &str)] = &[
    (
        "tenant-create",
        include_str!("../../../events/tenant-create.json"),
    ),
    (
        "tenant-update",
        include_str!("../../../events/tenant-update.json"),
    ),
    (
        "api-key-create",
        include_str!("../../../events/api-key-create.json"),
    ),
    (
        "device-register",
        include_str!("../../../events/device-register.json"),
    ),
    (
        "notify-send",
        include_str!("../../../events/notify-send.json"),
    ),
    (
        "notify-bulk",
        include_str!("../../../events/notify-bulk.json"),
    ),
    (
        "topic-subscribe",
        include_str!("../../../events/topic-subscribe.json"),
    ),
];

/// The fixture event as API Gateway delivers a body that is not UTF-8:
/// base64-encoded with `isBase64Encoded: true`, the client's JSON
/// `Content-Type` kept, on `tenant_id`'s path, with a user token.
fn binary_body_event(fixture: &str, body: &[u8], tenant_id: &str, token: &str) -> Request {
    let mut event: Value =
        serde_json::from_str(fixture).unwrap_or_else(|err| panic!("fixture: {err}"));
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    event["headers"]["content-type"] = json!("application/json");
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    if event.get("pathParameters").is_some() {
        event["pathParameters"]["tenant_id"] = json!(tenant_id);
    }
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|err| panic!("event does not parse: {err}"))
}

async fn dispatch(app: &App, delivery: &Delivery, name: &str, req: Request) -> Response<Body> {
    match name {
        "tenant-create" => tenant_create::handle(app, req).await,
        "tenant-update" => tenant_update::handle(app, req).await,
        "api-key-create" => api_key_create::handle(app, req).await,
        "device-register" => device_register::handle(app, req).await,
        "notify-send" => notify_send::handle(app, delivery, req).await,
        "notify-bulk" => notify_bulk::handle(app, req).await,
        "topic-subscribe" => topic_subscribe::handle(app, req).await,
        other => panic!("no handler for {other}"),
    }
}

#[tokio::test]
async fn a_request_body_that_is_not_utf8_is_400_naming_the_body_on_every_post_and_patch() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant_of(&env, "owner", "acme").await;
    let delivery = env.delivery();
    let bodies: [&[u8]; 2] = [b"y\xff]", b"{\"org_id\": \"\xff\", \"user_id\": \"u\xc3\"}"];
    for (name, fixture) in BODY_ENDPOINTS {
        for body in bodies {
            let req = binary_body_event(fixture, body, &tenant_id, &owner);
            let (status, answer) = parts(&dispatch(&env.app, &delivery, name, req).await);
            assert_eq!(status, 400, "{name} {body:?}: {answer}");
            assert_eq!(answer["code"], "invalid_request", "{name}: {answer}");
            let detail = answer["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("UTF-8 JSON"), "{name}: {answer}");
        }
    }
}

// ---------------------------------------------------------------------------
// Tenant paths that are no tenant id
// ---------------------------------------------------------------------------

/// Path values made to splice another item's key into the tenant's.
fn spliced_tenant_ids(real: &str) -> Vec<String> {
    vec![
        format!("{real}#USER#u1"),
        format!("x#TENANT#{real}"),
        format!("TENANT#{real}"),
        "APIKEY#0000".to_owned(),
    ]
}

/// The API-key endpoints, as requests on `tenant_id`.
fn key_endpoints(tenant_id: &str) -> Vec<(&'static str, Call)> {
    vec![
        (
            "device-list",
            call("GET", "/tenants/{tenant_id}/devices")
                .param("tenant_id", tenant_id)
                .query("user_id", "u1"),
        ),
        (
            "device-register",
            call("POST", "/tenants/{tenant_id}/devices")
                .param("tenant_id", tenant_id)
                .json(json!({"user_id": "u1", "token": format!("{:064x}", 1), "platform": "ios"})),
        ),
        (
            "notify-send",
            call("POST", "/tenants/{tenant_id}/notify")
                .param("tenant_id", tenant_id)
                .json(json!({"user_id": "u1", "badge": 1})),
        ),
        (
            "tenant-update",
            call("PATCH", "/tenants/{tenant_id}")
                .param("tenant_id", tenant_id)
                .json(json!({"use_sandbox": false})),
        ),
    ]
}

async fn dispatch_call(app: &App, delivery: &Delivery, name: &str, request: Call) -> (u16, Value) {
    let req = request.build();
    let response = match name {
        "device-list" => device_list::handle(app, req).await,
        "device-register" => device_register::handle(app, req).await,
        "notify-send" => notify_send::handle(app, delivery, req).await,
        "tenant-update" => tenant_update::handle(app, req).await,
        other => panic!("no handler for {other}"),
    };
    parts(&response)
}

#[tokio::test]
async fn an_api_key_on_an_overlong_tenant_path_is_forbidden_not_a_server_error() {
    let env = TestEnv::new().await;
    let (tenant_id, owner, key) = tenant_with_key(&env, "owner", "acme", "backend").await;
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let unknown = api_key::generate();
    let delivery = env.delivery();
    // DynamoDB refuses keys over its size limits; the emulator does not.
    let app = env.app_with(DynamoDbKeys::default());
    let overlong = [
        format!("tnt_{}", "A".repeat(3000)),
        format!("{tenant_id}{}", "x".repeat(2100)),
    ];
    for (name, request) in overlong.iter().flat_map(|path| key_endpoints(path)) {
        let (status, body) =
            dispatch_call(&app, &delivery, name, request.clone().api_key(&key)).await;
        assert_eq!(status, 403, "{name}: {body}");
        assert_eq!(body["code"], "forbidden", "{name}: {body}");
        let (status, body) = dispatch_call(
            &app,
            &delivery,
            name,
            request.clone().api_key(unknown.plain.expose_secret()),
        )
        .await;
        assert_eq!(status, 401, "{name} with an unknown key: {body}");
        let (status, body) = dispatch_call(&app, &delivery, name, request.bearer(&owner)).await;
        assert_eq!(status, 404, "{name} with a user token: {body}");
    }
}

#[tokio::test]
async fn an_api_key_on_a_tenant_path_spliced_with_key_separators_is_forbidden() {
    let env = TestEnv::new().await;
    let (tenant_id, _owner, key) = tenant_with_key(&env, "owner", "acme", "backend").await;
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let delivery = env.delivery();
    let keys = DynamoDbKeys::default();
    let app = env.app_with(keys.clone());
    for bogus in spliced_tenant_ids(&tenant_id) {
        for (name, request) in key_endpoints(&bogus) {
            let (status, body) = dispatch_call(&app, &delivery, name, request.api_key(&key)).await;
            assert_eq!(status, 403, "{name} on {bogus:.60}: {body}");
            let text = body.to_string();
            assert!(
                !text.contains(&tenant_id),
                "{name} leaked the tenant: {text}"
            );
        }
        // The path never became (part of) a tenant's DynamoDB key.
        let tenant_key = format!("TENANT#{bogus}");
        let spliced: Vec<String> = keys
            .seen()
            .into_iter()
            .filter(|value| value.contains(&tenant_key))
            .collect();
        assert!(
            spliced.is_empty(),
            "{bogus:.60} reached DynamoDB: {spliced:.200?}"
        );
    }
    // Nothing was registered or changed under any of those paths.
    let dump = env.table_dump().await;
    assert!(!dump.contains("#USER#u1\""), "{dump}");
    assert!(!dump.contains("DEVICE#"), "{dump}");
}

// ---------------------------------------------------------------------------
// Idempotent sends whose answer could not be stored
// ---------------------------------------------------------------------------

const KEY: &str = "order-1042-shipped";

type SendRig = SimTenant;

/// A tenant at the simulator with one iPhone of `u1`.
async fn send_rig() -> SendRig {
    let rig = SimTenant::start().await;
    rig.register("u1", &format!("{:064x}", 7), "ios").await;
    rig
}

trait EndLeases {
    /// Ends the lease of every idempotency record of the tenant, as if the
    /// first request had started long ago.
    async fn end_leases(&self);
}

impl EndLeases for SimTenant {
    async fn end_leases(&self) {
        let records = self
            .env
            .dynamodb
            .query()
            .table_name(&self.env.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :sk)")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{}", self.tenant_id)),
            )
            .expression_attribute_values(
                ":sk",
                aws_sdk_dynamodb::types::AttributeValue::S("IDEMPOTENCY#".to_owned()),
            )
            .send()
            .await
            .unwrap_or_else(|err| panic!("querying idempotency records: {err}"));
        let past = chrono::Utc::now().timestamp() - 600;
        for item in records.items() {
            let key = item
                .iter()
                .filter(|(name, _)| *name == "PK" || *name == "SK")
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            self.env
                .dynamodb
                .update_item()
                .table_name(&self.env.table)
                .set_key(Some(key))
                .update_expression("SET lease_until = :past")
                .expression_attribute_values(
                    ":past",
                    aws_sdk_dynamodb::types::AttributeValue::N(past.to_string()),
                )
                .send()
                .await
                .unwrap_or_else(|err| panic!("ending the lease: {err}"));
        }
        assert!(records.count() > 0, "no idempotency record to end");
    }
}

#[tokio::test]
async fn a_send_whose_answer_failed_to_store_once_is_replayed_and_never_sent_again() {
    let rig = send_rig().await;
    let fault = DynamoDbFault::new(Target::IdempotencyCompletion, 1);
    let app = rig.env.app_with(fault.clone());
    let (status, _, first) = rig.keyed_send(&app, KEY).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(fault.injected(), 1, "the completion write was not failed");
    assert_eq!(rig.pushes().await, 1);
    // Replays, before and after the first request's lease, get its answer.
    let (status, _, again) = rig.keyed_send(&app, KEY).await;
    assert_eq!((status, &again), (200, &first));
    rig.end_leases().await;
    for _ in 0..3 {
        let (status, _, again) = rig.keyed_send(&app, KEY).await;
        assert_eq!((status, &again), (200, &first));
    }
    assert_eq!(rig.pushes().await, 1, "a replay sent the push again");
}

#[tokio::test]
async fn a_send_whose_answer_was_never_stored_is_not_run_again_after_its_lease() {
    let rig = send_rig().await;
    let fault = DynamoDbFault::new(Target::IdempotencyCompletion, usize::MAX);
    let app = rig.env.app_with(fault.clone());
    let (status, _, first) = rig.keyed_send(&app, KEY).await;
    assert_eq!(status, 200, "the caller still gets its answer: {first}");
    assert!(
        fault.injected() >= 2,
        "the completion write was not retried"
    );
    assert_eq!(rig.pushes().await, 1);
    fault.heal();
    // While the first request's lease runs: in progress, retry shortly.
    let (status, headers, text) = rig.keyed_send(&app, KEY).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("idempotency_in_progress"), "{text}");
    assert!(headers.get("retry-after").is_some());
    // Once it has ended: the outcome is unknown, and nothing runs again.
    rig.end_leases().await;
    for _ in 0..3 {
        let (status, headers, text) = rig.keyed_send(&app, KEY).await;
        assert_eq!(status, 409, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(answer["code"], "idempotency_outcome_unknown", "{text}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("may have been delivered"), "{detail}");
        assert!(detail.contains("new `Idempotency-Key`"), "{detail}");
        assert!(
            headers.get("retry-after").is_none(),
            "retrying will not help"
        );
    }
    assert_eq!(rig.pushes().await, 1, "a replay sent the push again");
    // A new key is a new send.
    let (status, _, text) = rig.keyed_send(&app, "order-1042-shipped-again").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(rig.pushes().await, 2);
}

#[tokio::test]
async fn a_send_that_failed_before_sending_anything_runs_again_with_the_same_key() {
    let rig = send_rig().await;
    // Listing the user's devices fails: nothing was sent, the claim is released.
    let fault = DynamoDbFault::new(Target::Query, 1);
    let app = rig.env.app_with(fault.clone());
    let (status, _, text) = rig.keyed_send(&app, KEY).await;
    assert!(status >= 500, "{status}: {text}");
    assert_eq!(fault.injected(), 1);
    assert_eq!(rig.pushes().await, 0);
    let (status, _, text) = rig.keyed_send(&app, KEY).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(rig.pushes().await, 1);
}
