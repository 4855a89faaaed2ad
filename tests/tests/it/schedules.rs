//! Scheduled sends ride on EventBridge Scheduler one-time schedules
//! (`notify_shared::schedules`). The emulator stores schedules and never
//! fires them; `schedule_runner` does, as `scripts/dev` runs it: a due
//! schedule's body reaches its queue twice (delivery is at least once) and
//! the schedule is deleted after completion.

use std::collections::BTreeSet;

use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindowMode};
use notify_shared::clock::now_unix_secs;
use notify_shared::schedules::{at_expression, Schedules, RETRY_WINDOW_SECS};
use notify_tests::env::{emulator_sdk, template};
use notify_tests::schedules::ScheduleGroup;

struct Rig {
    sqs: aws_sdk_sqs::Client,
    queues: notifyctl::Queues,
    group: ScheduleGroup,
}

impl Rig {
    async fn start() -> Self {
        let (_, sdk) = emulator_sdk().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let name = format!(
            "test-scheduled-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let queues = notifyctl::create_queues(&sqs, &template().queues, &name)
            .await
            .unwrap_or_else(|err| panic!("creating test queues: {err:#}"));
        let group = ScheduleGroup::create(&sdk, &queues).await;
        Self { sqs, queues, group }
    }

    /// Every body on the delivery queue now, received and deleted.
    async fn drain(&self) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queues.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap_or_else(|err| panic!("receiving: {err}"));
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for message in messages {
                bodies.push(message.body.unwrap_or_default());
                if let Some(receipt) = message.receipt_handle {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.queues.url)
                        .receipt_handle(receipt)
                        .send()
                        .await;
                }
            }
        }
    }

    /// The names of the group's schedules.
    async fn listed(&self) -> BTreeSet<String> {
        let listed = self
            .group
            .scheduler
            .list_schedules()
            .group_name(self.group.name())
            .send()
            .await
            .unwrap_or_else(|err| panic!("listing schedules: {err}"));
        listed
            .schedules
            .iter()
            .filter_map(|summary| summary.name().map(str::to_owned))
            .collect()
    }
}

fn batch_schedule() -> String {
    Schedules::schedule_name(&uuid::Uuid::new_v4().to_string())
}

fn now() -> i64 {
    i64::try_from(now_unix_secs()).unwrap_or(i64::MAX)
}

#[tokio::test]
async fn a_due_schedule_reaches_its_queue_twice_and_is_deleted_and_one_not_due_is_left_alone() {
    let rig = Rig::start().await;
    let schedules = rig.group.schedules();
    let (due, later) = (batch_schedule(), batch_schedule());
    let now = now();
    let created = schedules
        .create_once(&due, now - 120, r#"{"batch_id":"due"}"#)
        .await;
    assert!(created.is_ok(), "{created:?}");
    let created = schedules
        .create_once(&later, now + 3600, r#"{"batch_id":"later"}"#)
        .await;
    assert!(created.is_ok(), "{created:?}");

    let mut runner = rig.group.runner(rig.sqs.clone());
    let round = runner
        .fire_due(now)
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(round.fired, vec![due.clone()]);
    assert_eq!((round.waiting, round.failed), (1, 0));
    assert_eq!(
        rig.drain().await,
        vec![r#"{"batch_id":"due"}"#; 2],
        "the due body, twice, and nothing of the other"
    );
    assert_eq!(rig.listed().await, BTreeSet::from([later.clone()]));

    // What was left is the schedule as created.
    let stored = rig
        .group
        .scheduler
        .get_schedule()
        .group_name(rig.group.name())
        .name(&later)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        stored.schedule_expression(),
        at_expression(now + 3600).as_deref()
    );
    assert_eq!(stored.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        stored.action_after_completion(),
        Some(&ActionAfterCompletion::Delete)
    );
    assert_eq!(
        stored.flexible_time_window().map(|window| window.mode()),
        Some(&FlexibleTimeWindowMode::Off)
    );
    let target = stored
        .target()
        .unwrap_or_else(|| panic!("the schedule has no target"));
    assert_eq!(target.arn(), rig.queues.arn);
    assert_eq!(target.input(), Some(r#"{"batch_id":"later"}"#));
    assert_eq!(
        target
            .dead_letter_config()
            .and_then(|dead_letter| dead_letter.arn()),
        Some(rig.queues.dlq_arn.as_str())
    );
    assert_eq!(
        target
            .retry_policy()
            .and_then(|retry| retry.maximum_event_age_in_seconds()),
        Some(RETRY_WINDOW_SECS)
    );

    // A second round fires nothing again.
    let round = runner
        .fire_due(now + 1)
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert!(round.fired.is_empty(), "{round:?}");
    assert_eq!(round.waiting, 1);
    assert!(rig.drain().await.is_empty());
}

#[tokio::test]
async fn a_schedule_fires_from_the_start_of_the_minute_that_holds_its_time() {
    let rig = Rig::start().await;
    let name = batch_schedule();
    // 30 s into a minute an hour from now.
    let minute = (now() + 3600) / 60 * 60;
    let created = rig
        .group
        .schedules()
        .create_once(&name, minute + 30, "early")
        .await;
    assert!(created.is_ok(), "{created:?}");

    let mut runner = rig.group.runner(rig.sqs.clone());
    let before = runner.fire_due(minute - 1).await.ok();
    assert_eq!(before.map(|round| round.waiting), Some(1));
    let at = runner.fire_due(minute).await.ok();
    assert_eq!(at.map(|round| round.fired), Some(vec![name]));
    assert_eq!(rig.drain().await, vec!["early"; 2]);
}

#[tokio::test]
async fn creating_a_schedule_again_is_ok_and_keeps_one_schedule() {
    let rig = Rig::start().await;
    let schedules = rig.group.schedules();
    let name = batch_schedule();
    let at = now() + 600;
    for attempt in 1..=2 {
        let created = schedules.create_once(&name, at, "retried").await;
        assert!(created.is_ok(), "attempt {attempt}: {created:?}");
    }
    assert_eq!(rig.listed().await, BTreeSet::from([name]));
}

#[tokio::test]
async fn deleting_is_ok_whether_or_not_the_schedule_exists() {
    let rig = Rig::start().await;
    let schedules = rig.group.schedules();
    let unknown = schedules.delete(&batch_schedule()).await;
    assert!(unknown.is_ok(), "{unknown:?}");

    let name = batch_schedule();
    let created = schedules.create_once(&name, now() + 600, "cancelled").await;
    assert!(created.is_ok(), "{created:?}");
    for attempt in 1..=2 {
        let deleted = schedules.delete(&name).await;
        assert!(deleted.is_ok(), "attempt {attempt}: {deleted:?}");
    }
    assert!(rig.listed().await.is_empty());

    // Nothing is left to fire.
    let mut runner = rig.group.runner(rig.sqs.clone());
    let round = runner.fire_due(now() + 3600).await.ok();
    assert_eq!(round.map(|round| round.fired.len()), Some(0));
    assert!(rig.drain().await.is_empty());
}
