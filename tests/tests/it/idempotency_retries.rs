//! Sends whose DynamoDB writes lose their answers (a timeout, a 500 after
//! the write was applied: the SDK sends the same request again), long
//! answers, and answers asked for by another caller. Each write recognises
//! its own earlier attempt, so a retry with the same `Idempotency-Key`
//! gets the first answer and pushes nothing more.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use notify_shared::model::device::TokenMoves;
use notify_shared::model::Platform;
use notify_shared::App;
use notify_tests::delivery::{ios_token, BUNDLE_ID};
use notify_tests::faults::LostAnswer;
use notify_tests::flows::{key_rate_sum, tenant_of};
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{call, parts, BulkRig, Call, TestEnv};
use serde_json::{json, Value};

/// Every DynamoDB write: a put, an update, a delete or a transaction.
fn any_write(input: &Input) -> bool {
    input.downcast_ref::<PutItemInput>().is_some()
        || input.downcast_ref::<UpdateItemInput>().is_some()
        || input.downcast_ref::<DeleteItemInput>().is_some()
        || input.downcast_ref::<TransactWriteItemsInput>().is_some()
}

/// The update that opens a bulk batch.
fn opening_a_batch(input: &Input) -> bool {
    input
        .downcast_ref::<UpdateItemInput>()
        .is_some_and(|update| {
            update.update_expression() == Some("SET #state = :to")
                && update
                    .expression_attribute_values()
                    .and_then(|values| values.get(":to"))
                    .is_some_and(|to| to.as_s().is_ok_and(|to| to == "open"))
        })
}

async fn bulk_through(rig: &BulkRig, app: &App, key: &str) -> (u16, Value) {
    let request = call("POST", "/tenants/{tenant_id}/notify/bulk")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner)
        .header("Idempotency-Key", key)
        .json(json!({"user_ids": ["u1"], "alert": {"title": "Sale"}}))
        .build();
    parts(&notify_bulk::handle(app, request).await)
}

