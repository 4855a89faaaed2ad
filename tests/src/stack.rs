//! template.yaml as CloudFormation would deploy it for given parameter
//! values: its rules checked, its conditions decided, and the intrinsics of
//! the parts a test asks for (`Ref`, `Fn::Sub`, `Fn::If`, `Fn::Equals`,
//! `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`, `Fn::GetAtt`, `Fn::Join`,
//! `Fn::Split`, `Fn::Select`) evaluated, in their short (`!If`) and long
//! (`{"Fn::If": ...}`) forms. What only exists once deployed stays a
//! placeholder: `!Ref UserPool` is `<UserPool>`, `!GetAtt Queue.Arn` is
//! `<Queue.Arn>`. The pseudo parameters are those of a stack `notify` in
//! us-east-1 of account 123456789012.

use std::collections::BTreeMap;

use serde_norway::{Mapping, Value};

pub const REGION: &str = "us-east-1";
pub const STACK_NAME: &str = "notify";

/// template.yaml with parameter values; the others keep their `Default`.
pub struct Stack {
    template: Value,
    parameters: BTreeMap<String, String>,
}

impl Stack {
    /// The repository's template.yaml with `parameters` set.
    pub fn of_template(parameters: &[(&str, &str)]) -> Self {
        let text = crate::repo::read("template.yaml");
        let template = serde_norway::from_str(&text)
            .unwrap_or_else(|err| panic!("template.yaml is not YAML: {err}"));
        Self::new(template, parameters)
    }

    /// `template` with `parameters` set; panics on an unknown parameter or a
    /// value outside its `AllowedValues`, as CloudFormation refuses them.
    pub fn new(template: Value, parameters: &[(&str, &str)]) -> Self {
        let declared = template
            .get("Parameters")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let mut values = BTreeMap::new();
        for (name, declaration) in &declared {
            let name = name.as_str().unwrap_or_default();
            if let Some(default) = declaration.get("Default") {
                values.insert(name.to_owned(), scalar(default));
            }
        }
        for (name, value) in parameters {
            let declaration = declared
                .get(*name)
                .unwrap_or_else(|| panic!("template.yaml has no parameter {name}"));
            if let Some(allowed) = declaration
                .get("AllowedValues")
                .and_then(Value::as_sequence)
            {
                assert!(
                    allowed.iter().any(|v| scalar(v) == *value),
                    "{name}={value} is not among its AllowedValues"
                );
            }
            values.insert((*name).to_owned(), (*value).to_owned());
        }
        Self {
            template,
            parameters: values,
        }
    }

