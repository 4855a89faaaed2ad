//! The four descriptions of the API must agree: the router table in
//! Cargo.toml (what `cargo lambda watch` serves), template.yaml (what is
//! deployed), openapi.yaml (what clients are generated from) and the crates
//! under functions/ (what is built). Plain file reads, no AWS.
//!
//! CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`) parse as tagged
//! YAML values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;

/// The function without a route: it drains the delivery queue.
const WORKER: &str = "delivery-worker";

/// The contract's "OpenAPI names" table, per route.
const CONTRACT_OPERATIONS: &[(&str, &str, &str, &str)] = &[
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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

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

#[test]
fn the_router_table_is_in_the_form_cargo_lambda_reads() {
    // cargo-lambda 1.9 (watch, build, and so `sam build`) refuses any other
    // form: "Function routes must be either a string or an array of objects
    // with method and function fields".
    let offending: Vec<String> = router_table()
        .into_iter()
        .filter(|(_, entry)| {
            let Some(items) = entry.as_array() else {
                return true;
            };
            !items.iter().all(|item| {
                item.get("method").is_some_and(toml::Value::is_str)
                    && item.get("function").is_some_and(toml::Value::is_str)
                    && item.as_table().is_some_and(|table| table.len() == 2)
            })
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        offending.is_empty(),
        "write these router entries as arrays, e.g. \"/tenants\" = [{{ method = \"GET\", function = \"tenant-list\" }}, ...]: {offending:?}"
    );
}

#[test]
fn every_route_has_exactly_one_http_api_event_on_the_function_of_the_same_name() {
    let deployed = template_routes(&template());
    for (route, function) in router() {
        let matching: Vec<&String> = deployed
            .iter()
            .filter(|(event_route, _)| *event_route == route)
            .map(|(_, crate_name)| crate_name)
            .collect();
        assert_eq!(
            matching,
            vec![&function],
            "{} {} should have one HttpApi event, on the function built from functions/{function}",
            route.0,
            route.1
        );
    }
}

#[test]
fn every_http_api_event_of_the_template_is_a_route_of_the_router() {
    let routes = router();
    for (route, crate_name) in template_routes(&template()) {
        assert_eq!(
            routes.get(&route),
            Some(&crate_name),
            "template.yaml routes {} {} to {crate_name}, which the router table does not",
            route.0,
            route.1
        );
    }
}

#[test]
fn every_http_api_event_belongs_to_the_notify_api() {
    for function in functions(&template()) {
        for event in function.events_of_type("HttpApi") {
            assert_eq!(
                ref_target(get(&event, &["Properties", "ApiId"])).as_deref(),
                Some("NotifyApi"),
                "{}: HttpApi events must name ApiId: !Ref NotifyApi (not the implicit API)",
                function.logical_id
            );
        }
    }
}

#[test]
fn every_router_function_is_a_function_crate() {
    let crates = function_crates();
    for (route, function) in router() {
        assert!(
            crates.contains(&function),
            "the router sends {} {} to {function}, but there is no functions/{function}",
            route.0,
            route.1
        );
    }
}

#[test]
fn every_function_crate_has_one_template_function_and_every_template_function_a_crate() {
    let crates = function_crates();
    let template = template();
    let mut built: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for function in functions(&template) {
        built
            .entry(function.crate_name())
            .or_default()
            .push(function.logical_id.clone());
    }
    for crate_name in &crates {
        assert_eq!(
            built.get(crate_name).map(Vec::len),
            Some(1),
            "functions/{crate_name} should be built by exactly one template function, found {:?}",
            built.get(crate_name)
        );
    }
    for (crate_name, logical_ids) in &built {
        assert!(
            crates.contains(crate_name),
            "{logical_ids:?} build from functions/{crate_name}, which is not a function crate"
        );
    }
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_arm64_on_provided_al2023() {
    let template = template();
    for function in functions(&template) {
        let id = &function.logical_id;
        let crate_name = function.crate_name();
        assert_eq!(
            function.code_uri(),
            format!("functions/{crate_name}"),
            "{id}: CodeUri is the crate directory"
        );
        assert_eq!(
            text(get(&function.resource, &["Metadata", "BuildMethod"])).as_deref(),
            Some("rust-cargolambda"),
            "{id}: Metadata.BuildMethod"
        );
        assert_eq!(
            text(get(
                &function.resource,
                &["Metadata", "BuildProperties", "Binary"]
            )),
            Some(crate_name.clone()),
            "{id}: Metadata.BuildProperties.Binary names the crate's binary"
        );
        assert_eq!(
            text(effective(&template, &function, "Runtime").as_ref()).as_deref(),
            Some("provided.al2023"),
            "{id}: Runtime"
        );
        assert_eq!(
            text(effective(&template, &function, "Handler").as_ref()).as_deref(),
            Some("bootstrap"),
            "{id}: Handler"
        );
        assert_eq!(
            as_strings(effective(&template, &function, "Architectures").as_ref()),
            vec!["arm64".to_owned()],
            "{id}: Architectures"
        );
    }
}

#[test]
fn the_delivery_worker_has_no_route_and_an_sqs_event_with_partial_batch_failures() {
    assert!(
        !router().values().any(|function| function == WORKER),
        "{WORKER} must not be routed"
    );
    let template = template();
    let worker = functions(&template)
        .into_iter()
        .find(|function| function.crate_name() == WORKER)
        .unwrap_or_else(|| panic!("template.yaml has no function built from functions/{WORKER}"));
    assert!(worker.events_of_type("HttpApi").is_empty());
    let sqs = worker.events_of_type("SQS");
    assert_eq!(sqs.len(), 1, "{WORKER} has one SQS event");
    let properties = sqs[0].get("Properties").cloned().unwrap_or_default();
    assert_eq!(
        get_att(properties.get("Queue")).as_deref(),
        Some("DeliveryQueue.Arn")
    );
    assert_eq!(
        as_strings(properties.get("FunctionResponseTypes")),
        vec!["ReportBatchItemFailures".to_owned()]
    );
    for knob in ["BatchSize", "MaximumBatchingWindowInSeconds"] {
        assert!(
            ref_target(properties.get(knob)).is_some(),
            "{WORKER}: {knob} comes from a parameter"
        );
    }
    assert!(
        ref_target(get(&properties, &["ScalingConfig", "MaximumConcurrency"])).is_some(),
        "{WORKER}: ScalingConfig.MaximumConcurrency comes from a parameter"
    );
    for function in functions(&template) {
        if function.crate_name() != WORKER {
            assert!(
                function.events_of_type("SQS").is_empty(),
                "{} must not drain the delivery queue",
                function.logical_id
            );
        }
    }
}

#[test]
fn the_delivery_queue_stays_invisible_for_six_worker_timeouts() {
    let template = template();
    let worker = functions(&template)
        .into_iter()
        .find(|function| function.crate_name() == WORKER)
        .unwrap_or_else(|| panic!("no {WORKER} function"));
    let timeout: u64 = text(effective(&template, &worker, "Timeout").as_ref())
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("{WORKER}: Timeout must be a literal number of seconds"));
    let visibility: u64 = text(get(
        &template,
        &[
            "Resources",
            "DeliveryQueue",
            "Properties",
            "VisibilityTimeout",
        ],
    ))
    .and_then(|text| text.parse().ok())
    .unwrap_or_else(|| panic!("DeliveryQueue: VisibilityTimeout must be a literal number"));
    assert!(
        visibility >= 6 * timeout,
        "DeliveryQueue's VisibilityTimeout ({visibility} s) must be at least six times the worker's timeout ({timeout} s)"
    );
    // The batching window keeps messages in flight before the invocation starts.
    let window_max: u64 = text(get(
        &template,
        &[
            "Parameters",
            "WorkerMaximumBatchingWindowInSeconds",
            "MaxValue",
        ],
    ))
    .and_then(|text| text.parse().ok())
    .unwrap_or_else(|| panic!("WorkerMaximumBatchingWindowInSeconds needs a MaxValue"));
    assert!(window_max + timeout <= visibility);
}

#[test]
fn every_route_has_exactly_one_openapi_operation_and_every_operation_a_route() {
    let routes = router();
    let operations = openapi_operations(&openapi());
    for route in routes.keys() {
        let count = operations
            .iter()
            .filter(|(operation_route, _)| operation_route == route)
            .count();
        assert_eq!(
            count, 1,
            "{} {} should be one operation of openapi.yaml",
            route.0, route.1
        );
    }
    for (route, _) in &operations {
        assert!(
            routes.contains_key(route),
            "openapi.yaml describes {} {}, which the router table does not serve",
            route.0,
            route.1
        );
    }
}

#[test]
fn openapi_operation_ids_and_tags_are_the_contracts() {
    let operations: BTreeMap<Route, Yaml> = openapi_operations(&openapi()).into_iter().collect();
    assert_eq!(operations.len(), CONTRACT_OPERATIONS.len());
    for (method, path, tag, operation_id) in CONTRACT_OPERATIONS {
        let operation = operations
            .get(&((*method).to_owned(), (*path).to_owned()))
            .unwrap_or_else(|| panic!("openapi.yaml lacks {method} {path}"));
        assert_eq!(
            text(operation.get("operationId")).as_deref(),
            Some(*operation_id),
            "{method} {path}: operationId"
        );
        assert_eq!(
            as_strings(operation.get("tags")),
            vec![(*tag).to_owned()],
            "{method} {path}: tags"
        );
    }
    // The contract's operations are exactly the router's routes.
    let contract: BTreeSet<Route> = CONTRACT_OPERATIONS
        .iter()
        .map(|(method, path, _, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(contract, router().into_keys().collect());
}

#[test]
fn openapi_defines_the_contracts_schemas_and_security_schemes() {
    let openapi = openapi();
    assert!(
        text(openapi.get("openapi")).is_some_and(|version| version.starts_with("3.1")),
        "openapi.yaml is OpenAPI 3.1"
    );
    let schemas = get(&openapi, &["components", "schemas"])
        .and_then(Yaml::as_mapping)
        .unwrap_or_else(|| panic!("openapi.yaml has no components.schemas"));
    for name in CONTRACT_SCHEMAS {
        assert!(schemas.contains_key(*name), "schema {name} is missing");
    }
    let schemes = get(&openapi, &["components", "securitySchemes"])
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        text(get(&schemes, &["ApiKey", "type"])).as_deref(),
        Some("apiKey")
    );
    assert_eq!(
        text(get(&schemes, &["ApiKey", "in"])).as_deref(),
        Some("header")
    );
    assert_eq!(
        text(get(&schemes, &["ApiKey", "name"])).as_deref(),
        Some("X-API-Key")
    );
    assert_eq!(
        text(get(&schemes, &["BearerAuth", "type"])).as_deref(),
        Some("http")
    );
    assert_eq!(
        text(get(&schemes, &["BearerAuth", "scheme"])).as_deref(),
        Some("bearer")
    );
    assert_eq!(
        text(get(&schemes, &["BearerAuth", "bearerFormat"])).as_deref(),
        Some("JWT")
    );
}

#[test]
fn openapi_security_follows_the_contracts_permission_table() {
    let openapi = openapi();
    for (route, operation) in openapi_operations(&openapi) {
        let tag = as_strings(operation.get("tags")).join(",");
        let expected: Vec<&str> = match tag.as_str() {
            "health" => vec![],
            "tenants" | "api_keys" | "auth" => vec!["BearerAuth"],
            "devices" | "push" => vec!["ApiKey", "BearerAuth"],
            other => panic!("{route:?}: unexpected tag {other}"),
        };
        let security = operation
            .get("security")
            .or_else(|| openapi.get("security"))
            .and_then(Yaml::as_sequence)
            .cloned()
            .unwrap_or_default();
        // Each requirement is an alternative; each names one scheme here.
        let mut schemes: Vec<String> = security
            .iter()
            .flat_map(|requirement| {
                requirement
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .filter_map(|(name, _)| name.as_str().map(str::to_owned))
            })
            .collect();
        schemes.sort();
        assert_eq!(schemes, expected, "{} {}: security", route.0, route.1);
    }
}

#[test]
fn both_send_operations_take_an_idempotency_key_header() {
    let openapi = openapi();
    let resolve = |parameter: &Yaml| -> Yaml {
        match parameter.get("$ref").and_then(Yaml::as_str) {
            Some(reference) => {
                let path: Vec<&str> = reference.trim_start_matches("#/").split('/').collect();
                get(&openapi, &path)
                    .cloned()
                    .unwrap_or_else(|| panic!("dangling {reference}"))
            }
            None => parameter.clone(),
        }
    };
    for (route, operation) in openapi_operations(&openapi) {
        let id = text(operation.get("operationId")).unwrap_or_default();
        let has_key = operation
            .get("parameters")
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
            .map(resolve)
            .any(|parameter| {
                text(parameter.get("in")).as_deref() == Some("header")
                    && text(parameter.get("name"))
                        .is_some_and(|name| name.eq_ignore_ascii_case("Idempotency-Key"))
            });
        let is_send = id == "send_notification" || id == "send_bulk_notification";
        assert_eq!(
            has_key, is_send,
            "{} {}: Idempotency-Key header",
            route.0, route.1
        );
    }
}

#[test]
fn every_openapi_error_response_uses_the_error_schema() {
    let openapi = openapi();
    let mut checked = 0;
    for (route, operation) in openapi_operations(&openapi) {
        let responses = operation
            .get("responses")
            .and_then(Yaml::as_mapping)
            .cloned()
            .unwrap_or_default();
        assert!(responses.contains_key("200"), "{route:?} answers 200");
        for (status, response) in responses {
            let status = text(Some(&status)).unwrap_or_default();
            if status.starts_with('2') {
                continue;
            }
            let response = match response.get("$ref").and_then(Yaml::as_str) {
                Some(reference) => {
                    let path: Vec<&str> = reference.trim_start_matches("#/").split('/').collect();
                    get(&openapi, &path)
                        .cloned()
                        .unwrap_or_else(|| panic!("dangling {reference}"))
                }
                None => response,
            };
            assert_eq!(
                text(get(
                    &response,
                    &["content", "application/json", "schema", "$ref"]
                ))
                .as_deref(),
                Some("#/components/schemas/Error"),
                "{} {} {status}: Error schema",
                route.0,
                route.1
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn every_function_logs_json_to_its_own_log_group_kept_for_the_retention_parameter() {
    let template = template();
    assert_eq!(
        text(get(
            &template,
            &["Globals", "Function", "LoggingConfig", "LogFormat"]
        ))
        .as_deref(),
        Some("JSON")
    );
    let mut groups = BTreeSet::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        let group = ref_target(get(
            &function.resource,
            &["Properties", "LoggingConfig", "LogGroup"],
        ))
        .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup must !Ref its log group"));
        assert!(
            groups.insert(group.clone()),
            "{id} shares log group {group}"
        );
        let resource = get(&template, &["Resources", &group])
            .unwrap_or_else(|| panic!("{id}: no resource {group}"));
        assert_eq!(
            text(resource.get("Type")).as_deref(),
            Some("AWS::Logs::LogGroup")
        );
        assert_eq!(
            ref_target(get(resource, &["Properties", "RetentionInDays"])).as_deref(),
            Some("LogRetentionInDays"),
            "{group}: RetentionInDays"
        );
    }
}

#[test]
fn policies_name_exact_actions_on_the_stacks_own_resources() {
    let template = template();
    let prefix = sub_text(get(
        &template,
        &[
            "Globals",
            "Function",
            "Environment",
            "Variables",
            "NOTIFY_TENANT_SECRET_PREFIX",
        ],
    ))
    .unwrap_or_else(|| panic!("Globals set NOTIFY_TENANT_SECRET_PREFIX with !Sub"));
    let tenant_secrets = format!(
        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}*"
    );
    let mut index_queriers = BTreeSet::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        // Logs and traces are the Lambda service's: SAM grants them to the
        // roles it generates; a role of the template must grant them itself.
        let own_role = function.role().is_some();
        let log_group = function.log_group();
        for statement in function.statements(&template) {
            let actions = as_strings(statement.get("Action"));
            assert!(!actions.is_empty(), "{id}: a statement without actions");
            assert_eq!(text(statement.get("Effect")).as_deref(), Some("Allow"));
            let resource = statement.get("Resource");
            for action in &actions {
                assert!(!action.contains('*'), "{id}: wildcard action {action}");
                let (service, _) = action
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{id}: malformed action {action}"));
                let allowed = match service {
                    "dynamodb" => {
                        let on_table = get_att(resource).as_deref() == Some("NotifyTable.Arn");
                        let on_index =
                            sub_text(resource).as_deref() == Some("${NotifyTable.Arn}/index/GSI1");
                        if on_index {
                            assert_eq!(action, "dynamodb:Query", "{id}: the index is only queried");
                            index_queriers.insert(function.crate_name());
                        }
                        on_table || on_index
                    }
                    "secretsmanager" => {
                        ref_target(resource).as_deref() == Some("UserTokenSigningSecret")
                            || sub_text(resource).as_deref() == Some(tenant_secrets.as_str())
                    }
                    "sqs" => {
                        let queue = get_att(resource);
                        queue.as_deref() == Some("DeliveryQueue.Arn")
                            // Only the worker, only to send poison messages.
                            || (queue.as_deref() == Some("DeliveryDeadLetterQueue.Arn")
                                && function.crate_name() == "delivery-worker"
                                && action == "sqs:SendMessage")
                    }
                    "logs" => {
                        assert!(
                            LOG_ACTIONS.contains(&action.as_str()),
                            "{id}: {action}: the stack creates the log group; only {LOG_ACTIONS:?}"
                        );
                        let group = log_group.as_deref().unwrap_or_else(|| {
                            panic!("{id}: writes logs but has no LoggingConfig.LogGroup")
                        });
                        // `!GetAtt G.Arn`, `!Sub ${G.Arn}` or the same ARN
                        // built from the group's name (both end in ":*", the
                        // group's log streams).
                        let group_arn = format!("{group}.Arn");
                        let sub_of_arn = format!("${{{group_arn}}}");
                        let sub_of_name = format!(
                            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group}}}:*"
                        );
                        let sub = sub_text(resource);
                        own_role
                            && (get_att(resource) == Some(group_arn)
                                || sub == Some(sub_of_arn)
                                || sub == Some(sub_of_name))
                    }
                    // X-Ray has no resource-level permissions: "*" is the only
                    // resource its actions take.
                    "xray" => {
                        assert!(
                            XRAY_ACTIONS.contains(&action.as_str()),
                            "{id}: {action}: Tracing needs only {XRAY_ACTIONS:?}"
                        );
                        own_role && text(resource).as_deref() == Some("*")
                    }
                    other => panic!("{id}: unexpected service {other}"),
                };
                assert!(
                    allowed,
                    "{id}: {action} on an unexpected resource {resource:?}"
                );
            }
        }
    }
    assert_eq!(
        index_queriers,
        BTreeSet::from(["tenant-create".to_owned(), "tenant-list".to_owned()]),
        "only tenant-list and tenant-create (the per-org tenant cap) query GSI1"
    );
    // No statement grants kms:*, which SSE-SQS does not need. A customer
    // managed key would need kms:Decrypt and kms:GenerateDataKey on it for
    // the worker and kms:GenerateDataKey for every sender.
    for (id, resource) in get(&template, &["Resources"])
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
    {
        if text(resource.get("Type")).as_deref() == Some("AWS::SQS::Queue") {
            let id = id.as_str().unwrap_or_default();
            assert_eq!(
                text(get(resource, &["Properties", "SqsManagedSseEnabled"])).as_deref(),
                Some("true"),
                "{id}: SSE-SQS (SqsManagedSseEnabled)"
            );
            assert!(
                get(resource, &["Properties", "KmsMasterKeyId"]).is_none(),
                "{id}: a KMS key needs kms:* grants that no role holds"
            );
        }
    }
}

#[test]
fn every_role_is_generated_from_inline_policies_or_a_role_of_this_template() {
    let template = template();
    let mut role_users: BTreeMap<String, String> = BTreeMap::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        let has_sqs_event = !function.events_of_type("SQS").is_empty();
        let Some(role) = function.role() else {
            // SAM generates the role from Policies (inline documents only,
            // see statements(); none at all for a function without AWS calls).
            assert!(
                !has_sqs_event,
                "{id}: for an SQS event SAM attaches AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes on \"*\") to the role it generates; give it a Role of this template"
            );
            continue;
        };
        assert!(
            function.property("Policies").is_none(),
            "{id}: SAM ignores Policies next to Role; put the statements in {role}"
        );
        if let Some(previous) = role_users.insert(role.clone(), id.clone()) {
            panic!("{id} and {previous} share {role}: one role per function");
        }
        let resource = get(&template, &["Resources", &role])
            .unwrap_or_else(|| panic!("{id}: Role names {role}, which template.yaml lacks"));
        assert_eq!(
            text(resource.get("Type")).as_deref(),
            Some("AWS::IAM::Role"),
            "{id}: Role names {role}, which is not an AWS::IAM::Role"
        );
        assert!(
            get(resource, &["Properties", "ManagedPolicyArns"]).is_none(),
            "{role}: no managed policies (they grant on \"*\"); write the statements inline"
        );
        let trust = get(
            resource,
            &["Properties", "AssumeRolePolicyDocument", "Statement"],
        )
        .and_then(Yaml::as_sequence)
        .cloned()
        .unwrap_or_default();
        assert_eq!(trust.len(), 1, "{role}: one trust statement");
        assert_eq!(text(trust[0].get("Effect")).as_deref(), Some("Allow"));
        assert_eq!(
            as_strings(get(&trust[0], &["Principal", "Service"])),
            vec!["lambda.amazonaws.com".to_owned()],
            "{role}: only Lambda assumes it"
        );
        assert!(
            get(&trust[0], &["Principal", "AWS"]).is_none()
                && get(&trust[0], &["Principal", "Federated"]).is_none(),
            "{role}: only Lambda assumes it"
        );
        assert_eq!(
            as_strings(trust[0].get("Action")),
            vec!["sts:AssumeRole".to_owned()],
            "{role}: trust action"
        );
        // What SAM's generated role would have had, scoped: the function's
        // own log group, traces, and for an SQS event its queue.
        let actions: BTreeSet<String> = function
            .statements(&template)
            .iter()
            .flat_map(|statement| as_strings(statement.get("Action")))
            .collect();
        let mut needed: Vec<&str> = LOG_ACTIONS.to_vec();
        if text(effective(&template, &function, "Tracing").as_ref()).as_deref() == Some("Active") {
            needed.extend(XRAY_ACTIONS);
        }
        if has_sqs_event {
            needed.extend(SQS_POLLER_ACTIONS);
        }
        for action in needed {
            assert!(
                actions.contains(action),
                "{role} lacks {action}, which SAM's generated role would have had"
            );
        }
    }
}

