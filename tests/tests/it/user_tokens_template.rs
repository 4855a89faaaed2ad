//! template.yaml deployed with and without its own Cognito user pool
//! (CreateUserPool): the functions get the right NOTIFY_OIDC_* each way, the
//! pool's resources and outputs exist only with it, and the rules refuse
//! settings that contradict each other (docs/identity-providers.md).

use std::collections::BTreeMap;

use notify_tests::stack::{scalar, Stack, REGION};
use serde_norway::Value;

const OIDC_VARIABLES: [&str; 4] = [
    "NOTIFY_OIDC_ISSUER",
    "NOTIFY_OIDC_AUDIENCE",
    "NOTIFY_OIDC_ORGS_CLAIM",
    "NOTIFY_OIDC_JWKS_URL",
];
const POOL_OUTPUTS: [&str; 3] = ["UserPoolId", "UserPoolClientId", "UserPoolIssuer"];

/// The four NOTIFY_OIDC_* of every function that verifies user tokens
/// (reads NOTIFY_SIGNING_SECRET_ID: they share `Config::from_env`), checked
/// to be the same for all of them.
fn oidc_settings(stack: &Stack) -> BTreeMap<String, String> {
    let mut seen: Option<BTreeMap<String, String>> = None;
    let functions = stack.resources_of_type("AWS::Serverless::Function");
    assert!(functions.len() > 20, "{functions:?}");
    for id in functions {
        let environment = stack.function_environment(&id);
        if !environment.contains_key("NOTIFY_SIGNING_SECRET_ID") {
            continue;
        }
        let settings: BTreeMap<String, String> = OIDC_VARIABLES
            .iter()
            .map(|name| {
                let value = environment
                    .get(*name)
                    .unwrap_or_else(|| panic!("{id} verifies user tokens but lacks {name}"));
                ((*name).to_owned(), value.clone())
            })
            .collect();
        if let Some(first) = &seen {
            assert_eq!(&settings, first, "{id} differs");
        }
        seen = Some(settings);
    }
    seen.unwrap_or_else(|| panic!("no function reads NOTIFY_SIGNING_SECRET_ID"))
}

