//! A `register` key registers only for users its tenant's backend signed
//! (N3), the tenant says whether that is on, the secret is read once per
//! rotation (N11), and turning verification on and off never leaves the
//! flag without its secret (N13).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_types::config_bag::ConfigBag;
use notify_shared::secrets::Secrets;
use notify_shared::App;
use notify_tests::delivery::ios_token;
use notify_tests::faults::Faults;
use notify_tests::flows::tenant_secret_id;
use notify_tests::flows::{
    assert_error, device, get_tenant, signed_device, As, Devices, OwnedTenant,
};
use notify_tests::hooks::{Hooked, Hooks};
use notify_tests::{call, parts};
use serde_json::{json, Value};

use crate::register_scope::{
    key_with, owner_of, secret_of, signature, signed_for, tenant_secret_text, turn_off, turn_on,
};

#[tokio::test]
async fn an_extracted_register_key_of_a_tenant_without_user_verification_registers_no_one() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let before = acme.env.table_dump().await;
    let by_key = Devices::key(&acme.env, &key, &acme.tenant_id);
    for user in ["alice@example.com", "bob"] {
        let body = signed_device(user, &ios_token(7), &"ab".repeat(32));
        let (status, body) = by_key.register(body).await;
        let detail = assert_error((status, &body), 403, "user_verification_required");
        assert!(
            detail.contains(&format!(
                "POST /tenants/{}/user-verification",
                acme.tenant_id
            )),
            "{detail}"
        );
        assert!(owner_of(&acme.env, &acme.owner, &acme.tenant_id, user)
            .await
            .is_empty());
    }
    assert_eq!(
        before.matches("DEVICE#").count(),
        acme.env.table_dump().await.matches("DEVICE#").count()
    );
    // The tenant's backend key still registers without verification.
    let backend = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["devices"])).await;
    Devices::key(&acme.env, &backend, &acme.tenant_id)
        .register_ok(device("bob", &ios_token(7), "ios"))
        .await;
}

#[tokio::test]
async fn the_tenant_object_says_whether_user_verification_is_on() {
    let acme = OwnedTenant::new("acme").await;
    assert_eq!(
        get_tenant(&acme.env, &acme.owner, &acme.tenant_id).await["user_verification"],
        false
    );
    secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    assert_eq!(
        get_tenant(&acme.env, &acme.owner, &acme.tenant_id).await["user_verification"],
        true
    );
    let request = call("GET", "/tenants")
        .bearer(&acme.owner)
        .query("org_id", "acme");
    let (listed_status, listed) = parts(&tenant_list::handle(&acme.env.app, request.build()).await);
    assert_eq!(listed_status, 200, "{listed}");
    assert_eq!(listed["tenants"][0]["user_verification"], true, "{listed}");
    let (status, _) = turn_off(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
    assert_eq!(status, 200);
    assert_eq!(
        get_tenant(&acme.env, &acme.owner, &acme.tenant_id).await["user_verification"],
        false
    );
}

/// Counts Secrets Manager `GetSecretValue` calls.
#[derive(Debug, Clone, Default)]
struct CountSecretReads(Arc<AtomicUsize>);

impl Hooks for CountSecretReads {
    fn before_serialization(&self, input: &Input, _bag: &mut ConfigBag) -> Hooked {
        if input.downcast_ref::<GetSecretValueInput>().is_some() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

notify_tests::intercept_with_hooks!(CountSecretReads);

#[tokio::test]
async fn register_key_registrations_read_the_verification_secret_once_per_rotation() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let reads = CountSecretReads::default();
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&acme.env.sdk)
            .interceptor(reads.clone())
            .build(),
    );
    // One container: its app, its cache.
    let container = App::with_clients(
        acme.env.app.config.clone(),
        acme.env.dynamodb.clone(),
        Secrets::new(secrets, acme.env.tenant_secret_prefix.clone()),
        aws_sdk_sqs::Client::new(&acme.env.sdk),
    );
    let in_container = Devices {
        app: &container,
        ..Devices::key(&acme.env, &key, &acme.tenant_id)
    };
    let register_in = |body: Value| in_container.register(body);
    let device = |n: usize, secret: &str| {
        let user = format!("u{n}");
        signed_device(&user, &ios_token(n), &signature(secret, &user))
    };

    let first = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    for n in 0..5 {
        let (status, body) = register_in(device(n, &first)).await;
        assert_eq!(status, 200, "{body}");
    }
    // A missing or malformed signature is refused before any read.
    for bad in [json!(null), json!("zz"), json!("AB".repeat(32))] {
        let (status, body) = register_in(json!({"user_id": "u9", "token": ios_token(9),
            "platform": "ios", "user_signature": bad}))
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("user_signature_invalid"))
        );
    }
    assert_eq!(
        reads.0.load(Ordering::SeqCst),
        1,
        "one read for six registrations"
    );

    // A rotation is seen at once: the old secret's signatures stop working.
    let second = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let (status, body) = register_in(device(5, &first)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_signature_invalid")),
        "{body}"
    );
    for n in 5..8 {
        let (status, body) = register_in(device(n, &second)).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        reads.0.load(Ordering::SeqCst),
        2,
        "one more read after the rotation"
    );
}

