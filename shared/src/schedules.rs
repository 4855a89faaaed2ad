//! One-time EventBridge Scheduler schedules: how a bulk send with
//! `send_at` reaches the delivery queue at its time. A schedule sends its
//! body to the queue once, then deletes itself. Locally
//! `tools/schedule-runner` fires them (the emulator only stores them).
//!
//! EventBridge Scheduler invokes with 60-second precision: a schedule at
//! `hh:mm` fires between `hh:mm:00` and `hh:mm:59`
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>).
//! A schedule is therefore set at the start of the minute that holds the
//! wanted time: it fires at most 59 s after that time, and may fire up to
//! 59 s before it (the consumer holds an early message back). It delivers
//! at least once, so the consumer must also tolerate a duplicate.

use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, Datelike};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, ScheduleSettings};
use crate::error::{Error, Result};

/// How long EventBridge Scheduler keeps retrying a send the queue refused
/// (throttling, an outage) before the body goes to the dead-letter queue.
pub const RETRY_WINDOW_SECS: i32 = 3600;
/// The most retries the API takes; [`RETRY_WINDOW_SECS`] bounds them first.
pub const RETRY_ATTEMPTS: i32 = 185;

/// Schedule names: 1 to 64 of `[0-9a-zA-Z-_.]`
/// (<https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html>).
const NAME_MAX: usize = 64;
const NAME_PREFIX: &str = "notify-";

/// Creates and deletes the one-time schedules of scheduled sends. Built
/// once per cold start; holds the configuration it needs and reports a
/// missing piece when used, not when built.
#[derive(Debug, Clone)]
pub struct Schedules {
    client: Option<aws_sdk_scheduler::Client>,
    settings: ScheduleSettings,
}

#[derive(Debug, thiserror::Error)]
enum ScheduleError {
    #[error("no EventBridge Scheduler client: App::with_clients builds none (App::with_schedules installs one)")]
    NoClient,
    #[error("{0} s after the epoch is no time an at() expression can name")]
    OutOfRange(i64),
}

impl Schedules {
    pub fn new(client: aws_sdk_scheduler::Client, settings: ScheduleSettings) -> Self {
        Self {
            client: Some(client),
            settings,
        }
    }

    /// Schedules that fail every use with a 500 saying why: what
    /// `App::with_clients` holds until a test installs real ones.
    pub fn without_client(settings: ScheduleSettings) -> Self {
        Self {
            client: None,
            settings,
        }
    }

    /// The schedule of a batch: `notify-<batch id>`. An id that would not
    /// make a valid name (never one of ours, which are UUIDs) is named by
    /// its SHA-256 instead, so that the name is always accepted.
    pub fn schedule_name(batch_id: &str) -> String {
        let fits = !batch_id.is_empty()
            && NAME_PREFIX.len() + batch_id.len() <= NAME_MAX
            && batch_id.bytes().all(is_name_byte);
        if fits {
            format!("{NAME_PREFIX}{batch_id}")
        } else {
            let digest = hex::encode(Sha256::digest(batch_id.as_bytes()));
            let room = NAME_MAX - NAME_PREFIX.len();
            format!("{NAME_PREFIX}{}", &digest[..room])
        }
    }

    /// A schedule `name` that sends `body` to the target queue once, in
    /// the minute holding `at_epoch_seconds` (UTC), then deletes itself.
    /// Creating a name that exists is Ok: a retried request must not fail.
    #[tracing::instrument(skip_all, fields(schedule = %name))]
    pub async fn create_once(&self, name: &str, at_epoch_seconds: i64, body: &str) -> Result<()> {
        let client = self.client()?;
        let expression = at_expression(at_epoch_seconds).ok_or_else(|| {
            Error::internal(
                "scheduling a send",
                ScheduleError::OutOfRange(at_epoch_seconds),
            )
        })?;
        let created = client
            .create_schedule()
            .name(name)
            .group_name(self.settings.group().map_err(missing)?)
            .schedule_expression(expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(|err| Error::internal("building a schedule", err))?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(self.target(body)?)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(CreateScheduleError::ConflictException(_))
                ) =>
            {
                tracing::info!("the schedule exists already (a retried request)");
                Ok(())
            }
            Err(err) => Err(Error::from_sdk("creating a schedule", err)),
        }
    }

    /// Deletes schedule `name`; one that does not exist (never created,
    /// deleted, or fired and so deleted by itself) is Ok.
    #[tracing::instrument(skip_all, fields(schedule = %name))]
    pub async fn delete(&self, name: &str) -> Result<()> {
        let client = self.client()?;
        let deleted = client
            .delete_schedule()
            .name(name)
            .group_name(self.settings.group().map_err(missing)?)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteScheduleError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::from_sdk("deleting a schedule", err)),
        }
    }

    fn client(&self) -> Result<&aws_sdk_scheduler::Client> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::internal("scheduling a send", ScheduleError::NoClient))
    }

    /// SendMessage of `body` to the target queue, retried for an hour,
    /// then to the dead-letter queue when there is one.
    fn target(&self, body: &str) -> Result<Target> {
        let settings = &self.settings;
        let dead_letter = settings
            .dlq_arn
            .as_ref()
            .map(|arn| DeadLetterConfig::builder().arn(arn).build());
        Target::builder()
            .arn(settings.target_arn().map_err(missing)?)
            .role_arn(settings.role_arn().map_err(missing)?)
            .input(body)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(RETRY_WINDOW_SECS)
                    .maximum_retry_attempts(RETRY_ATTEMPTS)
                    .build(),
            )
            .set_dead_letter_config(dead_letter)
            .build()
            .map_err(|err| Error::internal("building a schedule's target", err))
    }
}