fn settings(pairs: [(&str, &str); 4]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn field<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .unwrap_or_else(|| panic!("no {path:?} in {value:?}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| items.iter().map(scalar).collect())
        .unwrap_or_default()
}

#[test]
fn by_default_no_pool_exists_and_oidc_is_off() {
    let stack = Stack::of_template(&[]);
    assert_eq!(stack.broken_rules(), Vec::<String>::new());
    assert_eq!(
        oidc_settings(&stack),
        settings([
            ("NOTIFY_OIDC_ISSUER", ""),
            ("NOTIFY_OIDC_AUDIENCE", ""),
            ("NOTIFY_OIDC_ORGS_CLAIM", "orgs"),
            ("NOTIFY_OIDC_JWKS_URL", ""),
        ])
    );
    assert!(stack.resources_of_type("AWS::Cognito::UserPool").is_empty());
    assert!(stack
        .resources_of_type("AWS::Cognito::UserPoolClient")
        .is_empty());
    for output in POOL_OUTPUTS {
        assert_eq!(stack.output(output), None, "{output}");
    }
}

#[test]
fn an_identity_provider_of_ones_own_reaches_every_function_from_the_parameters() {
    let stack = Stack::of_template(&[
        ("OidcIssuer", "https://example.eu.auth0.com/"),
        ("OidcAudience", "https://notify.example.com"),
        ("OidcOrgsClaim", "https://notify.example.com/orgs"),
        (
            "OidcJwksUrl",
            "https://example.eu.auth0.com/.well-known/jwks.json",
        ),
    ]);
    assert_eq!(stack.broken_rules(), Vec::<String>::new());
    assert_eq!(
        oidc_settings(&stack),
        settings([
            ("NOTIFY_OIDC_ISSUER", "https://example.eu.auth0.com/"),
            ("NOTIFY_OIDC_AUDIENCE", "https://notify.example.com"),
            ("NOTIFY_OIDC_ORGS_CLAIM", "https://notify.example.com/orgs"),
            (
                "NOTIFY_OIDC_JWKS_URL",
                "https://example.eu.auth0.com/.well-known/jwks.json"
            ),
        ])
    );
    assert!(stack.resources_of_type("AWS::Cognito::UserPool").is_empty());
    assert_eq!(stack.output("UserPoolIssuer"), None);
}

#[test]
fn the_stacks_own_pool_is_the_issuer_with_groups_as_orgs() {
    let stack = Stack::of_template(&[("CreateUserPool", "true")]);
    assert_eq!(stack.broken_rules(), Vec::<String>::new());
    let issuer = format!("https://cognito-idp.{REGION}.amazonaws.com/<UserPool>");
    assert_eq!(
        oidc_settings(&stack),
        settings([
            ("NOTIFY_OIDC_ISSUER", &issuer),
            ("NOTIFY_OIDC_AUDIENCE", "<UserPoolClient>"),
            ("NOTIFY_OIDC_ORGS_CLAIM", "cognito:groups"),
            // Discovery: Cognito serves {issuer}/.well-known/openid-configuration.
            ("NOTIFY_OIDC_JWKS_URL", ""),
        ])
    );
    assert_eq!(stack.output("UserPoolIssuer").as_deref(), Some(&*issuer));
    assert_eq!(stack.output("UserPoolId").as_deref(), Some("<UserPool>"));
    assert_eq!(
        stack.output("UserPoolClientId").as_deref(),
        Some("<UserPoolClient>")
    );
}

#[test]
fn with_the_attribute_the_orgs_claim_is_custom_orgs_which_id_tokens_carry() {
    let stack = Stack::of_template(&[
        ("CreateUserPool", "true"),
        ("UserPoolOrgsFrom", "attribute"),
    ]);
    assert_eq!(stack.broken_rules(), Vec::<String>::new());
    assert_eq!(
        oidc_settings(&stack)["NOTIFY_OIDC_ORGS_CLAIM"],
        "custom:orgs"
    );
    let pool = stack
        .resource("UserPool")
        .unwrap_or_else(|| panic!("no UserPool"));
    let schema = field(&pool, &["Properties", "Schema"]);
    let orgs = schema
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|attribute| attribute.get("Name").map(scalar).as_deref() == Some("orgs"))
        .unwrap_or_else(|| panic!("the pool has no custom attribute orgs: {schema:?}"));
    assert_eq!(scalar(field(orgs, &["AttributeDataType"])), "String");
    assert_eq!(scalar(field(orgs, &["Mutable"])), "true");
    // Custom attributes reach ID tokens only when the client may read them.
    let client = stack
        .resource("UserPoolClient")
        .unwrap_or_else(|| panic!("no UserPoolClient"));
    let read = strings(field(&client, &["Properties", "ReadAttributes"]));
    assert!(read.contains(&"custom:orgs".to_owned()), "{read:?}");
}

/// Users must not be able to put themselves in an org: no sign-up, and the
/// client cannot write custom:orgs (groups are an administrator's anyway).
#[test]
fn only_an_administrator_creates_users_and_sets_their_orgs() {
    let stack = Stack::of_template(&[
        ("CreateUserPool", "true"),
        ("UserPoolOrgsFrom", "attribute"),
    ]);
    let pool = stack
        .resource("UserPool")
        .unwrap_or_else(|| panic!("no UserPool"));
    let admin_only = field(
        &pool,
        &[
            "Properties",
            "AdminCreateUserConfig",
            "AllowAdminCreateUserOnly",
        ],
    );
    assert_eq!(scalar(admin_only), "true");
    let client = stack
        .resource("UserPoolClient")
        .unwrap_or_else(|| panic!("no UserPoolClient"));
    let write = strings(field(&client, &["Properties", "WriteAttributes"]));
    assert!(
        !write.is_empty(),
        "without WriteAttributes the default applies"
    );
    assert!(
        write
            .iter()
            .all(|attribute| !attribute.starts_with("custom:")),
        "{write:?}"
    );
    // A public client: CLI tools cannot keep a secret.
    assert_eq!(
        scalar(field(&client, &["Properties", "GenerateSecret"])),
        "false"
    );
    let flows = strings(field(&client, &["Properties", "ExplicitAuthFlows"]));
    assert!(
        flows.iter().all(|flow| !flow.contains("ADMIN")),
        "admin flows belong to no public client: {flows:?}"
    );
}

/// Retained as the table is, and protected from deletion when the table is:
/// a user's `sub` is their personal org, which a new pool would not give back.
#[test]
fn the_pool_outlives_the_stack_and_is_protected_with_the_table() {
    let template: Value = serde_norway::from_str(&notify_tests::repo::read("template.yaml"))
        .unwrap_or_else(|err| panic!("{err}"));
    let declaration = field(&template, &["Resources", "UserPool"]);
    assert_eq!(scalar(field(declaration, &["DeletionPolicy"])), "Retain");
    assert_eq!(
        scalar(field(declaration, &["UpdateReplacePolicy"])),
        "Retain"
    );
    for (protection, expected) in [("true", "ACTIVE"), ("false", "INACTIVE")] {
        let stack = Stack::of_template(&[
            ("CreateUserPool", "true"),
            ("TableDeletionProtection", protection),
        ]);
        let pool = stack
            .resource("UserPool")
            .unwrap_or_else(|| panic!("no UserPool"));
        assert_eq!(
            scalar(field(&pool, &["Properties", "DeletionProtection"])),
            expected
        );
    }
}

#[test]
fn the_rules_refuse_a_pool_with_another_issuer_and_half_an_issuer() {
    let refused: [&[(&str, &str)]; 5] = [
        &[
            ("CreateUserPool", "true"),
            ("OidcIssuer", "https://accounts.google.com"),
        ],
        &[("CreateUserPool", "true"), ("OidcAudience", "client")],
        &[("CreateUserPool", "true"), ("OidcOrgsClaim", "groups")],
        &[("OidcIssuer", "https://accounts.google.com")],
        &[("OidcAudience", "client")],
    ];
    for parameters in refused {
        let stack = Stack::of_template(parameters);
        assert!(!stack.broken_rules().is_empty(), "{parameters:?} passes");
    }
    let accepted = Stack::of_template(&[
        ("OidcIssuer", "https://accounts.google.com"),
        ("OidcAudience", "1234.apps.googleusercontent.com"),
        ("OidcOrgsClaim", "hd"),
    ]);
    assert_eq!(accepted.broken_rules(), Vec::<String>::new());
}
