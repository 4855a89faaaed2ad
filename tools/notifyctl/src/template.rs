//! Reads the data resources out of `template.yaml`, so that local tables and
//! queues are created from the same definition that is deployed.
//!
//! CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`) parse as tagged YAML
//! values. `!Ref Parameter` (and `{"Ref": Parameter}`) resolves to the
//! parameter's `Default`; any other intrinsic is an error where a literal is
//! needed.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_norway::{Mapping, Value};

/// Logical ids in `template.yaml`.
pub const TABLE_RESOURCE: &str = "NotifyTable";
pub const QUEUE_RESOURCE: &str = "DeliveryQueue";
pub const DEAD_LETTER_QUEUE_RESOURCE: &str = "DeliveryDeadLetterQueue";
pub const WEBHOOK_QUEUE_RESOURCE: &str = "WebhookQueue";
pub const WEBHOOK_DEAD_LETTER_QUEUE_RESOURCE: &str = "WebhookDeadLetterQueue";

/// What `notifyctl` needs from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub table: TableDefinition,
    pub queues: QueueDefinition,
    /// `WebhookQueue` and `WebhookDeadLetterQueue`.
    pub webhook_queues: QueueDefinition,
    /// The function draining `DeliveryQueue`; `None` when none does.
    pub worker: Option<WorkerDefinition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDefinition {
    pub name: String,
    pub attribute_type: AttributeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyType {
    Hash,
    Range,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyElement {
    pub attribute: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionType {
    All,
    KeysOnly,
    Include,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub projection_type: ProjectionType,
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSecondaryIndex {
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

/// `NotifyTable`. Only on-demand (`PAY_PER_REQUEST`) billing is supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// The TTL attribute when `TimeToLiveSpecification.Enabled` is true.
    pub ttl_attribute: Option<String>,
    pub sse_enabled: bool,
    pub point_in_time_recovery: bool,
}

/// `DeliveryQueue` and `DeliveryDeadLetterQueue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDefinition {
    pub visibility_timeout_seconds: Option<u32>,
    pub message_retention_seconds: Option<u32>,
    pub sqs_managed_sse: bool,
    /// `RedrivePolicy.maxReceiveCount`, a parameter's default when it is a `!Ref`.
    pub max_receive_count: u32,
    /// The lowest `maxReceiveCount` a deployment can set: the parameter's
    /// `MinValue` (1 without one), or the literal.
    pub max_receive_count_min: u32,
    pub dead_letter: DeadLetterQueueDefinition,
}

/// The delivery worker as far as the queue's settings depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDefinition {
    /// `Timeout` of the function whose SQS event reads `DeliveryQueue`
    /// (its own, else `Globals.Function`'s).
    pub timeout_seconds: u32,
    /// The largest `MaximumBatchingWindowInSeconds` a deployment can set:
    /// the parameter's `MaxValue`, or the literal (0 when absent).
    pub max_batching_window_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQueueDefinition {
    pub message_retention_seconds: Option<u32>,
    pub sqs_managed_sse: bool,
}

impl Template {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(yaml: &str) -> Result<Self> {
        let root: Value = serde_norway::from_str(yaml).context("template is not valid YAML")?;
        let doc = Doc::new(&root)?;
        Ok(Self {
            table: doc.table()?,
            queues: doc.queues(QUEUE_RESOURCE, DEAD_LETTER_QUEUE_RESOURCE)?,
            webhook_queues: doc
                .queues(WEBHOOK_QUEUE_RESOURCE, WEBHOOK_DEAD_LETTER_QUEUE_RESOURCE)?,
            worker: doc.worker(&root)?,
        })
    }
}

impl TableDefinition {
    pub fn hash_key(&self) -> Option<&str> {
        self.key_schema
            .iter()
            .find(|key| key.key_type == KeyType::Hash)
            .map(|key| key.attribute.as_str())
    }
}

/// The parsed document and the paths used in error messages.
struct Doc<'a> {
    resources: &'a Mapping,
    parameters: Option<&'a Mapping>,
}

impl<'a> Doc<'a> {
    fn new(root: &'a Value) -> Result<Self> {
        let root = root
            .as_mapping()
            .ok_or_else(|| anyhow!("template must be a YAML mapping"))?;
        let resources = root
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("template has no `Resources` mapping"))?;
        let parameters = root.get("Parameters").and_then(Value::as_mapping);
        Ok(Self {
            resources,
            parameters,
        })
    }

    /// The `Properties` of a resource, checking its `Type`.
    fn properties(&self, logical_id: &str, expected_type: &str) -> Result<At<'a>> {
        let resource = self
            .resources
            .get(logical_id)
            .ok_or_else(|| anyhow!("Resources.{logical_id} is missing"))?;
        let resource = At::new(resource, format!("Resources.{logical_id}"));
        let actual_type = self.string(&resource.field("Type")?)?;
        if actual_type != expected_type {
            bail!("Resources.{logical_id} must be a {expected_type}, found {actual_type}");
        }
        resource.field("Properties")
    }

    fn table(&self) -> Result<TableDefinition> {
        let props = self.properties(TABLE_RESOURCE, "AWS::DynamoDB::Table")?;

        let billing_mode = self.string(&props.field("BillingMode")?)?;
        if billing_mode != "PAY_PER_REQUEST" {
            bail!(
                "{}: only PAY_PER_REQUEST is supported, found {billing_mode}",
                props.child_path("BillingMode")
            );
        }

        let mut attribute_definitions = Vec::new();
        for item in props.field("AttributeDefinitions")?.items()? {
            let name = self.string(&item.field("AttributeName")?)?;
            let kind = item.field("AttributeType")?;
            let attribute_type = match self.string(&kind)?.as_str() {
                "S" => AttributeType::S,
                "N" => AttributeType::N,
                "B" => AttributeType::B,
                other => bail!("{}: unknown attribute type {other}", kind.path),
            };
            attribute_definitions.push(AttributeDefinition {
                name,
                attribute_type,
            });
        }

        let key_schema = self.key_schema(&props.field("KeySchema")?)?;

        let mut global_secondary_indexes = Vec::new();
        if let Some(indexes) = props.optional("GlobalSecondaryIndexes") {
            for index in indexes.items()? {
                let projection = index.field("Projection")?;
                let kind = projection.field("ProjectionType")?;
                let projection_type = match self.string(&kind)?.as_str() {
                    "ALL" => ProjectionType::All,
                    "KEYS_ONLY" => ProjectionType::KeysOnly,
                    "INCLUDE" => ProjectionType::Include,
                    other => bail!("{}: unknown projection type {other}", kind.path),
                };
                let non_key_attributes = match projection.optional("NonKeyAttributes") {
                    Some(list) => list
                        .items()?
                        .iter()
                        .map(|item| self.string(item))
                        .collect::<Result<_>>()?,
                    None => Vec::new(),
                };
                global_secondary_indexes.push(GlobalSecondaryIndex {
                    name: self.string(&index.field("IndexName")?)?,
                    key_schema: self.key_schema(&index.field("KeySchema")?)?,
                    projection: Projection {
                        projection_type,
                        non_key_attributes,
                    },
                });
            }
        }

        let ttl_attribute = match props.optional("TimeToLiveSpecification") {
            Some(ttl) if self.boolean(&ttl.field("Enabled")?)? => {
                Some(self.string(&ttl.field("AttributeName")?)?)
            }
            _ => None,
        };
        let sse_enabled = match props.optional("SSESpecification") {
            Some(sse) => self.boolean(&sse.field("SSEEnabled")?)?,
            None => false,
        };
        let point_in_time_recovery = match props.optional("PointInTimeRecoverySpecification") {
            Some(pitr) => match pitr.optional("PointInTimeRecoveryEnabled") {
                Some(enabled) => self.boolean(&enabled)?,
                None => false,
            },
            None => false,
        };

        let table = TableDefinition {
            attribute_definitions,
            key_schema,
            global_secondary_indexes,
            ttl_attribute,
            sse_enabled,
            point_in_time_recovery,
        };
        validate_table(&table).with_context(|| format!("in Resources.{TABLE_RESOURCE}"))?;
        Ok(table)
    }

    fn key_schema(&self, at: &At<'a>) -> Result<Vec<KeyElement>> {
        let mut keys = Vec::new();
        for item in at.items()? {
            let kind = item.field("KeyType")?;
            let key_type = match self.string(&kind)?.as_str() {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => bail!("{}: unknown key type {other}", kind.path),
            };
            keys.push(KeyElement {
                attribute: self.string(&item.field("AttributeName")?)?,
                key_type,
            });
        }
        match keys.as_slice() {
            [first] | [first, _] if first.key_type == KeyType::Hash => {}
            _ => bail!(
                "{}: a key schema is one HASH element, optionally followed by one RANGE element",
                at.path
            ),
        }
        if keys.len() == 2 && keys[1].key_type != KeyType::Range {
            bail!("{}: the second key element must be RANGE", at.path);
        }
        Ok(keys)
    }

    /// The queue `queue_id` and its dead-letter queue `dlq_id`.
    fn queues(&self, queue_id: &str, dlq_id: &str) -> Result<QueueDefinition> {
        let dlq = self.properties(dlq_id, "AWS::SQS::Queue")?;
        let queue = self.properties(queue_id, "AWS::SQS::Queue")?;

        let redrive = queue.field("RedrivePolicy")?;
        let target = redrive.field("deadLetterTargetArn")?;
        if !is_get_att_arn(target.value, dlq_id) {
            bail!("{}: must be !GetAtt {dlq_id}.Arn", target.path);
        }
        let max_receive_count = self.number(&redrive.field("maxReceiveCount")?)?;
        let max_receive_count_min =
            self.bound(&redrive.field("maxReceiveCount")?, "MinValue", 1)?;

        Ok(QueueDefinition {
            visibility_timeout_seconds: self.optional_number(&queue, "VisibilityTimeout")?,
            message_retention_seconds: self.optional_number(&queue, "MessageRetentionPeriod")?,
            sqs_managed_sse: self.optional_boolean(&queue, "SqsManagedSseEnabled")?,
            max_receive_count,
            max_receive_count_min,
            dead_letter: DeadLetterQueueDefinition {
                message_retention_seconds: self.optional_number(&dlq, "MessageRetentionPeriod")?,
                sqs_managed_sse: self.optional_boolean(&dlq, "SqsManagedSseEnabled")?,
            },
        })
    }

    /// The function with an SQS event on `DeliveryQueue`, if any.
    fn worker(&self, root: &'a Value) -> Result<Option<WorkerDefinition>> {
        for (logical_id, resource) in self.resources {
            let name = logical_id.as_str().unwrap_or_default();
            let resource = At::new(resource, format!("Resources.{name}"));
            let Some(properties) = resource.optional("Properties") else {
                continue;
            };
            let Some(events) = properties.optional("Events") else {
                continue;
            };
            let Some(events) = events.value.as_mapping() else {
                continue;
            };
            for (event_id, event) in events {
                let event = At::new(event, format!("{}.Events.{event_id:?}", properties.path));
                let is_queue = event
                    .optional("Type")
                    .and_then(|t| t.value.as_str().map(str::to_owned))
                    == Some("SQS".to_owned())
                    && event
                        .optional("Properties")
                        .and_then(|p| p.optional("Queue"))
                        .is_some_and(|queue| is_get_att_arn(queue.value, QUEUE_RESOURCE));
                if !is_queue {
                    continue;
                }
                let timeout = match properties.optional("Timeout") {
                    Some(at) => Some(at),
                    None => root
                        .get("Globals")
                        .and_then(|globals| globals.get("Function"))
                        .and_then(|function| function.get("Timeout"))
                        .map(|value| At::new(value, "Globals.Function.Timeout".to_owned())),
                }
                .ok_or_else(|| anyhow!("{}: the worker has no Timeout", resource.path))?;
                let window = match event
                    .optional("Properties")
                    .and_then(|p| p.optional("MaximumBatchingWindowInSeconds"))
                {
                    Some(at) => self.bound(&at, "MaxValue", u32::MAX)?,
                    None => 0,
                };
                return Ok(Some(WorkerDefinition {
                    timeout_seconds: self.number(&timeout)?,
                    max_batching_window_seconds: window,
                }));
            }
        }
        Ok(None)
    }

    /// A literal number, or the `MinValue`/`MaxValue` (`bound`) of the
    /// parameter a `Ref` names; `unbounded` when the parameter has none.
    fn bound(&self, at: &At<'a>, bound: &str, unbounded: u32) -> Result<u32> {
        let Some(name) = ref_target(at.value) else {
            return self.number(at);
        };
        let parameter = self
            .parameters
            .and_then(|parameters| parameters.get(name))
            .ok_or_else(|| anyhow!("{}: !Ref {name} names no parameter", at.path))?;
        match parameter.get(bound) {
            Some(value) => self.number(&At::new(value, format!("Parameters.{name}.{bound}"))),
            None => Ok(unbounded),
        }
    }

    /// A literal, or the default of the parameter a `Ref` names.
    fn resolve(&self, at: &At<'a>) -> Result<At<'a>> {
        let Some(name) = ref_target(at.value) else {
            if let Value::Tagged(tagged) = at.value {
                bail!(
                    "{}: {} cannot be resolved without deploying; use a literal or a !Ref to a parameter",
                    at.path,
                    tagged.tag
                );
            }
            return Ok(at.clone());
        };
        if name.starts_with("AWS::") {
            bail!("{}: pseudo parameter {name} has no local value", at.path);
        }
        let parameter = self
            .parameters
            .and_then(|parameters| parameters.get(name))
            .ok_or_else(|| anyhow!("{}: !Ref {name} names no parameter", at.path))?;
        let default = parameter
            .get("Default")
            .ok_or_else(|| anyhow!("{}: parameter {name} has no Default", at.path))?;
        Ok(At::new(default, format!("Parameters.{name}.Default")))
    }

    fn string(&self, at: &At<'a>) -> Result<String> {
        let at = self.resolve(at)?;
        match at.value {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            _ => bail!("{}: expected a string", at.path),
        }
    }

    fn number(&self, at: &At<'a>) -> Result<u32> {
        let at = self.resolve(at)?;
        let number = match at.value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse::<u64>().ok(),
            _ => None,
        };
        number
            .and_then(|number| u32::try_from(number).ok())
            .ok_or_else(|| anyhow!("{}: expected a non-negative integer", at.path))
    }

    fn boolean(&self, at: &At<'a>) -> Result<bool> {
        let at = self.resolve(at)?;
        match at.value {
            Value::Bool(flag) => Ok(*flag),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            _ => bail!("{}: expected true or false", at.path),
        }
    }

    fn optional_number(&self, props: &At<'a>, key: &str) -> Result<Option<u32>> {
        props.optional(key).map(|at| self.number(&at)).transpose()
    }

    fn optional_boolean(&self, props: &At<'a>, key: &str) -> Result<bool> {
        Ok(props
            .optional(key)
            .map(|at| self.boolean(&at))
            .transpose()?
            .unwrap_or(false))
    }
}

