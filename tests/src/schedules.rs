//! A schedule group of one test, whose schedules send to a delivery queue
//! pair, and the local player of EventBridge Scheduler
//! (`schedule_runner`) that fires them.

use aws_config::SdkConfig;
use notify_shared::config::ScheduleSettings;
use notify_shared::schedules::Schedules;
use notify_shared::Config;
use schedule_runner::Runner;

pub struct ScheduleGroup {
    pub scheduler: aws_sdk_scheduler::Client,
    pub settings: ScheduleSettings,
}

impl ScheduleGroup {
    /// A new group whose schedules target `queues` (their dead letters go
    /// to its dead-letter queue), as `notifyctl bootstrap` sets up locally.
    pub async fn create(sdk: &SdkConfig, queues: &notifyctl::Queues) -> Self {
        let scheduler = aws_sdk_scheduler::Client::new(sdk);
        let group = format!(
            "test-schedules-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        notifyctl::ensure_schedule_group(&scheduler, &group)
            .await
            .unwrap_or_else(|err| panic!("creating schedule group {group}: {err:#}"));
        let role_arn = notifyctl::scheduler::schedule_role_arn(&queues.arn)
            .unwrap_or_else(|err| panic!("{err:#}"));
        let settings = ScheduleSettings {
            group: Some(group),
            role_arn: Some(role_arn),
            target_arn: Some(queues.arn.clone()),
            dlq_arn: Some(queues.dlq_arn.clone()),
        };
        Self {
            scheduler,
            settings,
        }
    }

    pub fn name(&self) -> &str {
        self.settings.group.as_deref().unwrap_or_default()
    }

    /// What an app holds to create and delete schedules in this group
    /// (`app.schedules = group.schedules()`).
    pub fn schedules(&self) -> Schedules {
        Schedules::new(self.scheduler.clone(), self.settings.clone())
    }

    /// The configuration change that names this group and its target.
    pub fn configure(&self) -> impl FnOnce(&mut Config) {
        let settings = self.settings.clone();
        move |config: &mut Config| config.schedules = settings
    }

    /// EventBridge Scheduler's local player for this group, sending
    /// through `sqs`.
    pub fn runner(&self, sqs: aws_sdk_sqs::Client) -> Runner {
        Runner::new(self.scheduler.clone(), sqs, self.name())
    }
}
