//! Steps the worker tests repeat on a [`BulkRig`]: devices for a list of
//! users, the purge message a tenant deletion queues, and a partition
//! filled for a purge to work through.

use notify_shared::model::Platform;

use notify_shared::service::worker::WorkerSettings;

use std::time::Duration;

use serde_json::Value;

use crate::delivery::{BulkRig, QueueSettings, Round};
use crate::flows::key_named;

/// One device for each of `ids`, the `n`th with `token(n)` on `platform`.
pub fn one_device_each(
    ids: &[String],
    token: fn(usize) -> String,
    platform: Platform,
) -> Vec<(String, String, Platform)> {
    ids.iter()
        .enumerate()
        .map(|(n, user)| (user.clone(), token(n), platform))
        .collect()
}

impl BulkRig {
    /// A rig whose queue redelivers after a second, `max_receive_count`
    /// times at most, with the worker's default settings.
    pub async fn with_quick_redelivery(max_receive_count: u32) -> Self {
        let queue = QueueSettings {
            max_receive_count,
            visibility_timeout_seconds: 1,
        };
        Self::with_settings(queue, WorkerSettings::default()).await
    }

    /// A new API key of the rig's tenant named `name` with `scopes`.
    pub async fn key(&self, name: &str, scopes: Value) -> String {
        key_named(&self.env, &self.owner, &self.tenant_id, name, scopes).await
    }

    /// One round (1 s long poll) that must find a message.
    pub async fn queued_round(&self) -> Round {
        self.round(Duration::from_secs(1))
            .await
            .unwrap_or_else(|| panic!("the chunk was not queued"))
    }

    /// Another tenant of the same deployment (org `org`, both providers at
    /// the rig's simulator): its id and a user token of its org.
    pub async fn other_tenant(&self, org: &str) -> (String, String) {
        let owner = self.env.user_token(&format!("{org}-owner"), &[org]);
        let body = self.sim.tenant_body(org, crate::delivery::BUNDLE_ID).await;
        (self.env.create_tenant(&owner, body).await, owner)
    }

    /// `POST /tenants/{tenant_id}/notify/bulk` on any tenant, as `owner`.
    pub async fn bulk_on(&self, tenant_id: &str, owner: &str, body: Value) -> (u16, Value) {
        let request = crate::call("POST", "/tenants/{tenant_id}/notify/bulk")
            .param("tenant_id", tenant_id)
            .bearer(owner)
            .json(body);
        crate::parts(&notify_bulk::handle(&self.env.app, request.build()).await)
    }

    /// `GET .../notify/bulk/{batch_id}` on any tenant, as `owner`.
    pub async fn status_on(&self, tenant_id: &str, owner: &str, batch_id: &str) -> (u16, Value) {
        let request = crate::call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}")
            .param("tenant_id", tenant_id)
            .param("batch_id", batch_id)
            .bearer(owner);
        crate::parts(&notify_bulk_status::handle(&self.env.app, request.build()).await)
    }

    /// Queues the message a tenant deletion leaves for the worker, for this
    /// rig's tenant (whether or not it was deleted).
    pub async fn queue_purge(&self) {
        self.send_raw(&format!(
            r#"{{"kind":"purge_tenant","tenant_id":"{}"}}"#,
            self.tenant_id
        ))
        .await;
    }
}

/// `count` filler items in `tenant_id`'s partition, written directly:
/// only their number matters to a purge.
pub async fn fill_partition(env: &crate::env::TestEnv, tenant_id: &str, count: usize) {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    let items: Vec<WriteRequest> = (0..count)
        .map(|n| {
            let put = PutRequest::builder()
                .item("PK", AttributeValue::S(format!("TENANT#{tenant_id}")))
                .item("SK", AttributeValue::S(format!("FILLER#{n:06}")))
                .build()
                .unwrap_or_else(|err| panic!("{err}"));
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in items.chunks(25) {
        let mut pending = Some(std::collections::HashMap::from([(
            env.table.clone(),
            chunk.to_vec(),
        )]));
        while let Some(requests) = pending.take() {
            let output = env
                .dynamodb
                .batch_write_item()
                .set_request_items(Some(requests))
                .send()
                .await
                .unwrap_or_else(|err| panic!("filling the partition: {err}"));
            pending = output.unprocessed_items.filter(|left| !left.is_empty());
        }
    }
}
