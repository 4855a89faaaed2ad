//! openapi.yaml has the routes, names, schemas and security of the
//! contract.

use super::*;

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
            "tenants" | "api_keys" | "usage" | "auth" | "webhooks" => vec!["BearerAuth"],
            "devices" | "push" | "topics" => vec!["ApiKey", "BearerAuth"],
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
