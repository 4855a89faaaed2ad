//! The four descriptions of the API must agree: the router table in
//! Cargo.toml (what `cargo lambda watch` serves), template.yaml (what is
//! deployed), openapi.yaml (what clients are generated from) and the crates
//! under functions/ (what is built). Plain file reads, no AWS.
//!
//! CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`) parse as tagged
//! YAML values.

use std::collections::{BTreeMap, BTreeSet};

use notify_tests::repo::{read, root};
use serde_norway::Value as Yaml;

mod functions;
mod iam;
mod openapi;

/// The function without a route: it drains the delivery queue.
const WORKER: &str = "delivery-worker";
/// The function that drains the webhook queue.
const DISPATCHER: &str = "webhook-dispatcher";

/// The contract's "OpenAPI names" table, per route.
const CONTRACT_OPERATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "POST",
        "/tenants/{tenant_id}/webhooks",
        "webhooks",
        "create_webhook",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/webhooks",
        "webhooks",
        "list_webhooks",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/webhooks/{webhook_id}",
        "webhooks",
        "delete_webhook",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries",
        "webhooks",
        "list_webhook_deliveries",
    ),
    ("POST", "/tenants", "tenants", "create_tenant"),
    ("GET", "/tenants", "tenants", "list_tenants"),
    ("GET", "/tenants/{tenant_id}", "tenants", "get_tenant"),
    ("PATCH", "/tenants/{tenant_id}", "tenants", "update_tenant"),
    ("DELETE", "/tenants/{tenant_id}", "tenants", "delete_tenant"),
    (
        "POST",
        "/tenants/{tenant_id}/user-verification",
        "tenants",
        "create_user_verification",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/user-verification",
        "tenants",
        "delete_user_verification",
    ),
    (
        "POST",
        "/tenants/{tenant_id}/api-keys",
        "api_keys",
        "create_api_key",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/api-keys",
        "api_keys",
        "list_api_keys",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/api-keys/{key_id}",
        "api_keys",
        "delete_api_key",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/api-keys/{key_id}/usage",
        "usage",
        "get_api_key_usage",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/usage",
        "usage",
        "get_tenant_usage",
    ),
    (
        "POST",
        "/tenants/{tenant_id}/devices",
        "devices",
        "register_device",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/devices",
        "devices",
        "list_devices",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/devices/{token}",
        "devices",
        "unregister_device",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/devices",
        "devices",
        "unregister_device_by_query",
    ),
    (
        "POST",
        "/tenants/{tenant_id}/topics/{topic}/subscribers",
        "topics",
        "subscribe_to_topic",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/topics/{topic}/subscribers",
        "topics",
        "unsubscribe_from_topic",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/users/{user_id}/topics",
        "topics",
        "list_user_topics",
    ),
    (
        "POST",
        "/tenants/{tenant_id}/notify",
        "push",
        "send_notification",
    ),
    (
        "POST",
        "/tenants/{tenant_id}/notify/bulk",
        "push",
        "send_bulk_notification",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/notify/bulk/{batch_id}",
        "push",
        "get_bulk_status",
    ),
    (
        "DELETE",
        "/tenants/{tenant_id}/notify/bulk/{batch_id}",
        "push",
        "cancel_bulk_notification",
    ),
    (
        "GET",
        "/tenants/{tenant_id}/notify/bulk/{batch_id}/results",
        "push",
        "get_bulk_results",
    ),
    ("GET", "/auth/validate", "auth", "validate_token"),
    ("GET", "/health", "health", "health"),
];

/// The contract's schema names.
const CONTRACT_SCHEMAS: &[&str] = &[
    "Alert",
    "SendNotificationRequest",
    "SendNotificationResponse",
    "BulkNotificationRequest",
    "BulkNotificationResponse",
    "BulkStatus",
    "DeliveryResult",
    "RegisterDeviceRequest",
    "Device",
    "DeviceList",
    "CreateTenantRequest",
    "UpdateTenantRequest",
    "Tenant",
    "TenantList",
    "CreateApiKeyRequest",
    "ApiKey",
    "ApiKeyList",
    "Error",
];

/// `NOTIFY_*` variables that exist only for the local push simulator: the
/// deployed functions must use Apple's and Google's real endpoints.
const LOCAL_ONLY_VARIABLES: &[&str] = &[
    "NOTIFY_APNS_PRODUCTION_URL",
    "NOTIFY_APNS_SANDBOX_URL",
    "NOTIFY_FCM_URL",
    "NOTIFY_OAUTH_TOKEN_URL",
    "NOTIFY_PROVIDER_CA_FILE",
    // Receivers at http://127.0.0.1: the local stack and the tests only.
    "NOTIFY_WEBHOOK_ALLOW_LOOPBACK",
];