/// Sends the same bulk request (same key) until it answers 200, as a
/// client does, and delivers everything: the pushes the device received.
async fn bulk_until_accepted(rig: &BulkRig, app: &App, key: &str) -> usize {
    let mut batch_ids = Vec::new();
    for _ in 0..3 {
        let (status, body) = bulk_through(rig, app, key).await;
        assert_ne!(status, 500, "a lost answer became a 500: {body}");
        assert_eq!(status, 200, "{body}");
        batch_ids.push(body["batch_id"].as_str().unwrap_or_default().to_owned());
    }
    assert!(
        batch_ids.windows(2).all(|pair| pair[0] == pair[1]),
        "retries with one key made several batches: {batch_ids:?}"
    );
    let done = rig
        .drain_until_done(&batch_ids[0], std::time::Duration::from_secs(30))
        .await;
    assert_eq!(done["delivered"], 1, "{done}");
    rig.drain().await;
    rig.pushes_by_token()
        .await
        .get(&ios_token(1))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_send_whose_open_write_loses_its_answer_is_not_a_500_and_pushes_once() {
    let rig = BulkRig::start().await;
    rig.register(&[("u1".to_owned(), ios_token(1), Platform::Ios)])
        .await;
    let lost = LostAnswer::new(1, opening_a_batch);
    let app = rig.env.app_with(lost.clone());
    let pushes = bulk_until_accepted(&rig, &app, "campaign-open").await;
    assert_eq!(lost.lost(), 1, "the open write's answer was not lost");
    assert_eq!(pushes, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_send_whose_every_write_loses_its_first_answer_answers_200_and_pushes_once() {
    let rig = BulkRig::start().await;
    rig.register(&[("u1".to_owned(), ios_token(1), Platform::Ios)])
        .await;
    // The claim, the batch, its opening and the stored answer.
    let lost = LostAnswer::new(usize::MAX, any_write);
    let app = rig.env.app_with(lost.clone());
    let pushes = bulk_until_accepted(&rig, &app, "campaign-every-write").await;
    assert!(lost.lost() >= 4, "only {} answers were lost", lost.lost());
    assert_eq!(pushes, 1);
}

// ---------------------------------------------------------------------------
// Single sends
// ---------------------------------------------------------------------------

type SendRig = SimTenant;

async fn send_rig() -> SendRig {
    SimTenant::start().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_send_whose_every_write_loses_its_first_answer_answers_200_and_pushes_once() {
    let rig = send_rig().await;
    rig.env
        .register_devices(
            &rig.tenant_id,
            &[("u1".to_owned(), ios_token(7), Platform::Ios)],
        )
        .await;
    // The claim and the stored answer.
    let lost = LostAnswer::new(usize::MAX, any_write);
    let app = rig.env.app_with(lost.clone());
    let (status, _, first) = rig.keyed_send(&app, "order-1042").await;
    assert_eq!(
        status, 200,
        "a retried claim was taken for another's: {first}"
    );
    assert!(lost.lost() >= 2, "only {} answers were lost", lost.lost());
    for _ in 0..2 {
        let (status, _, again) = rig.keyed_send(&app, "order-1042").await;
        assert_eq!((status, &again), (200, &first));
    }
    assert_eq!(rig.pushes().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_to_a_user_with_100_tokens_of_4096_characters_is_replayed_not_refused() {
    let rig = send_rig().await;
    let devices: Vec<(String, String, Platform)> = (0..100)
        .map(|n| {
            let token = format!("fcm{n:03}:{}", "aB0_-".repeat(900))[..4096].to_owned();
            ("u1".to_owned(), token, Platform::Android)
        })
        .collect();
    // Tokens this long are keyed by their hash: the store writes them, one
    // at a time (moto fails concurrent transactions now and then).
    for (user_id, token, platform) in &devices {
        let registration = notify_tests::flows::registration(user_id, token, *platform);
        let mut attempts = 0;
        while let Err(err) = rig
            .env
            .app
            .store
            .register_device(&rig.tenant_id, &registration, TokenMoves::Allowed, None)
            .await
        {
            attempts += 1;
            assert!(attempts < 5, "registering a device: {err}");
        }
    }
    let app = &rig.env.app;
    let (status, _, first) = rig.keyed_send(app, "long-answer").await;
    assert_eq!(status, 200, "{}", &first[..first.len().min(300)]);
    assert!(
        first.len() > 400 * 1024,
        "the answer is {} bytes",
        first.len()
    );
    assert_eq!(rig.pushes().await, 100);
    let (status, _, again) = rig.keyed_send(app, "long-answer").await;
    assert_eq!(status, 200, "{}", &again[..again.len().min(300)]);
    assert!(again == first, "the replay differs from the first answer");
    assert_eq!(rig.pushes().await, 100, "a replay sent again");
}

/// Sets a request's credentials.
type Auth<'a> = Box<dyn Fn(Call) -> Call + 'a>;

#[tokio::test(flavor = "multi_thread")]
async fn another_key_or_user_replaying_an_idempotency_key_gets_422_and_no_device_tokens() {
    let rig = send_rig().await;
    let token = ios_token(9);
    rig.env
        .register_devices(
            &rig.tenant_id,
            &[("u1".to_owned(), token.clone(), Platform::Ios)],
        )
        .await;
    let app = &rig.env.app;
    let (status, _, first) = rig.keyed_send(app, "order-1042").await;
    assert_eq!(status, 200, "{first}");
    assert!(
        first.contains(&token),
        "the owner sees whole tokens: {first}"
    );

    let send_only = rig.key("backend", json!(["send"])).await;
    let colleague = rig.env.user_token("colleague", &["acme"]);
    let others: [(&str, Auth<'_>); 2] = [
        ("a send-only key", Box::new(|call| call.api_key(&send_only))),
        ("another user", Box::new(|call| call.bearer(&colleague))),
    ];
    for (who, auth) in others {
        let (status, _, text) = rig.keyed_send_as(app, auth, "order-1042").await;
        assert_eq!(status, 422, "{who}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(answer["code"], "idempotency_key_reused", "{who}: {text}");
        assert!(!text.contains(&token[..16]), "{who} read a token: {text}");
    }
    // The owner still gets its answer, and nothing was sent again.
    let (status, _, again) = rig.keyed_send(app, "order-1042").await;
    assert_eq!((status, &again), (200, &first));
    assert_eq!(rig.pushes().await, 1);
}

// ---------------------------------------------------------------------------
// Tenant writes
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_create_and_patch_whose_writes_lose_their_first_answer_succeed() {
    let (env, sim) = TestEnv::with_simulator().await;
    let owner = env.user_token("owner", &["acme"]);
    let lost = LostAnswer::new(usize::MAX, any_write);
    let app = env.app_with(lost.clone());
    let body = sim.tenant_body("acme", BUNDLE_ID).await;
    let created = tenant_create::handle(
        &app,
        call("POST", "/tenants").bearer(&owner).json(body).build(),
    )
    .await;
    let (status, tenant) = parts(&created);
    assert_eq!(
        status, 200,
        "a created tenant answered as existing: {tenant}"
    );
    let tenant_id = tenant["tenant_id"].as_str().unwrap_or_default().to_owned();
    for sandbox in [false, true] {
        let patch = call("PATCH", "/tenants/{tenant_id}")
            .param("tenant_id", &tenant_id)
            .bearer(&owner)
            .json(json!({"use_sandbox": sandbox}))
            .build();
        let (status, body) = parts(&tenant_update::handle(&app, patch).await);
        assert_eq!(
            status, 200,
            "an applied change answered as conflicting: {body}"
        );
        assert_eq!(body["use_sandbox"], sandbox, "{body}");
    }
    assert!(lost.lost() >= 4, "only {} answers were lost", lost.lost());
    // The tenant's credentials survived its creation: it sends.
    assert_eq!(env.tenant_secret_count().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_create_and_delete_whose_writes_lose_their_first_answer_succeed() {
    let env = TestEnv::new().await;
    let (tenant_id, owner) = tenant_of(&env, "owner", "acme").await;
    let lost = LostAnswer::new(usize::MAX, any_write);
    let app = env.app_with(lost.clone());
    let create = call("POST", "/tenants/{tenant_id}/api-keys")
        .param("tenant_id", &tenant_id)
        .bearer(&owner)
        .json(json!({"name": "backend"}))
        .build();
    let (status, created) = parts(&api_key_create::handle(&app, create).await);
    assert_eq!(status, 200, "{created}");
    // The resent transaction added nothing twice to the tenant's key rates.
    assert_eq!(key_rate_sum(&env, &tenant_id).await, Some(50));
    let key_id = created["key_id"].as_str().unwrap_or_default();
    let delete = call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
        .param("tenant_id", &tenant_id)
        .param("key_id", key_id)
        .bearer(&owner)
        .build();
    let (status, body) = parts(&api_key_delete::handle(&app, delete).await);
    assert_eq!(status, 200, "an applied delete answered as unknown: {body}");
    assert_eq!(key_rate_sum(&env, &tenant_id).await, Some(0));
    assert_eq!(lost.lost(), 2, "both writes lose their first answer");
}