/// A value and where it sits in the template.
#[derive(Clone)]
struct At<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> At<'a> {
    fn new(value: &'a Value, path: String) -> Self {
        Self { value, path }
    }

    fn child_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn optional(&self, key: &str) -> Option<At<'a>> {
        self.value
            .as_mapping()
            .and_then(|mapping| mapping.get(key))
            .filter(|value| !value.is_null())
            .map(|value| At::new(value, self.child_path(key)))
    }

    fn field(&self, key: &str) -> Result<At<'a>> {
        if self.value.as_mapping().is_none() {
            bail!("{}: expected a mapping", self.path);
        }
        self.optional(key)
            .ok_or_else(|| anyhow!("{} is missing", self.child_path(key)))
    }

    fn items(&self) -> Result<Vec<At<'a>>> {
        let sequence = self
            .value
            .as_sequence()
            .ok_or_else(|| anyhow!("{}: expected a list", self.path))?;
        Ok(sequence
            .iter()
            .enumerate()
            .map(|(index, value)| At::new(value, format!("{}[{index}]", self.path)))
            .collect())
    }
}

/// The target of `!Ref X` or `{"Ref": X}`.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(mapping) if mapping.len() == 1 => mapping.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

/// `!GetAtt R.Arn`, `!GetAtt [R, Arn]` or `{"Fn::GetAtt": [R, Arn]}`.
fn is_get_att_arn(value: &Value, resource: &str) -> bool {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => &tagged.value,
        Value::Mapping(mapping) if mapping.len() == 1 => match mapping.get("Fn::GetAtt") {
            Some(target) => target,
            None => return false,
        },
        _ => return false,
    };
    match target {
        Value::String(text) => text.split_once('.') == Some((resource, "Arn")),
        Value::Sequence(parts) => {
            parts.len() == 2
                && parts[0].as_str() == Some(resource)
                && parts[1].as_str() == Some("Arn")
        }
        _ => false,
    }
}

