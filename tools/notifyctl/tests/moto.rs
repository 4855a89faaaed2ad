//! Against the emulator `scripts/test` starts (`NOTIFY_TEST_AWS_ENDPOINT`);
//! skipped, with a note, when it is not set.

use std::path::Path;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use notifyctl::{ResourceNames, Template};
use rand::distr::{Alphanumeric, SampleString};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

async fn sdk() -> Option<SdkConfig> {
    let Ok(endpoint) = std::env::var("NOTIFY_TEST_AWS_ENDPOINT") else {
        eprintln!("NOTIFY_TEST_AWS_ENDPOINT is not set: skipped (scripts/test sets it)");
        return None;
    };
    Some(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await,
    )
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 10)
            .to_lowercase()
    )
}

fn names() -> ResourceNames {
    ResourceNames {
        table: unique("notifyctl-test"),
        queue: unique("notifyctl-test"),
        signing_secret: unique("notifyctl-test/signing"),
        tenant_secret_prefix: "notifyctl-test/tenants/".to_owned(),
        schedule_group: unique("notifyctl-test"),
    }
}

async fn create_schedule(
    scheduler: &aws_sdk_scheduler::Client,
    target: &notifyctl::ScheduleTarget,
) {
    use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
    let created = scheduler
        .create_schedule()
        .group_name(&target.group)
        .name("kept")
        .schedule_expression("at(2100-01-01T00:00:00)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap_or_else(|err| panic!("{err}")),
        )
        .target(
            Target::builder()
                .arn(&target.target_arn)
                .role_arn(&target.role_arn)
                .input("{}")
                .build()
                .unwrap_or_else(|err| panic!("{err}")),
        )
        .send()
        .await;
    if let Err(err) = created {
        panic!(
            "creating a schedule: {}",
            aws_sdk_scheduler::error::DisplayErrorContext(err)
        );
    }
}

#[tokio::test]
async fn bootstrap_creates_everything_the_template_defines_and_can_run_again() {
    let Some(sdk) = sdk().await else { return };
    let names = names();
    let first = notifyctl::bootstrap(&sdk, Path::new(TEMPLATE), &names).await;
    let first = first.unwrap_or_else(|err| panic!("first bootstrap: {err:#}"));
    // A schedule made in between survives the second run: the group is
    // kept, not made again (the emulator's CreateScheduleGroup would
    // replace it, schedules and all).
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    create_schedule(&scheduler, &first.schedules).await;
    let second = notifyctl::bootstrap(&sdk, Path::new(TEMPLATE), &names).await;
    let second = second.unwrap_or_else(|err| panic!("second bootstrap: {err:#}"));
    assert_eq!(first, second);
    assert_eq!(first.schedules.group, names.schedule_group);
    assert_eq!(first.schedules.target_arn, first.queues.arn);
    let kept = scheduler
        .get_schedule()
        .group_name(&names.schedule_group)
        .name("kept")
        .send()
        .await;
    assert!(kept.is_ok(), "the group was replaced: {kept:?}");

    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = dynamodb
        .describe_table()
        .table_name(&names.table)
        .send()
        .await
        .ok()
        .and_then(|output| output.table);
    let index_names: Vec<_> = table
        .iter()
        .flat_map(|table| table.global_secondary_indexes())
        .filter_map(|index| index.index_name.clone())
        .collect();
    assert_eq!(index_names, vec!["GSI1".to_owned()]);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&names.table)
        .send()
        .await
        .ok()
        .and_then(|output| output.time_to_live_description)
        .and_then(|ttl| ttl.attribute_name);
    assert_eq!(ttl.as_deref(), Some("expires_at"));

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&first.queues.url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .ok()
        .and_then(|output| output.attributes)
        .unwrap_or_default();
    assert_eq!(
        attributes
            .get(&QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("240")
    );
    let redrive: serde_json::Value = attributes
        .get(&QueueAttributeName::RedrivePolicy)
        .and_then(|policy| serde_json::from_str(policy).ok())
        .unwrap_or_default();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        first.queues.dlq_arn.as_str()
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = notifyctl::read_signing_secret(&secrets, &names.signing_secret).await;
    assert_eq!(secret.map(|secret| secret.len()).ok(), Some(64));
}

