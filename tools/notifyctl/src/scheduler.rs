//! The EventBridge Scheduler side of scheduled sends: the schedule group
//! (the template's `ScheduleGroup`) and what the functions are told of it.

use anyhow::{anyhow, Context, Result};
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::operation::create_schedule_group::CreateScheduleGroupError;
use aws_sdk_scheduler::operation::get_schedule_group::GetScheduleGroupError;
use aws_sdk_scheduler::Client;

/// The role the schedules name for sending to the delivery queue (the
/// template's `ScheduleRole`). Not created here: the emulator checks no
/// IAM, and only needs an ARN of the right form.
pub const SCHEDULE_ROLE_NAME: &str = "notify-scheduler";

/// What the functions need to schedule a send (their `NOTIFY_SCHEDULE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTarget {
    pub group: String,
    pub role_arn: String,
    /// The delivery queue's ARN.
    pub target_arn: String,
    /// The delivery dead-letter queue's ARN.
    pub dlq_arn: String,
}

/// Creates schedule group `name` unless it exists. Asks first: the
/// emulator's CreateScheduleGroup replaces an existing group, schedules
/// and all, where AWS answers ConflictException.
#[tracing::instrument(skip(client))]
pub async fn ensure_schedule_group(client: &Client, name: &str) -> Result<()> {
    let existing = client.get_schedule_group().name(name).send().await;
    match existing {
        Ok(_) => {
            tracing::info!(group = name, "schedule group exists");
            return Ok(());
        }
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(GetScheduleGroupError::ResourceNotFoundException(_))
            ) => {}
        Err(err) => {
            return Err(anyhow!("{}", DisplayErrorContext(err)))
                .with_context(|| format!("looking up schedule group {name}"))
        }
    }
    match client.create_schedule_group().name(name).send().await {
        Ok(_) => {
            tracing::info!(group = name, "schedule group created");
            Ok(())
        }
        // Created by someone else since the look-up.
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateScheduleGroupError::ConflictException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(anyhow!("{}", DisplayErrorContext(err)))
            .with_context(|| format!("creating schedule group {name}")),
    }
}

/// The ARN of role [`SCHEDULE_ROLE_NAME`] in the partition and account of
/// `queue_arn` (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`).
pub fn schedule_role_arn(queue_arn: &str) -> Result<String> {
    let parts: Vec<&str> = queue_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "sqs", _, account, _] if !account.is_empty() => Ok(format!(
            "arn:{partition}:iam::{account}:role/{SCHEDULE_ROLE_NAME}"
        )),
        _ => Err(anyhow!("{queue_arn} is not an SQS queue ARN")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_role_is_in_the_queues_partition_and_account() {
        assert_eq!(
            schedule_role_arn("arn:aws:sqs:us-east-1:123456789012:notify-delivery-local").ok(),
            Some("arn:aws:iam::123456789012:role/notify-scheduler".to_owned())
        );
        assert_eq!(
            schedule_role_arn("arn:aws-cn:sqs:cn-north-1:210987654321:q").ok(),
            Some("arn:aws-cn:iam::210987654321:role/notify-scheduler".to_owned())
        );
        assert!(schedule_role_arn("http://127.0.0.1:4566/123456789012/q").is_err());
    }
}