/// What Lambda writes to a function's log group with the function's role.
/// No `logs:CreateLogGroup`: the stack creates every log group.
const LOG_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// What Lambda sends to X-Ray for `Tracing: Active` with the function's role.
const XRAY_ACTIONS: &[&str] = &["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// What the SQS event source mapping calls with the function's role.
const SQS_POLLER_ACTIONS: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// A route: upper-case method and API Gateway path (`{param}` segments).
type Route = (String, String);

fn yaml(relative: &str) -> Yaml {
    serde_norway::from_str(&read(relative))
        .unwrap_or_else(|err| panic!("{relative} is not valid YAML: {err}"))
}

fn cargo_toml() -> toml::Table {
    read("Cargo.toml")
        .parse()
        .unwrap_or_else(|err| panic!("Cargo.toml does not parse: {err}"))
}

/// The raw router table of `[workspace.metadata.lambda.watch.router]`.
fn router_table() -> toml::Table {
    let manifest = cargo_toml();
    ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&toml::Value::Table(manifest.clone()), |value, key| {
            value.get(key)
        })
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_else(|| panic!("Cargo.toml has no [workspace.metadata.lambda.watch.router]"))
}

/// Route -> function name, from the router table. Reads both the form
/// cargo-lambda accepts (`[{ method, function }]`) and inline tables
/// (`{ GET = "f" }`), so that the other tests still compare the routes while
/// `the_router_table_is_in_the_form_cargo_lambda_reads` reports the form.
fn router() -> BTreeMap<Route, String> {
    let mut routes = BTreeMap::new();
    for (path, entry) in router_table() {
        let pairs: Vec<(String, String)> = match &entry {
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    let field = |name: &str| {
                        item.get(name)
                            .and_then(toml::Value::as_str)
                            .map(str::to_owned)
                            .unwrap_or_else(|| panic!("router {path}: an entry lacks `{name}`"))
                    };
                    (field("method"), field("function"))
                })
                .collect(),
            toml::Value::Table(methods) => methods
                .iter()
                .map(|(method, function)| {
                    let function = function
                        .as_str()
                        .unwrap_or_else(|| panic!("router {path} {method}: not a function name"));
                    (method.clone(), function.to_owned())
                })
                .collect(),
            toml::Value::String(function) => {
                panic!("router {path} = \"{function}\" serves every method; name the methods")
            }
            other => panic!("router {path}: unexpected value {other}"),
        };
        for (method, function) in pairs {
            let route = (method.to_uppercase(), path.clone());
            if let Some(previous) = routes.insert(route.clone(), function) {
                panic!("router lists {route:?} twice (also for {previous})");
            }
        }
    }
    routes
}

/// Package names of the crates under functions/, checked to equal their
/// directory names and to build a binary.
fn function_crates() -> BTreeSet<String> {
    let dir = root().join("functions");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("cannot list functions/: {err}"));
    let mut crates = BTreeSet::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let table: toml::Table = read(&format!("functions/{dir_name}/Cargo.toml"))
            .parse()
            .unwrap_or_else(|err| panic!("functions/{dir_name}/Cargo.toml: {err}"));
        let name = table
            .get("package")
            .and_then(|package| package.get("name"))
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            name, dir_name,
            "functions/{dir_name} must be the package of the same name"
        );
        assert!(
            entry.path().join("src/main.rs").is_file(),
            "functions/{dir_name} has no src/main.rs: Lambda needs its binary"
        );
        crates.insert(name);
    }
    crates
}

fn template() -> Yaml {
    yaml("template.yaml")
}

fn openapi() -> Yaml {
    yaml("openapi.yaml")
}

fn get<'a>(value: &'a Yaml, path: &[&str]) -> Option<&'a Yaml> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