    /// The `AssertDescription` of every assertion of `Rules` that fails:
    /// CloudFormation refuses to create or update the stack when any does.
    pub fn broken_rules(&self) -> Vec<String> {
        let rules = self
            .template
            .get("Rules")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let mut broken = Vec::new();
        for (name, rule) in &rules {
            let applies = rule.get("RuleCondition").is_none_or(|c| self.truth(c));
            if !applies {
                continue;
            }
            for assertion in rule
                .get("Assertions")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let holds = assertion
                    .get("Assert")
                    .is_some_and(|assert| self.truth(assert));
                if !holds {
                    let description = assertion.get("AssertDescription").map(scalar);
                    broken.push(description.unwrap_or_else(|| scalar(name)));
                }
            }
        }
        broken
    }

    /// Whether the named condition of `Conditions` holds.
    pub fn condition(&self, name: &str) -> bool {
        let expression = self
            .template
            .get("Conditions")
            .and_then(|conditions| conditions.get(name))
            .unwrap_or_else(|| panic!("template.yaml has no condition {name}"));
        self.truth(expression)
    }

    /// Whether the resource (or output) is created: it has no `Condition`, or
    /// its condition holds.
    fn exists(&self, declaration: &Value) -> bool {
        declaration
            .get("Condition")
            .and_then(Value::as_str)
            .is_none_or(|name| self.condition(name))
    }

    /// The resource as deployed (its properties evaluated), `None` when its
    /// condition keeps it out, or the template lacks it.
    pub fn resource(&self, logical_id: &str) -> Option<Value> {
        let declaration = self.template.get("Resources")?.get(logical_id)?;
        self.exists(declaration)
            .then(|| self.eval(declaration))
            .flatten()
    }

    /// The logical ids of the resources of `kind` the stack creates.
    pub fn resources_of_type(&self, kind: &str) -> Vec<String> {
        let resources = self.template.get("Resources").and_then(Value::as_mapping);
        resources
            .into_iter()
            .flatten()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter(|(_, r)| self.exists(r))
            .map(|(id, _)| scalar(id))
            .collect()
    }

    /// The value of an output, `None` when its condition keeps it out.
    pub fn output(&self, name: &str) -> Option<String> {
        let declaration = self.template.get("Outputs")?.get(name)?;
        if !self.exists(declaration) {
            return None;
        }
        declaration
            .get("Value")
            .and_then(|v| self.eval(v))
            .map(|v| scalar(&v))
    }

    /// A serverless function's environment as Lambda gets it: the Globals'
    /// variables, then its own over them.
    pub fn function_environment(&self, logical_id: &str) -> BTreeMap<String, String> {
        let path = ["Globals", "Function", "Environment", "Variables"];
        let globals = path.iter().try_fold(&self.template, |v, key| v.get(*key));
        let function = self
            .resource(logical_id)
            .unwrap_or_else(|| panic!("the stack has no {logical_id}"));
        let own = ["Properties", "Environment", "Variables"]
            .iter()
            .try_fold(&function, |v, key| v.get(*key))
            .cloned();
        let mut variables = BTreeMap::new();
        for layer in [globals.and_then(|g| self.eval(g)), own] {
            for (name, value) in layer
                .as_ref()
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                variables.insert(scalar(name), scalar(value));
            }
        }
        variables
    }

    fn truth(&self, expression: &Value) -> bool {
        match self.eval(expression) {
            Some(Value::Bool(truth)) => truth,
            other => panic!("not a condition: {expression:?} is {other:?}"),
        }
    }

    /// `value` with its intrinsics evaluated; `None` for `AWS::NoValue`.
    pub fn eval(&self, value: &Value) -> Option<Value> {
        if let Some((function, argument)) = intrinsic(value) {
            return self.call(function, argument);
        }
        match value {
            Value::Sequence(items) => Some(Value::Sequence(
                items.iter().filter_map(|item| self.eval(item)).collect(),
            )),
            Value::Mapping(mapping) => {
                let mut evaluated = Mapping::new();
                for (key, item) in mapping {
                    if let Some(item) = self.eval(item) {
                        evaluated.insert(key.clone(), item);
                    }
                }
                Some(Value::Mapping(evaluated))
            }
            other => Some(other.clone()),
        }
    }

    fn call(&self, function: &str, argument: &Value) -> Option<Value> {
        let args = |n: usize| -> Vec<&Value> {
            let items = argument
                .as_sequence()
                .unwrap_or_else(|| panic!("{function} takes a list: {argument:?}"));
            assert_eq!(items.len(), n, "{function} takes {n} arguments");
            items.iter().collect()
        };
        let text = |value: &Value| self.eval(value).map(|v| scalar(&v)).unwrap_or_default();
        let value = match function {
            "Ref" => return self.reference(&scalar(argument)),
            "Condition" => Value::Bool(self.condition(&scalar(argument))),
            "Fn::If" => {
                let [condition, then, otherwise] = args(3)[..] else {
                    unreachable!()
                };
                let chosen = if self.condition(&scalar(condition)) {
                    then
                } else {
                    otherwise
                };
                return self.eval(chosen);
            }
            "Fn::Equals" => {
                let [left, right] = args(2)[..] else {
                    unreachable!()
                };
                Value::Bool(text(left) == text(right))
            }
            "Fn::Not" => Value::Bool(!self.truth(args(1)[0])),
            "Fn::And" => Value::Bool(args_of(argument).iter().all(|c| self.truth(c))),
            "Fn::Or" => Value::Bool(args_of(argument).iter().any(|c| self.truth(c))),
            "Fn::Sub" => Value::String(self.substitute(argument)),
            "Fn::GetAtt" => Value::String(format!("<{}>", get_att_target(argument))),
            "Fn::Join" => {
                let [separator, items] = args(2)[..] else {
                    unreachable!()
                };
                let items = self.eval(items).unwrap_or_default();
                let parts: Vec<String> = args_of(&items).iter().map(scalar).collect();
                Value::String(parts.join(&scalar(separator)))
            }
            "Fn::Split" => {
                let [separator, source] = args(2)[..] else {
                    unreachable!()
                };
                let parts = text(source)
                    .split(&scalar(separator))
                    .map(|part| Value::String(part.to_owned()))
                    .collect();
                Value::Sequence(parts)
            }
            "Fn::Select" => {
                let [index, list] = args(2)[..] else {
                    unreachable!()
                };
                let list = self.eval(list).unwrap_or_default();
                let index: usize = text(index).parse().unwrap_or(usize::MAX);
                return args_of(&list).get(index).cloned();
            }
            other => panic!("the evaluator does not know {other}"),
        };
        Some(value)
    }

    fn reference(&self, name: &str) -> Option<Value> {
        let pseudo = match name {
            "AWS::NoValue" => return None,
            "AWS::Region" => REGION,
            "AWS::StackName" => STACK_NAME,
            "AWS::AccountId" => "123456789012",
            "AWS::Partition" => "aws",
            "AWS::URLSuffix" => "amazonaws.com",
            _ => "",
        };
        if !pseudo.is_empty() {
            return Some(Value::String(pseudo.to_owned()));
        }
        if let Some(value) = self.parameters.get(name) {
            return Some(Value::String(value.clone()));
        }
        let resource = self
            .template
            .get("Resources")
            .and_then(|resources| resources.get(name))
            .unwrap_or_else(|| panic!("!Ref {name} names neither a parameter nor a resource"));
        assert!(
            self.exists(resource),
            "!Ref {name}: the resource is not created with these parameters"
        );
        Some(Value::String(format!("<{name}>")))
    }

    /// `Fn::Sub`'s text with `${Name}` and `${Resource.Attribute}` replaced
    /// (and `${!Literal}` kept as `${Literal}`).
    fn substitute(&self, argument: &Value) -> String {
        let (template, variables) = match argument {
            Value::Sequence(items) if items.len() == 2 => (scalar(&items[0]), Some(&items[1])),
            other => (scalar(other), None),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map(|end| start + end)
                .unwrap_or_else(|| panic!("unclosed ${{ in Fn::Sub {template}"));
            let name = &rest[start + 2..end];
            let replacement = if let Some(literal) = name.strip_prefix('!') {
                format!("${{{literal}}}")
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                self.eval(value).map(|v| scalar(&v)).unwrap_or_default()
            } else if name.contains('.') && !name.starts_with("AWS::") {
                format!("<{name}>")
            } else {
                self.reference(name).map(|v| scalar(&v)).unwrap_or_default()
            };
            out.push_str(&replacement);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The function and argument of `!Fn value` or `{"Fn::X": value}` / `{"Ref": X}`.
fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let function = match tagged.tag.to_string().trim_start_matches('!') {
                "Ref" => "Ref",
                "Condition" => "Condition",
                "If" => "Fn::If",
                "Equals" => "Fn::Equals",
                "Not" => "Fn::Not",
                "And" => "Fn::And",
                "Or" => "Fn::Or",
                "Sub" => "Fn::Sub",
                "GetAtt" => "Fn::GetAtt",
                "Join" => "Fn::Join",
                "Split" => "Fn::Split",
                "Select" => "Fn::Select",
                other => panic!("the evaluator does not know !{other}"),
            };
            Some((function, &tagged.value))
        }
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (key, argument) = mapping.iter().next()?;
            let key = key.as_str()?;
            let known = key == "Ref" || key == "Condition" || key.starts_with("Fn::");
            known.then_some((key, argument))
        }
        _ => None,
    }
}

fn args_of(value: &Value) -> Vec<Value> {
    value.as_sequence().cloned().unwrap_or_default()
}

/// `R.Attr` of `R.Attr` or `[R, Attr]`.
fn get_att_target(argument: &Value) -> String {
    match argument {
        Value::Sequence(parts) => parts.iter().map(scalar).collect::<Vec<_>>().join("."),
        other => scalar(other),
    }
}

/// A scalar as CloudFormation passes it: text (numbers and booleans too).
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}
