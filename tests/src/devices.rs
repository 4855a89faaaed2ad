//! Devices written straight into an environment's table, for tests and
//! benchmarks that need many of them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use notify_shared::model::device::TokenMoves;
use notify_shared::model::Platform;
use notify_shared::store::device_counter_item;

use crate::env::TestEnv;
use crate::flows::registration;

impl TestEnv {
    /// Registers devices straight through the store, 4 at a time (moto
    /// fails concurrent transactions on one table now and then).
    pub async fn register_devices(&self, tenant_id: &str, devices: &[(String, String, Platform)]) {
        let store = &self.app.store;
        let results: Vec<_> =
            futures::stream::iter(devices.iter().map(|(user_id, token, platform)| async move {
                store
                    .register_device(
                        tenant_id,
                        &registration(user_id, token, *platform),
                        TokenMoves::Allowed,
                        None,
                    )
                    .await
            }))
            .buffer_unordered(4)
            .collect()
            .await;
        for result in results {
            if let Err(err) = result {
                panic!("registering a device: {err}");
            }
        }
    }

    /// Registers many devices fast. moto copies the whole table for every
    /// transaction (so registering thousands of devices one by one takes
    /// minutes): the first device goes through the store's API, and its
    /// items are the template for the others, written with BatchWriteItem.
    /// The store's item layout is thus whatever `register_device` writes;
    /// each user's device counter is written with their number of devices.
    pub async fn register_devices_fast(
        &self,
        tenant_id: &str,
        devices: &[(String, String, Platform)],
    ) {
        self.write_devices_fast(tenant_id, devices, true).await;
    }

    /// As `register_devices_fast`, but without device counters for the users
    /// after the first: devices as stored before the per-user cap existed.
    pub async fn register_devices_fast_without_counts(
        &self,
        tenant_id: &str,
        devices: &[(String, String, Platform)],
    ) {
        self.write_devices_fast(tenant_id, devices, false).await;
    }

    async fn write_devices_fast(
        &self,
        tenant_id: &str,
        devices: &[(String, String, Platform)],
        counted: bool,
    ) {
        let Some((first, rest)) = devices.split_first() else {
            return;
        };
        self.register_devices(tenant_id, std::slice::from_ref(first))
            .await;
        let (user0, token0, platform0) = first;
        // Tokens as the store keeps them (APNs lowercased).
        let stored = |platform: &Platform, token: &str| {
            platform
                .normalize_token(token)
                .unwrap_or_else(|err| panic!("test token: {err}"))
        };
        let token0 = stored(platform0, token0);
        let key0 = key_form(&token0);
        let template: Vec<HashMap<String, AttributeValue>> = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .filter_expression("contains(SK, :token)")
            .expression_attribute_values(":token", AttributeValue::S(key0.clone()))
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|item| item.unwrap_or_else(|err| panic!("scanning the template: {err}")))
            .collect();
        assert!(
            !template.is_empty(),
            "register_device wrote no item keyed by the token"
        );
        let user_key0 = format!("#USER#{user0}");
        let items: Vec<HashMap<String, AttributeValue>> = rest
            .iter()
            .flat_map(|(user, token, platform)| {
                let token = stored(platform, token);
                let key = key_form(&token);
                let user_key = format!("#USER#{user}");
                let (token0, key0, user_key0) = (&token0, &key0, &user_key0);
                template.iter().map(move |item| {
                    item.iter()
                        .map(|(name, value)| {
                            let value = match value {
                                AttributeValue::S(text) if text == token0 => {
                                    AttributeValue::S(token.clone())
                                }
                                AttributeValue::S(text) if text == user0 => {
                                    AttributeValue::S(user.clone())
                                }
                                AttributeValue::S(text) if text == platform0.as_str() => {
                                    AttributeValue::S(platform.as_str().to_owned())
                                }
                                AttributeValue::S(text) => AttributeValue::S(
                                    text.replace(key0, &key).replace(user_key0, &user_key),
                                ),
                                other => other.clone(),
                            };
                            (name.clone(), value)
                        })
                        .collect()
                })
            })
            .collect();
        let mut items = items;
        if counted {
            let mut counts: HashMap<&str, u64> = HashMap::new();
            for (user, _, _) in devices {
                *counts.entry(user.as_str()).or_default() += 1;
            }
            for (user, count) in counts {
                items.push(
                    device_counter_item(tenant_id, user, count)
                        .unwrap_or_else(|err| panic!("a device counter: {err}")),
                );
            }
        }
        let dynamodb = &self.dynamodb;
        let table = &self.table;
        let writes = items.chunks(25).map(|chunk| async move {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .unwrap_or_else(|err| panic!("building a put: {err}"));
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            while !requests.is_empty() {
                requests = dynamodb
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .unwrap_or_else(|err| panic!("writing devices: {err}"))
                    .unprocessed_items
                    .and_then(|mut tables| tables.remove(table))
                    .unwrap_or_default();
            }
        });
        futures::stream::iter(writes)
            .buffer_unordered(4)
            .collect::<Vec<()>>()
            .await;
    }
}

/// How a token appears in its items' sort keys: itself, or for a token too
/// long for a key `sha256:{hex}` (as `store/keys.rs` keys it).
fn key_form(token: &str) -> String {
    const MAX_TOKEN_IN_KEY: usize = 1000;
    if token.len() <= MAX_TOKEN_IN_KEY {
        return token.to_owned();
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}
