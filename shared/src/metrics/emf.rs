//! One CloudWatch embedded metric format (EMF) document: the model the
//! functions write and `notifyctl metrics` reads, so the two cannot drift.
//!
//! The document (CloudWatch, "Specification: Embedded metric format") is one
//! JSON object on a line of its own: `_aws` holds `Timestamp` (milliseconds
//! since the epoch) and `CloudWatchMetrics`, a list of directives, each
//! `{"Namespace", "Dimensions": [[key, ...], ...], "Metrics": [{"Name",
//! "Unit"}]}`. Every dimension key and metric name a directive lists is a
//! top-level member: a dimension's value a string, a metric's a number or an
//! array of up to 100 numbers. Any other top-level member is a property:
//! searchable in the log, never a metric (the tenant id is one).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// Values of one metric in one document, at most.
pub const MAX_VALUES: usize = 100;
/// Metrics of one directive, at most.
pub const MAX_METRICS: usize = 100;
/// Dimension keys of one dimension set, at most.
pub const MAX_DIMENSIONS: usize = 30;

/// The units our metrics use (CloudWatch's `StandardUnit` names).
pub const COUNT: &str = "Count";
pub const MILLISECONDS: &str = "Milliseconds";

/// A metric a directive names, with its unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDefinition {
    pub name: String,
    pub unit: String,
}

/// Which members of the document are metrics, under which namespace and
/// dimension sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub namespace: String,
    /// Each set publishes every metric of the directive once.
    pub dimensions: Vec<Vec<String>>,
    pub metrics: Vec<MetricDefinition>,
}

/// One EMF document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmfLine {
    pub timestamp_ms: u64,
    pub directives: Vec<Directive>,
    /// Dimension values, by key.
    pub dimensions: BTreeMap<String, String>,
    /// Metric values, by name.
    pub values: BTreeMap<String, Vec<f64>>,
    /// Everything else: searchable in the log, not a metric.
    pub properties: BTreeMap<String, Value>,
}

