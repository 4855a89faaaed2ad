//! DynamoDB transaction conflicts on the tenant's item. Every device, batch,
//! key and verification transaction checks the tenant item, and the tenant's
//! own PATCH and DELETE write it: under a registration burst DynamoDB
//! refuses some of them (`TransactionCanceledException` with reason
//! `TransactionConflict`, or `TransactionConflictException` for a single
//! write; the emulator never does, so the tests refuse them). A short
//! conflict is retried and the request succeeds; a lasting one is 503 with
//! `Retry-After`, never a 500.

use aws_smithy_runtime_api::client::interceptors::context::Input;
use lambda_http::{Body, Request, Response};
use notify_shared::App;
use notify_tests::faults::{writes_sort_key, Conflicts};
use notify_tests::{call, parts, BulkRig};
use serde_json::json;

/// The tenant's item (SK `TENANT`), written or checked.
fn tenant_item(input: &Input) -> bool {
    writes_sort_key(input, "TENANT")
}

/// The tenant's paths that write or check its item, as the owner calls
/// them; DELETE last (it removes the tenant).
const PATHS: [&str; 5] = [
    "POST notify/bulk",
    "POST api-keys",
    "POST user-verification",
    "PATCH tenant",
    "DELETE tenant",
];

async fn request(rig: &BulkRig, app: &App, path: &str) -> Response<Body> {
    let tenant = |method: &str, route: &str| {
        call(method, route)
            .param("tenant_id", &rig.tenant_id)
            .bearer(&rig.owner)
    };
    let build = |call: notify_tests::Call| -> Request { call.build() };
    match path {
        "POST notify/bulk" => {
            let call = tenant("POST", "/tenants/{tenant_id}/notify/bulk")
                .json(json!({"user_ids": ["u1"], "alert": {"title": "Sale"}}));
            notify_bulk::handle(app, build(call)).await
        }
        "POST api-keys" => {
            let call = tenant("POST", "/tenants/{tenant_id}/api-keys")
                .json(json!({"name": "backend", "scopes": ["send"]}));
            api_key_create::handle(app, build(call)).await
        }
        "POST user-verification" => {
            let call = tenant("POST", "/tenants/{tenant_id}/user-verification");
            user_verification_create::handle(app, build(call)).await
        }
        "PATCH tenant" => {
            let call = tenant("PATCH", "/tenants/{tenant_id}").json(json!({"use_sandbox": true}));
            tenant_update::handle(app, build(call)).await
        }
        "DELETE tenant" => {
            let call = tenant("DELETE", "/tenants/{tenant_id}");
            tenant_delete::handle(app, build(call)).await
        }
        other => panic!("no path {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn short_transaction_conflicts_on_the_tenant_item_are_retried_on_every_path() {
    let rig = BulkRig::start().await;
    for path in PATHS {
        let conflicts = Conflicts::new(2, tenant_item);
        let app = rig.env.app_with(conflicts.clone());
        let (status, body) = parts(&request(&rig, &app, path).await);
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(conflicts.injected(), 2, "{path}: no conflict was injected");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lasting_transaction_conflicts_on_the_tenant_item_are_503_with_retry_after_never_500() {
    let rig = BulkRig::start().await;
    for path in PATHS {
        let conflicts = Conflicts::new(usize::MAX, tenant_item);
        let app = rig.env.app_with(conflicts.clone());
        let response = request(&rig, &app, path).await;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let (status, body) = parts(&response);
        assert!(
            status == 503 || status == 409,
            "{path}: a lasting conflict answered {status}: {body}"
        );
        assert!(
            retry_after.is_some_and(|secs| secs >= 1),
            "{path}: no Retry-After"
        );
        assert!(
            conflicts.injected() >= 2,
            "{path}: the conflict was not retried"
        );
        assert!(
            !body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("Transaction"),
            "{path}: the answer names internals: {body}"
        );
    }
    // Once the conflicts are over, the tenant (never deleted) works.
    let (status, body) = parts(&request(&rig, &rig.env.app, PATHS[0]).await);
    assert_eq!(status, 200, "after the conflicts: {body}");
}
