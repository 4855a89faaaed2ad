//! What deleting a tenant leaves behind: nothing of its own, everything of
//! other tenants, in bounded steps, inline or through the worker's queue.

use notify_shared::model::Platform;
use notify_tests::delivery::{fcm_token, ios_token};
use notify_tests::flows::{
    apns_tenant, assert_nothing_left_of, delete_tenant, device, register_one_by_one, Devices,
};
use notify_tests::{call, parts, TestEnv};
use serde_json::json;

#[tokio::test]
async fn deleting_a_tenant_removes_its_devices_and_index_items_and_spares_others() {
    let env = TestEnv::new().await;
    let (doomed, owner) = apns_tenant(&env, "acme").await;
    let (survivor, other_owner) = apns_tenant(&env, "other").await;
    let by_owner = Devices::user(&env, &owner, &doomed);
    for n in 0..6 {
        let user = format!("user-{}", n % 3);
        let (status, _) = by_owner
            .register(device(&user, &fcm_token(n), "android"))
            .await;
        assert_eq!(status, 200);
    }
    // An idempotency record too (a send to a user without devices sends nothing).
    let send = who_sends(&env, &owner, &doomed).await;
    assert_eq!(send, 200);
    let by_other_owner = Devices::user(&env, &other_owner, &survivor);
    by_other_owner
        .register(device("user-0", &ios_token(77), "ios"))
        .await;
    assert!(env.table_dump().await.contains(&doomed));

    delete_tenant(&env, &owner, &doomed).await;
    let dump = assert_nothing_left_of(&env, &doomed).await;
    assert!(!dump.contains(&fcm_token(0)));
    let (_, listed) = by_other_owner.list(Some("user-0")).await;
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
}

async fn who_sends(env: &TestEnv, owner: &str, tenant_id: &str) -> u16 {
    let request = call("POST", "/tenants/{tenant_id}/notify")
        .param("tenant_id", tenant_id)
        .bearer(owner)
        .header("idempotency-key", "order-1")
        .json(json!({"user_id": "nobody", "badge": 1}))
        .build();
    parts(&notify_send::handle(&env.app, &env.delivery(), request).await).0
}

#[tokio::test]
async fn a_large_tenant_partition_is_purged_in_bounded_steps() {
    let env = TestEnv::new().await;
    let (tenant_id, _owner) = apns_tenant(&env, "acme").await;
    let devices: Vec<_> = (0..110)
        .map(|n| (format!("user-{}", n % 7), ios_token(n), Platform::Ios))
        .collect();
    register_one_by_one(&env, &tenant_id, &devices).await;
    let purge_step = || async {
        env.app
            .store
            .purge_tenant_partition(&tenant_id, 1)
            .await
            .unwrap_or_else(|err| panic!("purging: {err}"))
    };
    let first = purge_step().await;
    assert!(!first.complete && first.deleted >= 1, "{first:?}");
    let mut total = first.deleted;
    for _ in 0..10 {
        let step = purge_step().await;
        total += step.deleted;
        if step.complete {
            break;
        }
    }
    // 110 devices and their index items and the 7 users' device counters;
    // the tenant item is left to the deletion, which removes it last
    // (`tenants::finish_deletion`).
    assert_eq!(total, 227);
    assert!(!env.table_dump().await.contains("DEVICE#"));
}

#[tokio::test]
async fn with_a_delivery_queue_a_small_tenant_is_purged_inline_and_a_purge_message_has_the_worker_shape(
) {
    let mut env = TestEnv::new().await;
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("purge-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("creating queue: {err}"))
        .queue_url
        .unwrap_or_default();
    env.app.config.delivery_queue_url = Some(queue_url.clone());
    env.app.config.tenant_purge = notify_shared::config::PurgeMode::Queued;
    let (tenant_id, owner) = apns_tenant(&env, "acme").await;
    let by_owner = Devices::user(&env, &owner, &tenant_id);
    for n in 0..3 {
        by_owner.register(device("u1", &ios_token(n), "ios")).await;
    }
    delete_tenant(&env, &owner, &tenant_id).await;
    assert!(!env.table_dump().await.contains(&tenant_id));
    let receive = || {
        sqs.receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
    };
    let left = receive()
        .await
        .unwrap_or_else(|err| panic!("receiving: {err}"));
    assert!(left.messages().is_empty(), "nothing left for the worker");

    notify_shared::service::tenants::enqueue_purge(&env.app, &tenant_id)
        .await
        .unwrap_or_else(|err| panic!("enqueueing: {err}"));
    let received = receive()
        .await
        .unwrap_or_else(|err| panic!("receiving: {err}"));
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(
        bodies,
        vec![format!(r#"{{"kind":"purge_tenant","tenant_id":"{tenant_id}"}}"#).as_str()]
    );
    let schemas: Vec<Option<&str>> = received
        .messages()
        .iter()
        .map(|m| {
            m.message_attributes()
                .and_then(|attributes| attributes.get("notify_schema"))
                .and_then(|attribute| attribute.string_value())
        })
        .collect();
    assert_eq!(schemas, vec![Some("2")]);
}