impl EmfLine {
    /// What makes the document invalid EMF (CloudWatch would extract no
    /// metric from it), if anything.
    pub fn problem(&self) -> Option<String> {
        if self.directives.is_empty() {
            return Some("no directive in CloudWatchMetrics".to_owned());
        }
        for directive in &self.directives {
            if directive.namespace.is_empty() || directive.namespace.starts_with("AWS/") {
                return Some(format!("namespace {:?} is not usable", directive.namespace));
            }
            if directive.metrics.is_empty() || directive.metrics.len() > MAX_METRICS {
                return Some(format!(
                    "{} metrics in a directive",
                    directive.metrics.len()
                ));
            }
            for set in &directive.dimensions {
                if set.len() > MAX_DIMENSIONS {
                    return Some(format!("{} dimensions in a set", set.len()));
                }
                if let Some(key) = set.iter().find(|key| !self.dimensions.contains_key(*key)) {
                    return Some(format!("dimension {key} has no value"));
                }
            }
            for metric in &directive.metrics {
                let values = self.values.get(&metric.name).map(Vec::as_slice);
                match values {
                    None | Some([]) => return Some(format!("metric {} has no value", metric.name)),
                    Some(values) if values.len() > MAX_VALUES => {
                        return Some(format!(
                            "metric {} has {} values",
                            metric.name,
                            values.len()
                        ))
                    }
                    Some(values) if values.iter().any(|v| !v.is_finite()) => {
                        return Some(format!(
                            "metric {} has a value that is not a number",
                            metric.name
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        self.values
            .keys()
            .find(|name| !self.directives.iter().any(|d| d.names(name)))
            .map(|name| format!("value {name} is not in any directive"))
    }

    /// The document as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        let directives: Vec<Value> = self.directives.iter().map(Directive::to_json).collect();
        let mut aws = Map::new();
        aws.insert("Timestamp".into(), Value::from(self.timestamp_ms));
        aws.insert("CloudWatchMetrics".into(), Value::Array(directives));
        let mut root = Map::new();
        root.insert("_aws".into(), Value::Object(aws));
        for (key, value) in &self.properties {
            root.insert(key.clone(), value.clone());
        }
        for (key, value) in &self.dimensions {
            root.insert(key.clone(), Value::from(value.as_str()));
        }
        for (name, values) in &self.values {
            let number = |v: &f64| match *v {
                // Whole numbers (counts) as integers: shorter, and exact.
                whole if whole.fract() == 0.0 && whole.abs() < 9.0e15 => Value::from(whole as i64),
                v => Number::from_f64(v).map_or(Value::Null, Value::Number),
            };
            let value = match values.as_slice() {
                [one] => number(one),
                many => Value::Array(many.iter().map(number).collect()),
            };
            root.insert(name.clone(), value);
        }
        Value::Object(root).to_string()
    }

    /// Reads a log line: `None` when it is not an EMF document (any other
    /// log line), `Some(Err)` when it has an `_aws` member but is not valid
    /// EMF. Text before the first `{` (a log prefix) is skipped.
    pub fn parse(line: &str) -> Option<Result<EmfLine, String>> {
        let start = line.find('{')?;
        let Ok(Value::Object(mut root)) = serde_json::from_str::<Value>(line[start..].trim_end())
        else {
            return None;
        };
        let aws = root.remove("_aws")?;
        Some(
            Self::from_parts(aws, root).and_then(|line| match line.problem() {
                Some(problem) => Err(problem),
                None => Ok(line),
            }),
        )
    }

    fn from_parts(aws: Value, mut root: Map<String, Value>) -> Result<EmfLine, String> {
        let timestamp_ms = aws
            .get("Timestamp")
            .and_then(Value::as_u64)
            .ok_or("_aws.Timestamp is not a number of milliseconds")?;
        let directives = aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .ok_or("_aws.CloudWatchMetrics is not an array")?
            .iter()
            .map(Directive::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let mut line = EmfLine {
            timestamp_ms,
            directives,
            ..EmfLine::default()
        };
        let keys: Vec<String> = root.keys().cloned().collect();
        for key in keys {
            let Some(value) = root.remove(&key) else {
                continue;
            };
            if line.directives.iter().any(|d| d.names(&key)) {
                line.values
                    .insert(key.clone(), metric_values(&key, &value)?);
            } else if line.directives.iter().any(|d| d.keys(&key)) {
                let text = value
                    .as_str()
                    .ok_or(format!("dimension {key} is not a string"))?;
                line.dimensions.insert(key, text.to_owned());
            } else {
                line.properties.insert(key, value);
            }
        }
        Ok(line)
    }
}

fn metric_values(name: &str, value: &Value) -> Result<Vec<f64>, String> {
    let not_numbers = || format!("metric {name} is not a number or an array of numbers");
    match value {
        Value::Number(number) => Ok(vec![number.as_f64().ok_or_else(not_numbers)?]),
        Value::Array(values) => values
            .iter()
            .map(|v| v.as_f64().ok_or_else(not_numbers))
            .collect(),
        _ => Err(not_numbers()),
    }
}

impl Directive {
    /// Whether this directive names metric `name`.
    pub fn names(&self, name: &str) -> bool {
        self.metrics.iter().any(|metric| metric.name == name)
    }

    /// Whether one of its dimension sets has key `key`.
    pub fn keys(&self, key: &str) -> bool {
        self.dimensions.iter().flatten().any(|k| k == key)
    }

    fn to_json(&self) -> Value {
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|m| serde_json::json!({"Name": m.name, "Unit": m.unit}))
            .collect();
        serde_json::json!({
            "Namespace": self.namespace,
            "Dimensions": self.dimensions,
            "Metrics": metrics,
        })
    }

    fn from_json(value: &Value) -> Result<Directive, String> {
        let namespace = value
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("a directive has no Namespace")?;
        let dimensions: Vec<Vec<String>> = value
            .get("Dimensions")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| "Dimensions is not an array of arrays of strings")?
            .unwrap_or_default();
        let metrics = value
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive has no Metrics")?
            .iter()
            .map(|metric| {
                let name = metric.get("Name").and_then(Value::as_str);
                let unit = metric.get("Unit").and_then(Value::as_str).unwrap_or("None");
                name.map(|name| MetricDefinition {
                    name: name.to_owned(),
                    unit: unit.to_owned(),
                })
                .ok_or("a metric has no Name")
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Directive {
            namespace: namespace.to_owned(),
            dimensions,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EmfLine {
        EmfLine {
            timestamp_ms: 1_795_775_400_123,
            directives: vec![Directive {
                namespace: "Notify".into(),
                dimensions: vec![vec!["Provider".into(), "Outcome".into()]],
                metrics: vec![
                    MetricDefinition {
                        name: "Pushes".into(),
                        unit: COUNT.into(),
                    },
                    MetricDefinition {
                        name: "ProviderLatency".into(),
                        unit: MILLISECONDS.into(),
                    },
                ],
            }],
            dimensions: [("Provider", "apns"), ("Outcome", "delivered")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            values: [
                ("Pushes".to_owned(), vec![3.0]),
                ("ProviderLatency".to_owned(), vec![12.5, 14.0, 30.25]),
            ]
            .into_iter()
            .collect(),
            properties: [("tenant_id".to_owned(), Value::from("tnt_x"))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_line_is_one_json_object_with_the_members_the_specification_names() {
        let text = sample().to_json();
        assert!(!text.contains('\n'));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 1_795_775_400_123_u64);
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Notify");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Provider", "Outcome"]])
        );
        assert_eq!(directive["Metrics"][1]["Unit"], "Milliseconds");
        assert_eq!(value["Pushes"], 3);
        assert!(value["Pushes"].is_u64(), "a count is written whole: {text}");
        assert_eq!(
            value["ProviderLatency"],
            serde_json::json!([12.5, 14, 30.25])
        );
        assert_eq!(value["Provider"], "apns");
        assert_eq!(value["tenant_id"], "tnt_x");
    }

    #[test]
    fn what_is_written_reads_back_the_same_prefix_or_not() {
        let line = sample();
        assert_eq!(EmfLine::parse(&line.to_json()), Some(Ok(line.clone())));
        let prefixed = format!("2026-12-07T17:00:00Z\tINFO\t{}\n", line.to_json());
        assert_eq!(EmfLine::parse(&prefixed), Some(Ok(line)));
    }

    #[test]
    fn other_log_lines_are_not_emf_and_broken_documents_are_reported() {
        assert_eq!(EmfLine::parse("START RequestId: 1 Version: $LATEST"), None);
        assert_eq!(EmfLine::parse(r#"{"level":"INFO","fields":{}}"#), None);
        assert_eq!(EmfLine::parse("{not json"), None);
        let missing_value = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Notify","Dimensions":[["Provider"]],"Metrics":[{"Name":"Pushes","Unit":"Count"}]}]},"Provider":"fcm"}"#;
        assert!(matches!(EmfLine::parse(missing_value), Some(Err(e)) if e.contains("Pushes")));
        let missing_dimension = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Notify","Dimensions":[["Provider"]],"Metrics":[{"Name":"Pushes","Unit":"Count"}]}]},"Pushes":1}"#;
        assert!(
            matches!(EmfLine::parse(missing_dimension), Some(Err(e)) if e.contains("Provider"))
        );
    }

    #[test]
    fn limits_of_the_specification_are_checked() {
        let mut line = sample();
        line.values
            .insert("ProviderLatency".into(), vec![1.0; MAX_VALUES + 1]);
        assert!(line.problem().is_some());
        let mut line = sample();
        line.directives[0].namespace = "AWS/Lambda".into();
        assert!(line.problem().is_some());
        let mut line = sample();
        line.values.insert("Stray".into(), vec![1.0]);
        assert!(line.problem().is_some());
        assert_eq!(sample().problem(), None);
    }
}
