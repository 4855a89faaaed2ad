//! Creates the table `template.yaml` defines.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    self as ddb, BillingMode, IndexStatus, ProjectionType as DdbProjectionType,
    ScalarAttributeType, SseSpecification, TableDescription, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;

use crate::template::{AttributeType, KeyElement, KeyType, ProjectionType, TableDefinition};

/// Real tables take seconds to minutes to turn ACTIVE; moto is immediate.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Creates `table_name` with the template's attributes, keys, indexes,
/// billing mode and encryption, waits until it and its indexes are ACTIVE,
/// then turns on TTL. An existing table is accepted when its keys and indexes
/// match the template (TTL is still ensured); otherwise this fails.
///
/// Deletion protection and point-in-time recovery are left off: they are
/// settings of deployed stacks, and local and test tables must be deletable.
#[tracing::instrument(skip(client, template))]
pub async fn create_table(
    client: &Client,
    template: &TableDefinition,
    table_name: &str,
) -> Result<()> {
    let attribute_definitions = template
        .attribute_definitions
        .iter()
        .map(|attribute| {
            ddb::AttributeDefinition::builder()
                .attribute_name(&attribute.name)
                .attribute_type(match attribute.attribute_type {
                    AttributeType::S => ScalarAttributeType::S,
                    AttributeType::N => ScalarAttributeType::N,
                    AttributeType::B => ScalarAttributeType::B,
                })
                .build()
                .context("building an attribute definition")
        })
        .collect::<Result<Vec<_>>>()?;
    let indexes = template
        .global_secondary_indexes
        .iter()
        .map(|index| {
            let projection = ddb::Projection::builder()
                .projection_type(match index.projection.projection_type {
                    ProjectionType::All => DdbProjectionType::All,
                    ProjectionType::KeysOnly => DdbProjectionType::KeysOnly,
                    ProjectionType::Include => DdbProjectionType::Include,
                })
                .set_non_key_attributes(
                    (!index.projection.non_key_attributes.is_empty())
                        .then(|| index.projection.non_key_attributes.clone()),
                )
                .build();
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()
                .context("building a global secondary index")
        })
        .collect::<Result<Vec<_>>>()?;

    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attribute_definitions))
        .set_key_schema(Some(key_schema(&template.key_schema)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes));
    if template.sse_enabled {
        request = request.sse_specification(SseSpecification::builder().enabled(true).build());
    }
    match request.send().await {
        Ok(_) => tracing::info!(table = table_name, "table created"),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) =>
        {
            tracing::info!(table = table_name, "table already exists");
        }
        Err(err) => {
            return Err(anyhow!(err)).with_context(|| format!("creating table {table_name}"))
        }
    }

    let description = wait_until_active(client, table_name).await?;
    check_keys_match(template, &description)
        .with_context(|| format!("table {table_name} exists but differs from template.yaml; delete it (locally: restart moto) and bootstrap again"))?;
    if let Some(attribute) = &template.ttl_attribute {
        ensure_ttl(client, table_name, attribute).await?;
    }
    Ok(())
}

fn key_schema(keys: &[KeyElement]) -> Result<Vec<ddb::KeySchemaElement>> {
    keys.iter()
        .map(|key| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&key.attribute)
                .key_type(match key.key_type {
                    KeyType::Hash => ddb::KeyType::Hash,
                    KeyType::Range => ddb::KeyType::Range,
                })
                .build()
                .context("building a key schema element")
        })
        .collect()
}

async fn wait_until_active(client: &Client, table_name: &str) -> Result<TableDescription> {
    let started = Instant::now();
    loop {
        let table = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|err| anyhow!(err))
            .with_context(|| format!("describing table {table_name}"))?
            .table
            .ok_or_else(|| anyhow!("DescribeTable returned no table for {table_name}"))?;
        let table_active = table.table_status == Some(TableStatus::Active);
        let indexes_active = table
            .global_secondary_indexes()
            .iter()
            .all(|index| matches!(index.index_status, None | Some(IndexStatus::Active)));
        if table_active && indexes_active {
            return Ok(table);
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            bail!(
                "table {table_name} not ACTIVE after {}s (status {:?})",
                ACTIVE_TIMEOUT.as_secs(),
                table.table_status
            );
        }
        tracing::info!(table = table_name, status = ?table.table_status, "waiting for the table to become ACTIVE");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

type KeySet = BTreeSet<(String, String)>;

fn expected_keys(keys: &[KeyElement]) -> KeySet {
    keys.iter()
        .map(|key| {
            let kind = match key.key_type {
                KeyType::Hash => "HASH",
                KeyType::Range => "RANGE",
            };
            (key.attribute.clone(), kind.to_owned())
        })
        .collect()
}

fn actual_keys(keys: &[ddb::KeySchemaElement]) -> KeySet {
    keys.iter()
        .map(|key| (key.attribute_name.clone(), key.key_type.as_str().to_owned()))
        .collect()
}

/// Keys and index keys of an existing table against the template: an old
/// local table with another layout would otherwise fail later, confusingly.
fn check_keys_match(template: &TableDefinition, table: &TableDescription) -> Result<()> {
    let expected = expected_keys(&template.key_schema);
    let actual = actual_keys(table.key_schema());
    if expected != actual {
        bail!("key schema is {actual:?}, the template says {expected:?}");
    }
    for index in &template.global_secondary_indexes {
        let found = table
            .global_secondary_indexes()
            .iter()
            .find(|existing| existing.index_name.as_deref() == Some(index.name.as_str()))
            .ok_or_else(|| anyhow!("index {} is missing", index.name))?;
        let expected = expected_keys(&index.key_schema);
        let actual = actual_keys(found.key_schema());
        if expected != actual {
            bail!(
                "index {} has keys {actual:?}, the template says {expected:?}",
                index.name
            );
        }
    }
    Ok(())
}

async fn ensure_ttl(client: &Client, table_name: &str, attribute: &str) -> Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|err| anyhow!(err))
        .with_context(|| format!("reading the TTL setting of {table_name}"))?
        .time_to_live_description;
    if let Some(current) = current {
        let enabled = matches!(
            current.time_to_live_status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        match current.attribute_name.as_deref() {
            Some(name) if enabled && name == attribute => {
                tracing::info!(table = table_name, attribute, "TTL already enabled");
                return Ok(());
            }
            Some(name) if enabled => {
                bail!("table {table_name} expires items by {name}, the template says {attribute}")
            }
            _ => {}
        }
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(true)
        .build()
        .context("building the TTL specification")?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|err| anyhow!(err))
        .with_context(|| format!("enabling TTL on {table_name}"))?;
    tracing::info!(table = table_name, attribute, "TTL enabled");
    Ok(())
}