fn missing(err: ConfigError) -> Error {
    Error::internal("scheduling a send", err)
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')
}

/// `at(yyyy-mm-ddThh:mm:ss)` at the start of the UTC minute holding
/// `epoch_seconds`; `None` for a time outside the years 1 to 9999.
pub fn at_expression(epoch_seconds: i64) -> Option<String> {
    let minute = epoch_seconds.checked_sub(epoch_seconds.rem_euclid(60))?;
    let time = DateTime::from_timestamp(minute, 0)?;
    if !(1..=9999).contains(&time.year()) {
        return None;
    }
    Some(format!("at({})", time.format("%Y-%m-%dT%H:%M:%S")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_is_set_at_the_start_of_the_utc_minute_holding_the_time() {
        // 2025-03-01T12:34:56Z
        let time = 1_740_832_496;
        assert_eq!(
            at_expression(time).as_deref(),
            Some("at(2025-03-01T12:34:00)")
        );
        assert_eq!(
            at_expression(time - 56).as_deref(),
            Some("at(2025-03-01T12:34:00)")
        );
        assert_eq!(
            at_expression(time - 57).as_deref(),
            Some("at(2025-03-01T12:33:00)")
        );
        assert_eq!(
            at_expression(time + 3).as_deref(),
            Some("at(2025-03-01T12:34:00)")
        );
        assert_eq!(
            at_expression(time + 4).as_deref(),
            Some("at(2025-03-01T12:35:00)")
        );
    }

    #[test]
    fn the_minute_rolls_over_days_years_and_leap_days_in_utc() {
        // 2024-12-31T23:59:59Z and a second later.
        assert_eq!(
            at_expression(1_735_689_599).as_deref(),
            Some("at(2024-12-31T23:59:00)")
        );
        assert_eq!(
            at_expression(1_735_689_600).as_deref(),
            Some("at(2025-01-01T00:00:00)")
        );
        // 2028-02-29T08:05:30Z
        assert_eq!(
            at_expression(1_835_424_330).as_deref(),
            Some("at(2028-02-29T08:05:00)")
        );
    }

    #[test]
    fn far_dates_keep_four_digit_years_and_impossible_ones_are_refused() {
        // 9999-12-31T23:59:59Z
        assert_eq!(
            at_expression(253_402_300_799).as_deref(),
            Some("at(9999-12-31T23:59:00)")
        );
        assert_eq!(at_expression(253_402_300_800), None, "year 10000");
        assert_eq!(at_expression(i64::MAX), None);
        assert_eq!(at_expression(i64::MIN), None);
        assert_eq!(at_expression(0).as_deref(), Some("at(1970-01-01T00:00:00)"));
    }

    #[test]
    fn a_batch_schedule_is_named_after_its_batch_within_the_name_rules() {
        let batch = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";
        let name = Schedules::schedule_name(batch);
        assert_eq!(name, format!("notify-{batch}"));
        assert!(name.len() <= 64);
        assert_ne!(
            name,
            Schedules::schedule_name("6f1c2d3e-4a5b-4c6d-8e7f-901234567891")
        );
    }

    #[test]
    fn an_id_that_would_break_the_name_rules_is_named_by_its_digest() {
        for id in ["", "a/b", "é", &"x".repeat(58)] {
            let name = Schedules::schedule_name(id);
            assert_eq!(name.len(), 64, "{id:?}");
            assert!(name.starts_with("notify-"));
            assert!(name.bytes().all(is_name_byte), "{name}");
        }
        assert_ne!(
            Schedules::schedule_name("a/b"),
            Schedules::schedule_name("a/c")
        );
        let longest = "x".repeat(57);
        assert_eq!(
            Schedules::schedule_name(&longest),
            format!("notify-{longest}")
        );
    }

    #[tokio::test]
    async fn using_schedules_without_their_configuration_names_the_missing_variable() {
        let schedules = Schedules::without_client(ScheduleSettings::default());
        let error = schedules.create_once("notify-x", 0, "{}").await.err();
        let chain = error.map(|err| err.cause_chain()).unwrap_or_default();
        assert!(chain.contains("App::with_schedules"), "{chain}");

        let client = aws_sdk_scheduler::Client::from_conf(
            aws_sdk_scheduler::Config::builder()
                .behavior_version(aws_sdk_scheduler::config::BehaviorVersion::latest())
                .build(),
        );
        let mut settings = ScheduleSettings::default();
        let cases = [
            "NOTIFY_SCHEDULE_GROUP",
            "NOTIFY_SCHEDULE_TARGET_ARN",
            "NOTIFY_SCHEDULE_ROLE_ARN",
        ];
        for variable in cases {
            let schedules = Schedules::new(client.clone(), settings.clone());
            let error = schedules.create_once("notify-x", 0, "{}").await.err();
            let status = error.as_ref().map(|err| err.status().as_u16());
            let chain = error.map(|err| err.cause_chain()).unwrap_or_default();
            assert_eq!(status, Some(500), "{variable}");
            assert!(chain.contains(variable), "{variable}: {chain}");
            let value = Some(format!("set-{variable}"));
            match variable {
                "NOTIFY_SCHEDULE_GROUP" => settings.group = value,
                "NOTIFY_SCHEDULE_TARGET_ARN" => settings.target_arn = value,
                _ => settings.role_arn = value,
            }
        }
    }
}