#[test]
fn every_notify_variable_the_code_reads_is_set_or_local_only() {
    let template = template();
    let mut set: BTreeSet<String> = get(
        &template,
        &["Globals", "Function", "Environment", "Variables"],
    )
    .and_then(Yaml::as_mapping)
    .into_iter()
    .flatten()
    .filter_map(|(name, _)| name.as_str().map(str::to_owned))
    .collect();
    for function in functions(&template) {
        if let Some(variables) = get(
            &function.resource,
            &["Properties", "Environment", "Variables"],
        )
        .and_then(Yaml::as_mapping)
        {
            set.extend(
                variables
                    .keys()
                    .filter_map(|name| name.as_str().map(str::to_owned)),
            );
        }
    }
    let mut read = BTreeSet::new();
    let mut sources = vec![root().join("shared/src")];
    for crate_name in function_crates() {
        sources.push(root().join("functions").join(crate_name).join("src"));
    }
    while let Some(path) = sources.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                sources.push(entry.path());
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in source.split('"').skip(1).step_by(2) {
                let is_name = piece.starts_with("NOTIFY_")
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_name {
                    read.insert(piece.to_owned());
                }
            }
        }
    }
    assert!(
        read.contains("NOTIFY_TABLE_NAME"),
        "the scan found the config"
    );
    for name in &read {
        assert!(
            set.contains(name) || LOCAL_ONLY_VARIABLES.contains(&name.as_str()),
            "{name} is read by the code but set by no function in template.yaml"
        );
    }
    for name in LOCAL_ONLY_VARIABLES {
        assert!(
            !set.contains(*name),
            "{name} points at the local push simulator; never set it in template.yaml"
        );
    }
}
