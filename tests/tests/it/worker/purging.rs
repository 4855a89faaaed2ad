//! Deleted tenants' messages, and purge messages.

use super::*;

#[tokio::test]
async fn a_deleted_tenants_queued_message_delivers_nothing() {
    let rig = BulkRig::start().await;
    let ids = users(0..5);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    queue(&rig, &ids).await;
    let request = call("DELETE", "/tenants/{tenant_id}")
        .param("tenant_id", &rig.tenant_id)
        .bearer(&rig.owner);
    let (status, body) = parts(&tenant_delete::handle(&rig.env.app, request.build()).await);
    assert_eq!(status, 200, "{body}");

    let rounds = rig.drain().await;
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert!(rig.sim.deliveries().await.is_empty());
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 0);
}

#[tokio::test]
async fn a_purge_message_deletes_a_deleted_tenants_items_in_steps() {
    let rig = BulkRig::with_settings(
        QueueSettings::default(),
        WorkerSettings {
            purge_step: 10,
            purge_budget: Duration::ZERO,
            ..WorkerSettings::default()
        },
    )
    .await;
    let ids = users(0..50);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    // The tenant item alone goes, as if the deletion stopped there.
    assert_eq!(
        rig.env.app.store.delete_tenant(&rig.tenant_id).await.ok(),
        Some(true)
    );
    rig.queue_purge().await;

    let rounds = rig.drain().await;
    assert!(rounds.len() >= 2, "purged in several messages: {rounds:?}");
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    let left = rig.env.table_dump().await;
    assert!(
        !left.contains(&rig.tenant_id),
        "items of the tenant are left"
    );
}

#[tokio::test]
async fn a_purge_message_for_a_live_tenant_is_refused() {
    let rig = BulkRig::start().await;
    let ids = users(0..3);
    rig.register_many(&three_devices_each(&ids, 0)).await;
    rig.queue_purge().await;
    let rounds = rig.drain().await;
    assert_eq!(rounds.len(), 1);
    assert!(rounds[0].failed.is_empty(), "dropped, not retried");
    let devices = rig
        .env
        .app
        .store
        .list_devices(&rig.tenant_id, &ids[0], ReadConsistency::Strong)
        .await
        .map(|devices| devices.len())
        .ok();
    assert_eq!(devices, Some(3));
}
