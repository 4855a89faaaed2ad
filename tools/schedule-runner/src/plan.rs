//! What a stored schedule asks of the runner, read from its GetSchedule
//! answer by EventBridge Scheduler's rules, not by what Notify writes: a
//! schedule Notify got wrong must not fire here either.

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types::{ActionAfterCompletion, ScheduleState};
use chrono::NaiveDateTime;

/// A one-time schedule to fire.
#[derive(Clone, PartialEq, Eq)]
pub struct Firing {
    /// When it is due: the start of its `at()` minute, seconds since the
    /// epoch (EventBridge Scheduler fires within that minute).
    pub due: i64,
    /// The target queue's ARN.
    pub queue_arn: String,
    /// The target's `Input`, the message body: never logged.
    pub body: String,
    /// `SqsParameters.MessageGroupId`, sent on as the message's group.
    pub message_group_id: Option<String>,
    /// `ActionAfterCompletion: DELETE`: the schedule goes once it fired.
    pub delete_after: bool,
}

// By hand, so that no `{:?}` of a plan can print a body.
impl std::fmt::Debug for Firing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firing")
            .field("due", &self.due)
            .field("queue_arn", &self.queue_arn)
            .field("body_bytes", &self.body.len())
            .field("message_group_id", &self.message_group_id)
            .field("delete_after", &self.delete_after)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Fire(Firing),
    /// Not played here, for this reason: left alone.
    Ignore(&'static str),
}

/// What `schedule` asks for: a firing of an enabled one-time schedule
/// whose target is an SQS queue, or the reason it is left alone.
pub fn plan(schedule: &GetScheduleOutput) -> Plan {
    if schedule.state() == Some(&ScheduleState::Disabled) {
        return Plan::Ignore("disabled");
    }
    let Some(expression) = schedule.schedule_expression() else {
        return Plan::Ignore("no schedule expression");
    };
    let timezone = schedule.schedule_expression_timezone();
    let Some(due) = at_time(expression, timezone) else {
        return Plan::Ignore(
            "not an at() expression in UTC (rate, cron and other time zones are not played)",
        );
    };
    let Some(target) = schedule.target() else {
        return Plan::Ignore("no target");
    };
    if target.arn().split(':').nth(2) != Some("sqs") {
        return Plan::Ignore("the target is not an SQS queue");
    }
    let Some(body) = target.input().filter(|input| !input.is_empty()) else {
        return Plan::Ignore("the target has no Input");
    };
    Plan::Fire(Firing {
        due,
        queue_arn: target.arn().to_owned(),
        body: body.to_owned(),
        message_group_id: target
            .sqs_parameters()
            .and_then(|sqs| sqs.message_group_id())
            .map(str::to_owned),
        delete_after: schedule.action_after_completion() == Some(&ActionAfterCompletion::Delete),
    })
}

/// The time of `at(yyyy-mm-ddThh:mm:ss)` evaluated in `timezone` (only
/// UTC, the default, is played), in seconds since the epoch.
pub fn at_time(expression: &str, timezone: Option<&str>) -> Option<i64> {
    if !matches!(timezone, None | Some("UTC")) {
        return None;
    }
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    let time = NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(time.and_utc().timestamp())
}

/// The name of the queue an SQS ARN names (its last segment).
pub fn queue_name(arn: &str) -> Option<&str> {
    arn.rsplit(':').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use aws_sdk_scheduler::types::{SqsParameters, Target};

    use super::*;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:notify-delivery-local";

    fn target(arn: &str, input: Option<&str>) -> Target {
        Target::builder()
            .arn(arn)
            .role_arn("arn:aws:iam::123456789012:role/notify-scheduler")
            .set_input(input.map(str::to_owned))
            .build()
            .unwrap_or_else(|err| panic!("{err}"))
    }

    fn schedule(expression: &str, target: Target) -> GetScheduleOutput {
        GetScheduleOutput::builder()
            .name("notify-b")
            .schedule_expression(expression)
            .schedule_expression_timezone("UTC")
            .state(ScheduleState::Enabled)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .build()
    }

    #[test]
    fn an_at_expression_is_read_in_utc_and_nothing_else_is_taken_for_one() {
        // 2025-03-01T12:34:00Z
        assert_eq!(
            at_time("at(2025-03-01T12:34:00)", Some("UTC")),
            Some(1_740_832_440)
        );
        assert_eq!(
            at_time("at(2025-03-01T12:34:00)", None),
            Some(1_740_832_440)
        );
        assert_eq!(
            at_time("at(2025-03-01T12:34:00)", Some("Europe/Paris")),
            None
        );
        for other in [
            "rate(5 minutes)",
            "cron(0 12 * * ? *)",
            "at(2025-03-01 12:34:00)",
            "at(2025-03-01T12:34)",
            "at(2025-02-30T12:34:00)",
        ] {
            assert_eq!(at_time(other, None), None, "{other}");
        }
    }

    #[test]
    fn an_enabled_one_time_schedule_to_a_queue_fires_its_input_and_deletes_itself() {
        let mut sqs_target = target(QUEUE, Some("{\"batch_id\":\"b\"}"));
        sqs_target.sqs_parameters = Some(SqsParameters::builder().message_group_id("t1").build());
        let planned = plan(&schedule("at(2025-03-01T12:34:00)", sqs_target));
        assert_eq!(
            planned,
            Plan::Fire(Firing {
                due: 1_740_832_440,
                queue_arn: QUEUE.to_owned(),
                body: "{\"batch_id\":\"b\"}".to_owned(),
                message_group_id: Some("t1".to_owned()),
                delete_after: true,
            })
        );
        let debug = format!("{planned:?}");
        assert!(!debug.contains("batch_id"), "{debug}");
    }

    #[test]
    fn what_the_runner_does_not_play_is_left_alone() {
        let at = "at(2025-03-01T12:34:00)";
        let lambda = "arn:aws:lambda:us-east-1:123456789012:function:f";
        assert!(matches!(
            plan(&schedule("rate(1 hour)", target(QUEUE, Some("x")))),
            Plan::Ignore(_)
        ));
        assert!(matches!(
            plan(&schedule(at, target(lambda, Some("x")))),
            Plan::Ignore(_)
        ));
        assert!(matches!(
            plan(&schedule(at, target(QUEUE, None))),
            Plan::Ignore(_)
        ));
        let mut disabled = schedule(at, target(QUEUE, Some("x")));
        disabled.state = Some(ScheduleState::Disabled);
        assert_eq!(plan(&disabled), Plan::Ignore("disabled"));
        let mut kept = schedule(at, target(QUEUE, Some("x")));
        kept.action_after_completion = Some(ActionAfterCompletion::None);
        assert!(matches!(
            plan(&kept),
            Plan::Fire(Firing {
                delete_after: false,
                ..
            })
        ));
    }

    #[test]
    fn a_queue_is_named_by_the_last_segment_of_its_arn() {
        assert_eq!(queue_name(QUEUE), Some("notify-delivery-local"));
        assert_eq!(queue_name("arn:aws:sqs:us-east-1:123456789012:"), None);
    }
}