/// The checks DynamoDB itself makes, so a broken template fails here with a
/// clear message rather than as an API error.
fn validate_table(table: &TableDefinition) -> Result<()> {
    let mut defined = BTreeSet::new();
    for attribute in &table.attribute_definitions {
        if !defined.insert(attribute.name.as_str()) {
            bail!("attribute {} is defined twice", attribute.name);
        }
    }
    let mut used = BTreeSet::new();
    let mut index_names = BTreeSet::new();
    let schemas = std::iter::once(("the table", &table.key_schema)).chain(
        table
            .global_secondary_indexes
            .iter()
            .map(|index| (index.name.as_str(), &index.key_schema)),
    );
    for (owner, schema) in schemas {
        for key in schema {
            if !defined.contains(key.attribute.as_str()) {
                bail!(
                    "key attribute {} of {owner} is not in AttributeDefinitions",
                    key.attribute
                );
            }
            used.insert(key.attribute.as_str());
        }
    }
    for index in &table.global_secondary_indexes {
        if !index_names.insert(index.name.as_str()) {
            bail!("index {} is defined twice", index.name);
        }
    }
    if let Some(unused) = defined.difference(&used).next() {
        bail!("attribute {unused} is defined but is no key: DynamoDB rejects that");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    fn real() -> Template {
        match Template::parse(TEMPLATE) {
            Ok(template) => template,
            Err(err) => panic!("template.yaml does not parse: {err:#}"),
        }
    }

    fn key(attribute: &str, key_type: KeyType) -> KeyElement {
        KeyElement {
            attribute: attribute.to_owned(),
            key_type,
        }
    }

    fn error_of(yaml: &str) -> String {
        match Template::parse(yaml) {
            Ok(template) => panic!("accepted: {template:?}"),
            Err(err) => format!("{err:#}"),
        }
    }

    #[test]
    fn the_table_has_pk_and_sk_as_its_primary_key() {
        let table = real().table;
        assert_eq!(
            table.key_schema,
            vec![key("PK", KeyType::Hash), key("SK", KeyType::Range)]
        );
        assert_eq!(table.hash_key(), Some("PK"));
    }

    #[test]
    fn every_key_attribute_is_a_string() {
        let table = real().table;
        let names: Vec<_> = table
            .attribute_definitions
            .iter()
            .map(|attribute| (attribute.name.as_str(), attribute.attribute_type))
            .collect();
        assert_eq!(
            names,
            vec![
                ("PK", AttributeType::S),
                ("SK", AttributeType::S),
                ("GSI1PK", AttributeType::S),
                ("GSI1SK", AttributeType::S),
            ]
        );
    }

    #[test]
    fn gsi1_projects_all_attributes_under_its_own_keys() {
        let table = real().table;
        assert_eq!(
            table.global_secondary_indexes,
            vec![GlobalSecondaryIndex {
                name: "GSI1".to_owned(),
                key_schema: vec![key("GSI1PK", KeyType::Hash), key("GSI1SK", KeyType::Range)],
                projection: Projection {
                    projection_type: ProjectionType::All,
                    non_key_attributes: Vec::new(),
                },
            }]
        );
    }

    #[test]
    fn the_index_name_matches_the_one_the_store_queries() {
        let table = real().table;
        assert!(table
            .global_secondary_indexes
            .iter()
            .any(|index| index.name == notify_shared::store::GSI1));
        assert_eq!(table.hash_key(), Some(notify_shared::store::PK));
    }

    #[test]
    fn items_expire_through_the_expires_at_attribute() {
        let table = real().table;
        assert_eq!(table.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(table.sse_enabled);
        assert!(table.point_in_time_recovery);
    }

    #[test]
    fn the_delivery_queue_outlasts_six_worker_timeouts_and_redrives_after_the_parameter_default() {
        let queues = real().queues;
        assert_eq!(queues.visibility_timeout_seconds, Some(240));
        assert_eq!(queues.max_receive_count, 5);
        assert_eq!(queues.max_receive_count_min, 5);
        assert!(queues.sqs_managed_sse);
        // SQS's maximum: a backlog waits rather than expiring (review N2).
        assert_eq!(queues.message_retention_seconds, Some(1_209_600));
        assert_eq!(
            queues.dead_letter,
            DeadLetterQueueDefinition {
                message_retention_seconds: Some(1_209_600),
                sqs_managed_sse: true,
            }
        );
    }

    const MINIMAL: &str = r#"
Parameters:
  Receives: { Type: Number, Default: "7" }
Resources:
  NotifyTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
  DeliveryDeadLetterQueue:
    Type: AWS::SQS::Queue
  DeliveryQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: "60"
      RedrivePolicy:
        deadLetterTargetArn: { "Fn::GetAtt": [DeliveryDeadLetterQueue, Arn] }
        maxReceiveCount: { Ref: Receives }
  WebhookDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties: {}
  WebhookQueue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WebhookDeadLetterQueue.Arn
        maxReceiveCount: 9
"#;

    #[test]
    fn long_form_intrinsics_and_string_numbers_are_understood() {
        // The DLQ has no Properties at all here: that is an error, named.
        let with_dlq_properties = MINIMAL.replace(
            "    Type: AWS::SQS::Queue\n  DeliveryQueue:",
            "    Type: AWS::SQS::Queue\n    Properties: {}\n  DeliveryQueue:",
        );
        let template = Template::parse(&with_dlq_properties).map_err(|err| format!("{err:#}"));
        let queues = template.map(|template| template.queues);
        assert_eq!(
            queues.as_ref().map(|queues| (
                queues.visibility_timeout_seconds,
                queues.max_receive_count,
                queues.sqs_managed_sse
            )),
            Ok((Some(60), 7, false))
        );
        assert!(
            error_of(MINIMAL).contains("Resources.DeliveryDeadLetterQueue.Properties is missing")
        );
    }

    #[test]
    fn a_key_attribute_missing_from_the_definitions_is_named() {
        let yaml = TEMPLATE.replace(
            "AttributeName: GSI1SK\n          AttributeType: S",
            "AttributeName: Other\n          AttributeType: S",
        );
        let error = error_of(&yaml);
        assert!(error.contains("GSI1SK"), "{error}");
    }

    #[test]
    fn a_redrive_policy_pointing_elsewhere_is_rejected() {
        let yaml = TEMPLATE.replace(
            "deadLetterTargetArn: !GetAtt DeliveryDeadLetterQueue.Arn",
            "deadLetterTargetArn: !GetAtt SomeOtherQueue.Arn",
        );
        assert!(error_of(&yaml).contains("deadLetterTargetArn"));
    }

    #[test]
    fn a_ref_to_an_unknown_parameter_is_rejected() {
        let yaml = TEMPLATE.replace(
            "maxReceiveCount: !Ref DeliveryMaxReceiveCount",
            "maxReceiveCount: !Ref Nowhere",
        );
        assert!(error_of(&yaml).contains("Nowhere"));
    }

    #[test]
    fn provisioned_billing_is_refused() {
        let yaml = TEMPLATE.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED");
        assert!(error_of(&yaml).contains("PAY_PER_REQUEST"));
    }

    #[test]
    fn a_missing_table_is_named() {
        let yaml = TEMPLATE.replace("  NotifyTable:\n", "  RenamedTable:\n");
        assert!(error_of(&yaml).contains("Resources.NotifyTable is missing"));
    }
}
