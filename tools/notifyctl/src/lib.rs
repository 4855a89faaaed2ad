//! `notifyctl`: creates the data resources `template.yaml` defines in
//! whatever AWS the SDK points at (locally, `AWS_ENDPOINT_URL` → moto), mints
//! user tokens, rotates the signing secret and redrives the dead-letter
//! queue. The integration tests use the library to make their tables and
//! queues.
#![forbid(unsafe_code)]

pub mod dynamodb;
pub mod limits;
pub mod metrics;
pub mod scheduler;
pub mod secrets;
pub mod sqs;
pub mod template;
pub mod token;

use std::path::Path;

use anyhow::{Context, Result};

pub use dynamodb::create_table;
pub use scheduler::{ensure_schedule_group, ScheduleTarget};
pub use secrets::{ensure_signing_secret, read_signing_secret, rotate_signing_secret};
pub use sqs::{create_queues, redrive, Queues, RedriveReport};
pub use template::{QueueDefinition, TableDefinition, Template};

/// Names of the local resources (`scripts/dev`).
pub const LOCAL_TABLE: &str = "notify-local";
pub const LOCAL_QUEUE: &str = "notify-delivery-local";
pub const LOCAL_SIGNING_SECRET: &str = "notify/local/user-token-signing";
pub const LOCAL_TENANT_SECRET_PREFIX: &str = "notify/local/tenants/";
pub const LOCAL_SCHEDULE_GROUP: &str = "notify-local";

/// What `bootstrap` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    pub table: String,
    /// The dead-letter queue is this name with `-dlq` appended.
    pub queue: String,
    pub signing_secret: String,
    /// Not created (tenant secrets are made per tenant); passed on to the
    /// functions' environment.
    pub tenant_secret_prefix: String,
    /// The EventBridge Scheduler group of scheduled sends.
    pub schedule_group: String,
}