#[tokio::test]
async fn turning_user_verification_on_and_off_at_once_never_leaves_the_flag_without_its_secret() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    for round in 0..6 {
        let (on, off) = tokio::join!(
            turn_on(&acme.env, As::User(&acme.owner), &acme.tenant_id),
            turn_off(&acme.env, As::User(&acme.owner), &acme.tenant_id)
        );
        for (status, body) in [&on, &off] {
            assert!(
                matches!(status, 200 | 404 | 409),
                "round {round}: {status} {body}"
            );
        }
        let (flag, stored) = flag_and_secret(&acme).await;
        let user = format!("u{round}");
        let signed = on.1["secret"]
            .as_str()
            .filter(|secret| stored.contains(secret))
            .map(|secret| signature(secret, &user))
            .unwrap_or_else(|| "ab".repeat(32));
        let (status, body) = Devices::key(&acme.env, &key, &acme.tenant_id)
            .register(signed_device(&user, &ios_token(round), &signed))
            .await;
        match (flag, status) {
            (true, 200) => {}
            (false, 403) => assert_eq!(body["code"], "user_verification_required"),
            other => panic!("round {round}: {other:?} {body}"),
        }
    }
}

/// The tenant's `user_verification` flag and its secret's text, once
/// checked to agree: the flag is on exactly when the secret holds one.
async fn flag_and_secret(acme: &OwnedTenant) -> (bool, String) {
    let flag =
        get_tenant(&acme.env, &acme.owner, &acme.tenant_id).await["user_verification"] == true;
    let stored = tenant_secret_text(&acme.env, &acme.tenant_id).await;
    assert_eq!(
        flag,
        stored.contains("user_verification"),
        "flag and secret disagree"
    );
    (flag, stored)
}

/// Turns verification on or off through `app`, whose next secret write
/// lands but loses its answer (a slow Secrets Manager, a timeout): the
/// request fails, and the flag still says what the secret holds.
async fn change_with_the_secret_writes_answer_lost(acme: &OwnedTenant, on: bool) -> bool {
    let faults = Faults::default();
    faults.lose_answer("PutSecretValue", 1);
    let app = faults.app(&acme.env);
    let route = call(
        if on { "POST" } else { "DELETE" },
        "/tenants/{tenant_id}/user-verification",
    )
    .param("tenant_id", &acme.tenant_id)
    .bearer(&acme.owner)
    .build();
    let (status, body) = parts(&if on {
        user_verification_create::handle(&app, route).await
    } else {
        user_verification_delete::handle(&app, route).await
    });
    assert_eq!(
        faults.pending("PutSecretValue answer"),
        0,
        "the fault was not reached"
    );
    assert!(status >= 500, "{status} {body}");
    flag_and_secret(acme).await.0
}

#[tokio::test]
async fn a_secret_write_whose_answer_is_lost_still_leaves_the_flag_saying_what_the_secret_holds() {
    let acme = OwnedTenant::new("acme").await;
    assert!(change_with_the_secret_writes_answer_lost(&acme, true).await);
    assert!(!change_with_the_secret_writes_answer_lost(&acme, false).await);
    // And the tenant is not left claimed: the next change goes through.
    let (status, body) = turn_on(&acme.env, As::User(&acme.owner), &acme.tenant_id).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_verification_flag_whose_secret_was_lost_refuses_register_keys_with_a_403_not_a_500() {
    let acme = OwnedTenant::new("acme").await;
    let key = key_with(&acme.env, &acme.owner, &acme.tenant_id, json!(["register"])).await;
    let secret = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    // A change that turned verification off died after writing the secret.
    let mut stored: Value =
        serde_json::from_str(&tenant_secret_text(&acme.env, &acme.tenant_id).await)
            .unwrap_or_else(|err| panic!("tenant secret is JSON: {err}"));
    stored
        .as_object_mut()
        .map(|fields| fields.remove("user_verification"));
    acme.env
        .secrets
        .put_secret_value()
        .secret_id(tenant_secret_id(&acme.env, &acme.tenant_id))
        .secret_string(stored.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("writing secret: {err}"));
    let by_key = Devices::key(&acme.env, &key, &acme.tenant_id);
    let (status, body) = by_key
        .register(signed_for(&secret, "u1", &ios_token(1)))
        .await;
    assert_error((status, &body), 403, "user_verification_required");
    // Turning it on again heals it.
    let healed = secret_of(&acme.env, &acme.owner, &acme.tenant_id).await;
    let (status, body) = by_key
        .register(signed_for(&healed, "u1", &ios_token(1)))
        .await;
    assert_eq!(status, 200, "{body}");
}
