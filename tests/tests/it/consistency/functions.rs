//! The router table, the template's functions and the crates under
//! functions/ describe the same functions and routes.

use super::*;

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
                function.events_of_type("SQS").iter().all(|event| {
                    get_att(get(event, &["Properties", "Queue"])).as_deref()
                        != Some("DeliveryQueue.Arn")
                }),
                "{} must not drain the delivery queue",
                function.logical_id
            );
        }
    }
}

#[test]
fn the_webhook_dispatcher_has_no_route_and_drains_the_webhook_queue_with_partial_batch_failures() {
    assert!(
        !router().values().any(|function| function == DISPATCHER),
        "{DISPATCHER} must not be routed"
    );
    let template = template();
    for function in functions(&template) {
        let sqs = function.events_of_type("SQS");
        let drains_webhooks = sqs.iter().any(|event| {
            get_att(get(event, &["Properties", "Queue"])).as_deref() == Some("WebhookQueue.Arn")
        });
        assert_eq!(
            drains_webhooks,
            function.crate_name() == DISPATCHER,
            "{}: only {DISPATCHER} drains the webhook queue",
            function.logical_id
        );
        if function.crate_name() == DISPATCHER {
            assert!(function.events_of_type("HttpApi").is_empty());
            assert_eq!(sqs.len(), 1);
            assert_eq!(
                as_strings(get(&sqs[0], &["Properties", "FunctionResponseTypes"])),
                vec!["ReportBatchItemFailures".to_owned()]
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
