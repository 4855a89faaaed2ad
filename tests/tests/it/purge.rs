//! A tenant purge longer than Lambda's recursive loop limit (AWS audit
//! finding 3). The purge continues by sending itself to the queue that
//! triggers it; Lambda follows the trace header through SQS and stops a
//! chain after 16 invocations. The local trigger plays that stop
//! (`sqs_trigger::recursion`), the rig's worker sends its invocation's trace
//! as the SDK does on Lambda (`notify_tests::lambda_trace`), and the purge
//! must still finish.

use std::time::Duration;

use notify_shared::service::worker::chain::HOPS_PER_TRACE;
use notify_shared::service::worker::WorkerSettings;
use notify_tests::delivery::{BulkRig, QueueSettings};
use notify_tests::rig_flows::fill_partition;
use sqs_trigger::recursion::MAX_CHAIN_INVOCATIONS;

/// Items the purge reads per step (`store::purge`'s Query page).
const PAGE: usize = 100;

#[tokio::test]
async fn a_purge_needing_more_hops_than_lambdas_recursion_limit_still_finishes() {
    let rig = BulkRig::with_settings(
        QueueSettings::default(),
        WorkerSettings {
            purge_step: PAGE,
            purge_budget: Duration::ZERO,
            ..WorkerSettings::default()
        },
    )
    .await;
    // One step per message: more continuations than one chain may have.
    let hops = MAX_CHAIN_INVOCATIONS as usize + 6;
    fill_partition(&rig.env, &rig.tenant_id, hops * PAGE).await;
    assert!(hops > (HOPS_PER_TRACE as usize) * 2);
    assert_eq!(
        rig.env.app.store.delete_tenant(&rig.tenant_id).await.ok(),
        Some(true)
    );
    rig.queue_purge().await;

    let rounds = rig.drain().await;
    assert!(rounds.len() >= hops, "{} rounds", rounds.len());
    assert!(
        rounds.iter().all(|round| round.failed.is_empty()),
        "{rounds:?}"
    );
    assert!(
        !rig.env.table_dump().await.contains(&rig.tenant_id),
        "items of the tenant are left"
    );
    assert_eq!(rig.queue_depth(&rig.queues.url).await, 0);
    assert_eq!(rig.queue_depth(&rig.queues.dlq_url).await, 0);
}