fn text(value: Option<&Yaml>) -> Option<String> {
    match value? {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        Yaml::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The logical id `!Ref X` or `{Ref: X}` names.
fn ref_target(value: Option<&Yaml>) -> Option<String> {
    match value? {
        Yaml::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_owned),
        Yaml::Mapping(mapping) => mapping.get("Ref").and_then(Yaml::as_str).map(str::to_owned),
        _ => None,
    }
}

/// `R.Attr` of `!GetAtt R.Attr`, `!GetAtt [R, Attr]` or `{Fn::GetAtt: [R, Attr]}`.
fn get_att(value: Option<&Yaml>) -> Option<String> {
    let target = match value? {
        Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => &tagged.value,
        Yaml::Mapping(mapping) => mapping.get("Fn::GetAtt")?,
        _ => return None,
    };
    match target {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Sequence(parts) => Some(
            parts
                .iter()
                .filter_map(Yaml::as_str)
                .collect::<Vec<_>>()
                .join("."),
        ),
        _ => None,
    }
}

/// The template of `!Sub "..."` or `{Fn::Sub: "..."}`.
fn sub_text(value: Option<&Yaml>) -> Option<String> {
    match value? {
        Yaml::Tagged(tagged) if tagged.tag == "Sub" => tagged.value.as_str().map(str::to_owned),
        Yaml::Mapping(mapping) => mapping
            .get("Fn::Sub")
            .and_then(Yaml::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// A serverless function of the template.
struct Function {
    logical_id: String,
    resource: Yaml,
}

impl Function {
    fn property(&self, name: &str) -> Option<&Yaml> {
        get(&self.resource, &["Properties", name])
    }

    /// The crate the function is built from: the last segment of CodeUri.
    fn code_uri(&self) -> String {
        text(self.property("CodeUri")).unwrap_or_default()
    }

    fn crate_name(&self) -> String {
        self.code_uri()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    fn events(&self) -> Vec<(String, Yaml)> {
        self.property("Events")
            .and_then(Yaml::as_mapping)
            .map(|events| {
                events
                    .iter()
                    .map(|(name, event)| {
                        (name.as_str().unwrap_or_default().to_owned(), event.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn events_of_type(&self, kind: &str) -> Vec<Yaml> {
        self.events()
            .into_iter()
            .filter(|(_, event)| text(event.get("Type")).as_deref() == Some(kind))
            .map(|(_, event)| event)
            .collect()
    }

    /// The log group `LoggingConfig.LogGroup` names with `!Ref`.
    fn log_group(&self) -> Option<String> {
        ref_target(get(
            &self.resource,
            &["Properties", "LoggingConfig", "LogGroup"],
        ))
    }

    /// The logical id of the role `Role: !GetAtt X.Arn` names; `None` without
    /// `Role` (SAM generates the role, from `Policies`). Any other form of
    /// `Role` (an ARN, a parameter) is a role from outside the template.
    fn role(&self) -> Option<String> {
        let role = self.property("Role")?;
        let target =
            get_att(Some(role)).and_then(|target| target.strip_suffix(".Arn").map(str::to_owned));
        Some(target.unwrap_or_else(|| {
            panic!(
                "{}: Role must be `!GetAtt <role of this template>.Arn`, not {role:?}",
                self.logical_id
            )
        }))
    }

    /// Every statement the function's role holds besides what SAM adds: the
    /// inline documents of its `Policies` (SAM's generated role), or, with
    /// `Role: !GetAtt X.Arn`, those of `Resources.X.Properties.Policies`.
    fn statements(&self, template: &Yaml) -> Vec<Yaml> {
        let role = self.role();
        let (owner, entries) = match &role {
            Some(role) => {
                let resource = get(template, &["Resources", role]).unwrap_or_else(|| {
                    panic!(
                        "{}: Role names {role}, which template.yaml lacks",
                        self.logical_id
                    )
                });
                (role.clone(), get(resource, &["Properties", "Policies"]))
            }
            None => (self.logical_id.clone(), self.property("Policies")),
        };
        let mut statements = Vec::new();
        for policy in entries.and_then(Yaml::as_sequence).into_iter().flatten() {
            // A role's entries are {PolicyName, PolicyDocument}; SAM's are
            // the documents themselves.
            let document = if role.is_some() {
                policy.get("PolicyDocument")
            } else {
                Some(policy)
            };
            match document.and_then(|document| document.get("Statement")) {
                Some(Yaml::Sequence(items)) => statements.extend(items.iter().cloned()),
                Some(single @ Yaml::Mapping(_)) => statements.push(single.clone()),
                _ => panic!(
                    "{owner}: every entry of Policies must be an inline policy document (no SAM policy templates, no managed policies): {policy:?}"
                ),
            }
        }
        statements
    }
}

fn functions(template: &Yaml) -> Vec<Function> {
    get(template, &["Resources"])
        .and_then(Yaml::as_mapping)
        .unwrap_or_else(|| panic!("template.yaml has no Resources"))
        .iter()
        .filter(|(_, resource)| {
            text(resource.get("Type")).as_deref() == Some("AWS::Serverless::Function")
        })
        .map(|(id, resource)| Function {
            logical_id: id.as_str().unwrap_or_default().to_owned(),
            resource: resource.clone(),
        })
        .collect()
}

/// (route, crate) of every HttpApi event of the template.
fn template_routes(template: &Yaml) -> Vec<(Route, String)> {
    let mut routes = Vec::new();
    for function in functions(template) {
        for event in function.events_of_type("HttpApi") {
            let method = text(get(&event, &["Properties", "Method"]))
                .unwrap_or_default()
                .to_uppercase();
            let path = text(get(&event, &["Properties", "Path"])).unwrap_or_default();
            routes.push(((method, path), function.crate_name()));
        }
    }
    routes
}

/// (route, operation) of every operation of openapi.yaml.
fn openapi_operations(openapi: &Yaml) -> Vec<(Route, Yaml)> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let paths = get(openapi, &["paths"])
        .and_then(Yaml::as_mapping)
        .unwrap_or_else(|| panic!("openapi.yaml has no paths"));
    let mut operations = Vec::new();
    for (path, item) in paths {
        let path = path.as_str().unwrap_or_default();
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                operations.push(((method.to_uppercase(), path.to_owned()), operation.clone()));
            }
        }
    }
    operations
}

/// The effective value of a function property: its own, else the Globals'.
fn effective(template: &Yaml, function: &Function, name: &str) -> Option<Yaml> {
    function
        .property(name)
        .or_else(|| get(template, &["Globals", "Function", name]))
        .cloned()
}

fn as_strings(value: Option<&Yaml>) -> Vec<String> {
    match value {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(|item| text(Some(item))).collect(),
        Some(single) => text(Some(single)).into_iter().collect(),
        None => Vec::new(),
    }
}
