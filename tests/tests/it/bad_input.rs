//! Bad input on every endpoint: a clear 4xx naming the problem, never a 500,
//! and nothing stored.

use lambda_http::{Body, Request, Response};
use notify_shared::App;
use notify_tests::flows::{get_tenant_as, tenant_of, Devices};
use notify_tests::keys::{apns_p8, p384_key, rsa_pem, service_account, tenant_with_apns};
use notify_tests::{call, parts, TestEnv};
use serde_json::{json, Value};

async fn create(app: &App, token: &str, body: Vec<u8>) -> (u16, Value) {
    let request: Request = call("POST", "/tenants")
        .bearer(token)
        .header("content-type", "application/json")
        .raw_body(body)
        .build();
    let response: Response<Body> = tenant_create::handle(app, request).await;
    parts(&response)
}

fn assert_names(status: u16, body: &Value, expected_status: u16, code: &str, needle: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(needle),
        "detail {detail:?} should mention {needle:?}"
    );
}

#[tokio::test]
async fn tenant_creation_rejects_bad_bodies_naming_the_problem() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme"]);
    let with = |patch: Value| {
        let mut body = tenant_with_apns("acme");
        if let (Some(target), Some(fields)) = (body.as_object_mut(), patch.as_object()) {
            for (name, value) in fields {
                if value.is_null() {
                    target.remove(name);
                } else {
                    target.insert(name.clone(), value.clone());
                }
            }
        }
        body.to_string().into_bytes()
    };
    let mut cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"{".to_vec(), 400, "invalid_request", "malformed JSON"),
        (
            b"[1,2]".to_vec(),
            400,
            "invalid_request",
            "must be a JSON object",
        ),
        (
            b"".to_vec(),
            400,
            "invalid_request",
            "request body is required",
        ),
    ];
    let request_errors = [
        (json!({"use_sandbox": "yes"}), "`use_sandbox`"),
        (json!({"bundle_id": 42}), "`bundle_id`"),
        (json!({"privateKey": "x"}), "unknown field `privateKey`"),
        (json!({"team_id": null}), "`team_id`"),
        (json!({"bundle_id": "not a bundle"}), "`bundle_id`"),
    ];
    let pem = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n";
    let credential_errors = [
        (json!({"team_id": "short"}), "`team_id`"),
        (json!({"key_id": "lowercase1"}), "`key_id`"),
        (json!({"private_key": pem}), "`private_key`"),
        (json!({"private_key": p384_key()}), "P-256"),
        (json!({"private_key": rsa_pem()}), "`private_key`"),
    ];
    for (patch, needle) in request_errors {
        cases.push((with(patch), 400, "invalid_request", needle));
    }
    for (patch, needle) in credential_errors {
        cases.push((with(patch), 400, "invalid_credentials", needle));
    }
    cases.push((
        with(json!({"org_id": "has space"})),
        400,
        "invalid_request",
        "`org_id`",
    ));
    let fcm_errors = [
        (json!("not json"), "fcm_service_account"),
        (
            json!({"project_id": "my-app-123"}),
            "fcm_service_account.client_email",
        ),
        (
            json!({"project_id": "my-app-123", "client_email": "a@my-app-123.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token", "private_key": apns_p8()}),
            "RSA",
        ),
    ];
    for (account, needle) in fcm_errors {
        let patch = json!({ "fcm_service_account": account });
        cases.push((with(patch), 400, "invalid_credentials", needle));
    }
    cases.push((
        vec![b' '; 1024 * 1024 + 1],
        413,
        "payload_too_large",
        "1 MiB",
    ));
    for (body, status_expected, code, needle) in cases {
        let preview = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let (status, answer) = create(&env.app, &token, body).await;
        assert_eq!(status, status_expected, "{preview} -> {answer}");
        assert_names(status, &answer, status_expected, code, needle);
    }
    assert!(
        !env.table_dump().await.contains("TENANT#"),
        "a bad request stored a tenant"
    );
    assert_eq!(
        env.tenant_secret_count().await,
        0,
        "a bad request stored a tenant secret"
    );
}

#[tokio::test]
async fn a_service_account_given_as_a_json_string_is_accepted() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme"]);
    let body = json!({"org_id": "acme", "fcm_service_account": service_account("acme-android").to_string()});
    let (status, answer) = create(&env.app, &token, body.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["fcm_project_id"], "acme-android");
}