impl Default for ResourceNames {
    fn default() -> Self {
        Self {
            table: LOCAL_TABLE.to_owned(),
            queue: LOCAL_QUEUE.to_owned(),
            signing_secret: LOCAL_SIGNING_SECRET.to_owned(),
            tenant_secret_prefix: LOCAL_TENANT_SECRET_PREFIX.to_owned(),
            schedule_group: LOCAL_SCHEDULE_GROUP.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOutput {
    pub table_name: String,
    pub queues: Queues,
    /// The webhook queue pair: `{queue}-webhooks` and its `-dlq`.
    pub webhook_queues: Queues,
    pub signing_secret_id: String,
    pub tenant_secret_prefix: String,
    /// Scheduled sends: the group, and the delivery queues as targets.
    pub schedules: ScheduleTarget,
}

impl BootstrapOutput {
    /// The functions' `NOTIFY_*` environment (see `notify_shared::config`),
    /// plus `NOTIFY_DELIVERY_DLQ_URL` for operators and tests.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NOTIFY_TABLE_NAME", self.table_name.clone()),
            ("NOTIFY_DELIVERY_QUEUE_URL", self.queues.url.clone()),
            ("NOTIFY_DELIVERY_DLQ_URL", self.queues.dlq_url.clone()),
            ("NOTIFY_WEBHOOK_QUEUE_URL", self.webhook_queues.url.clone()),
            ("NOTIFY_SIGNING_SECRET_ID", self.signing_secret_id.clone()),
            (
                "NOTIFY_TENANT_SECRET_PREFIX",
                self.tenant_secret_prefix.clone(),
            ),
            ("NOTIFY_SCHEDULE_GROUP", self.schedules.group.clone()),
            ("NOTIFY_SCHEDULE_ROLE_ARN", self.schedules.role_arn.clone()),
            (
                "NOTIFY_SCHEDULE_TARGET_ARN",
                self.schedules.target_arn.clone(),
            ),
            ("NOTIFY_SCHEDULE_DLQ_ARN", self.schedules.dlq_arn.clone()),
        ]
    }

    /// `KEY=VALUE` lines, the format of `cargo lambda watch --env-file`.
    pub fn env_file(&self) -> String {
        self.env()
            .into_iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect()
    }

    /// `export KEY='VALUE'` lines for `eval`.
    pub fn shell_exports(&self) -> String {
        self.env()
            .into_iter()
            .map(|(key, value)| format!("export {key}={}\n", shell_quote(&value)))
            .collect()
    }
}

/// Single-quotes a value for POSIX shells.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Creates the table, the queues, the signing secret and the schedule
/// group that the template defines, under `names`. Safe to run again.
pub async fn bootstrap(
    sdk: &aws_config::SdkConfig,
    template_path: &Path,
    names: &ResourceNames,
) -> Result<BootstrapOutput> {
    let template = Template::from_file(template_path)?;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let scheduler = aws_sdk_scheduler::Client::new(sdk);

    create_table(&dynamodb, &template.table, &names.table).await?;
    let queues = create_queues(&sqs, &template.queues, &names.queue).await?;
    let webhook_queues = create_queues(
        &sqs,
        &template.webhook_queues,
        &format!("{}-webhooks", names.queue),
    )
    .await?;
    ensure_signing_secret(&secrets, &names.signing_secret)
        .await
        .context("bootstrapping the signing secret")?;
    ensure_schedule_group(&scheduler, &names.schedule_group).await?;
    let schedules = ScheduleTarget {
        group: names.schedule_group.clone(),
        role_arn: scheduler::schedule_role_arn(&queues.arn)?,
        target_arn: queues.arn.clone(),
        dlq_arn: queues.dlq_arn.clone(),
    };
    Ok(BootstrapOutput {
        table_name: names.table.clone(),
        queues,
        webhook_queues,
        signing_secret_id: names.signing_secret.clone(),
        tenant_secret_prefix: names.tenant_secret_prefix.clone(),
        schedules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output() -> BootstrapOutput {
        BootstrapOutput {
            table_name: "notify-local".into(),
            queues: Queues {
                url: "http://127.0.0.1:4566/123456789012/q".into(),
                arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                dlq_url: "http://127.0.0.1:4566/123456789012/q-dlq".into(),
                dlq_arn: "arn:aws:sqs:us-east-1:123456789012:q-dlq".into(),
            },
            webhook_queues: Queues {
                url: "http://127.0.0.1:4566/123456789012/q-webhooks".into(),
                arn: "arn:aws:sqs:us-east-1:123456789012:q-webhooks".into(),
                dlq_url: "http://127.0.0.1:4566/123456789012/q-webhooks-dlq".into(),
                dlq_arn: "arn:aws:sqs:us-east-1:123456789012:q-webhooks-dlq".into(),
            },
            signing_secret_id: "notify/local/user-token-signing".into(),
            tenant_secret_prefix: "notify/local/tenants/".into(),
            schedules: ScheduleTarget {
                group: "notify-local".into(),
                role_arn: "arn:aws:iam::123456789012:role/notify-scheduler".into(),
                target_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                dlq_arn: "arn:aws:sqs:us-east-1:123456789012:q-dlq".into(),
            },
        }
    }

    #[test]
    fn the_env_names_every_variable_the_functions_read() {
        let keys: Vec<_> = output().env().into_iter().map(|(key, _)| key).collect();
        for required in [
            "NOTIFY_TABLE_NAME",
            "NOTIFY_SIGNING_SECRET_ID",
            "NOTIFY_TENANT_SECRET_PREFIX",
            "NOTIFY_DELIVERY_QUEUE_URL",
            "NOTIFY_WEBHOOK_QUEUE_URL",
            "NOTIFY_SCHEDULE_GROUP",
            "NOTIFY_SCHEDULE_ROLE_ARN",
            "NOTIFY_SCHEDULE_TARGET_ARN",
            "NOTIFY_SCHEDULE_DLQ_ARN",
        ] {
            assert!(keys.contains(&required), "{required} missing");
        }
    }

    #[test]
    fn env_file_lines_are_plain_key_value_pairs() {
        let file = output().env_file();
        assert!(file.contains("NOTIFY_TABLE_NAME=notify-local\n"));
        assert!(file.lines().all(|line| line.starts_with("NOTIFY_")));
    }

    #[test]
    fn exports_survive_shell_metacharacters() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert!(output()
            .shell_exports()
            .contains("export NOTIFY_TABLE_NAME='notify-local'\n"));
    }
}