#[tokio::test]
async fn an_existing_table_with_other_keys_is_reported_not_accepted() {
    let Some(sdk) = sdk().await else { return };
    let template =
        Template::from_file(Path::new(TEMPLATE)).unwrap_or_else(|err| panic!("template: {err:#}"));
    let mut other = template.table.clone();
    other.global_secondary_indexes.clear();
    other
        .attribute_definitions
        .retain(|attribute| !attribute.name.starts_with("GSI1"));
    let table = unique("notifyctl-test");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    notifyctl::create_table(&client, &other, &table)
        .await
        .unwrap_or_else(|err| panic!("create: {err:#}"));
    let error = notifyctl::create_table(&client, &template.table, &table)
        .await
        .err()
        .map(|err| format!("{err:#}"))
        .unwrap_or_default();
    assert!(error.contains("index GSI1 is missing"), "{error}");
}

#[tokio::test]
async fn ensure_signing_secret_leaves_an_existing_value_alone_and_rotation_replaces_it() {
    let Some(sdk) = sdk().await else { return };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let id = unique("notifyctl-test/signing");
    let read = |client: aws_sdk_secretsmanager::Client, id: String| async move {
        notifyctl::read_signing_secret(&client, &id)
            .await
            .unwrap_or_else(|err| panic!("read: {err:#}"))
    };
    notifyctl::ensure_signing_secret(&client, &id)
        .await
        .unwrap_or_else(|err| panic!("create: {err:#}"));
    let original = read(client.clone(), id.clone()).await;
    notifyctl::ensure_signing_secret(&client, &id)
        .await
        .unwrap_or_else(|err| panic!("again: {err:#}"));
    assert_eq!(read(client.clone(), id.clone()).await, original);
    notifyctl::rotate_signing_secret(&client, &id)
        .await
        .unwrap_or_else(|err| panic!("rotate: {err:#}"));
    let rotated = read(client.clone(), id.clone()).await;
    assert_ne!(rotated, original);
    assert_eq!(rotated.len(), 64);
}

#[tokio::test]
async fn redrive_moves_dead_letters_back_with_their_attributes() {
    let Some(sdk) = sdk().await else { return };
    let template =
        Template::from_file(Path::new(TEMPLATE)).unwrap_or_else(|err| panic!("template: {err:#}"));
    let client = aws_sdk_sqs::Client::new(&sdk);
    let queues = notifyctl::create_queues(&client, &template.queues, &unique("notifyctl-test"))
        .await
        .unwrap_or_else(|err| panic!("queues: {err:#}"));
    for n in 0..13 {
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(format!("v{n}"))
            .build()
            .unwrap_or_else(|err| panic!("{err}"));
        client
            .send_message()
            .queue_url(&queues.dlq_url)
            .message_body(format!("message {n}"))
            .message_attributes("n", attribute)
            .send()
            .await
            .unwrap_or_else(|err| panic!("send: {err}"));
    }

    let first = notifyctl::redrive(&client, &queues.dlq_url, &queues.url, Some(4))
        .await
        .unwrap_or_else(|err| panic!("redrive: {err:#}"));
    assert_eq!(first.moved, 4);
    let rest = notifyctl::redrive(&client, &queues.dlq_url, &queues.url, None)
        .await
        .unwrap_or_else(|err| panic!("redrive: {err:#}"));
    assert_eq!(
        (rest.moved, rest.send_failed, rest.delete_failed),
        (9, 0, 0)
    );

    let mut bodies = Vec::new();
    for _ in 0..10 {
        let received = client
            .receive_message()
            .queue_url(&queues.url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap_or_else(|err| panic!("receive: {err}"));
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let attribute = message
                .message_attributes
                .as_ref()
                .and_then(|attributes| attributes.get("n"))
                .and_then(|value| value.string_value.clone());
            bodies.push((message.body.unwrap_or_default(), attribute));
        }
    }
    bodies.sort();
    assert_eq!(bodies.len(), 13);
    assert!(bodies
        .iter()
        .all(
            |(body, attribute)| attribute.as_deref().map(|v| body.ends_with(&v[1..])) == Some(true)
        ));
}