#[tokio::test]
async fn updates_and_keys_reject_bad_bodies_and_leave_data_intact() {
    let env = TestEnv::new().await;
    let (tenant_id, token) = tenant_of(&env, "alice", "acme").await;
    let patch = |body: &[u8]| {
        call("PATCH", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&token)
            .raw_body(body.to_vec())
            .build()
    };
    for (body, needle) in [
        (&b"{}"[..], "nothing to update"),
        (br#"{"org_id":"other"}"#, "unknown field `org_id`"),
        (br#"{"use_sandbox":1}"#, "`use_sandbox`"),
        (br#"{"fcm_service_account":[]}"#, "fcm_service_account"),
        (b"null", "must be a JSON object"),
    ] {
        let (status, answer) = parts(&tenant_update::handle(&env.app, patch(body)).await);
        assert!(
            status == 400,
            "{} -> {answer}",
            String::from_utf8_lossy(body)
        );
        assert!(
            answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{answer}"
        );
    }
    let (_, tenant) = get_tenant_as(&env.app, &token, &tenant_id).await;
    assert_eq!(tenant["use_sandbox"], true);
    assert_eq!(tenant["apns_configured"], true);

    let (status, answer) = parts(
        &api_key_create::handle(
            &env.app,
            call("POST", "/tenants/{tenant_id}/api-keys")
                .param("tenant_id", &tenant_id)
                .bearer(&token)
                .raw_body(br#"{"name": 7}"#.to_vec())
                .build(),
        )
        .await,
    );
    assert_names(status, &answer, 400, "invalid_request", "`name`");
    let traversal = call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
        .param("tenant_id", &tenant_id)
        .param("key_id", "../../etc")
        .bearer(&token);
    let (status, answer) = parts(&api_key_delete::handle(&env.app, traversal.build()).await);
    assert_eq!(status, 404, "{answer}");
}

/// `collapse_id` travels as the `apns-collapse-id` header: a value no header
/// can carry is refused at the request, by single and bulk sends alike (a
/// bulk send used to queue it and fail later, in the worker, for every
/// APNs device; a single send to a user without APNs devices accepted it).
#[tokio::test]
async fn a_collapse_id_that_no_http_header_can_carry_is_refused_at_the_request() {
    let env = TestEnv::new().await;
    let (tenant_id, token) = tenant_of(&env, "alice", "acme").await;
    let by_owner = Devices::user(&env, &token, &tenant_id);
    for collapse_id in ["caf\u{e9}", "line\nbreak", "tab\there"] {
        let send = json!({"user_id": "nobody", "badge": 1, "collapse_id": collapse_id});
        let (status, answer) = by_owner.notify(send).await;
        assert_names(status, &answer, 400, "invalid_request", "`collapse_id`");
        let bulk = json!({"user_ids": ["nobody"], "badge": 1, "collapse_id": collapse_id});
        let (status, answer) = by_owner.bulk(bulk).await;
        assert_names(status, &answer, 400, "invalid_request", "`collapse_id`");
    }
}

/// openapi.yaml counts an `org_id` in characters, as JSON Schema does: 128
/// characters outside ASCII are a valid org id, not a 400.
#[tokio::test]
async fn an_org_id_of_128_characters_outside_ascii_is_accepted() {
    let env = TestEnv::new().await;
    let org = "\u{e9}".repeat(128);
    let token = env.user_token("alice", &[&org]);
    let (status, body) = create(
        &env.app,
        &token,
        json!({ "org_id": org }).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["org_id"], org.as_str());
    let (status, body) = create(
        &env.app,
        &token,
        json!({ "org_id": "\u{e9}".repeat(129) })
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_names(status, &body, 400, "invalid_request", "`org_id`");
}

/// An API key `name` is at most 100 characters as sent; surrounding white
/// space does not buy more.
#[tokio::test]
async fn an_api_key_name_over_100_characters_as_sent_is_refused() {
    let env = TestEnv::new().await;
    let (tenant_id, token) = tenant_of(&env, "alice", "acme").await;
    let create_key = |name: String| {
        call("POST", "/tenants/{tenant_id}/api-keys")
            .param("tenant_id", &tenant_id)
            .bearer(&token)
            .json(json!({ "name": name }))
            .build()
    };
    let padded = format!(" {} ", "k".repeat(99));
    let (status, answer) =
        parts(&api_key_create::handle(&env.app, create_key(padded.clone())).await);
    assert_names(status, &answer, 400, "invalid_request", "`name`");
    let (status, answer) =
        parts(&api_key_create::handle(&env.app, create_key(padded.trim().to_owned())).await);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["name"], "k".repeat(99));
}

/// JSON does not tell `2` from `2.0`, nor does the `integer` of openapi.yaml:
/// a whole number written with a fraction is the same badge and lifetime.
#[tokio::test]
async fn a_badge_and_ttl_written_as_whole_numbers_with_a_fraction_are_accepted() {
    let env = TestEnv::new().await;
    let (tenant_id, token) = tenant_of(&env, "alice", "acme").await;
    let by_owner = Devices::user(&env, &token, &tenant_id);
    let whole = json!({"user_id": "nobody", "badge": 2.0, "ttl_seconds": 60.0});
    let (status, answer) = by_owner.notify(whole).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"], "no devices registered for user");
    let (status, answer) = by_owner
        .notify(json!({"user_id": "nobody", "badge": 2.5}))
        .await;
    assert_names(status, &answer, 400, "invalid_request", "`badge`");
}
