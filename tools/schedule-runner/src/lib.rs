//! A local stand-in for EventBridge Scheduler's one-time schedules. The
//! emulator stores schedules and never fires them; [`Runner::fire_due`]
//! does, one round at a time:
//!
//! 1. ListSchedules in the group, and GetSchedule for each one it has not
//!    seen (or that changed since);
//! 2. for each enabled `at()` schedule whose SQS target is due, SendMessage
//!    of the target's `Input` to the queue (URL from GetQueueUrl of the
//!    ARN's last segment), twice: see [`COPIES`];
//! 3. DeleteSchedule, as `ActionAfterCompletion: DELETE` does.
//!
//! A step that fails is tried again next round; one bad schedule never
//! stops the others. Not played: the retry policy's limits and the
//! dead-letter queue (a send is retried every round, for ever), flexible
//! time windows, rate and cron schedules (docs/local-aws-rules.md).
#![forbid(unsafe_code)]

pub mod plan;

use std::collections::HashMap;

use anyhow::{anyhow, Context, Result};
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::primitives::DateTime;
use aws_sdk_scheduler::types::ScheduleSummary;

use crate::plan::{Firing, Plan};

/// EventBridge Scheduler delivers at least once ("at-least-once event
/// delivery to targets",
/// <https://docs.aws.amazon.com/scheduler/latest/UserGuide/what-is-scheduler.html>):
/// a target may get a firing twice. Every firing here sends two copies, so
/// that a consumer that does not tolerate the duplicate fails locally
/// rather than in production.
pub const COPIES: u8 = 2;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Schedules fired (every copy sent) this round, by name.
    pub fired: Vec<String>,
    /// Schedules not yet due.
    pub waiting: usize,
    /// Schedules whose step failed, to be tried again next round.
    pub failed: usize,
}

/// Where a schedule the runner has seen stands.
#[derive(Debug, Clone)]
enum State {
    /// Copies of the firing sent so far (fewer than [`COPIES`] while it is
    /// not due or a send failed).
    Pending { firing: Firing, sent: u8 },
    /// Fired; its deletion failed or it is not to be deleted.
    Fired { delete: bool },
    /// Left alone: said once, when first seen.
    Ignored,
}

#[derive(Debug, Clone)]
struct Seen {
    modified: Option<DateTime>,
    state: State,
}

pub struct Runner {
    scheduler: aws_sdk_scheduler::Client,
    sqs: aws_sdk_sqs::Client,
    group: String,
    seen: HashMap<String, Seen>,
    queue_urls: HashMap<String, String>,
}

impl Runner {
    pub fn new(
        scheduler: aws_sdk_scheduler::Client,
        sqs: aws_sdk_sqs::Client,
        group: impl Into<String>,
    ) -> Self {
        Self {
            scheduler,
            sqs,
            group: group.into(),
            seen: HashMap::new(),
            queue_urls: HashMap::new(),
        }
    }

    /// One round: fires every schedule of the group due at `now` (seconds
    /// since the epoch). An error is the listing's; a schedule's own
    /// failure is logged and counted in [`Round::failed`].
    pub async fn fire_due(&mut self, now: i64) -> Result<Round> {
        let listed = self.list().await?;
        self.seen
            .retain(|name, _| listed.iter().any(|summary| summary.name() == Some(name)));
        let mut round = Round::default();
        for summary in listed {
            let Some(name) = summary.name().map(str::to_owned) else {
                continue;
            };
            let modified = summary.last_modification_date().copied();
            let fresh = self
                .seen
                .get(&name)
                .is_some_and(|seen| seen.modified == modified);
            if !fresh {
                match self.read(&name).await {
                    Ok(state) => {
                        self.seen.insert(name.clone(), Seen { modified, state });
                    }
                    Err(err) => {
                        tracing::warn!(schedule = %name, error = %format!("{err:#}"), "cannot read the schedule; trying again next round");
                        round.failed += 1;
                        continue;
                    }
                }
            }
            self.advance(&name, now, &mut round).await;
        }
        Ok(round)
    }

    /// Every schedule of the group, every page.
    async fn list(&self) -> Result<Vec<ScheduleSummary>> {
        let mut summaries = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .scheduler
                .list_schedules()
                .group_name(&self.group)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|err| anyhow!("{}", DisplayErrorContext(err)))
                .with_context(|| format!("listing the schedules of group {}", self.group))?;
            summaries.extend(page.schedules);
            next_token = page.next_token.filter(|token| !token.is_empty());
            if next_token.is_none() {
                return Ok(summaries);
            }
        }
    }

    /// GetSchedule, and what it asks of the runner.
    async fn read(&self, name: &str) -> Result<State> {
        let schedule = self
            .scheduler
            .get_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await
            .map_err(|err| anyhow!("{}", DisplayErrorContext(err)))?;
        Ok(match plan::plan(&schedule) {
            Plan::Fire(firing) => State::Pending { firing, sent: 0 },
            Plan::Ignore(reason) => {
                tracing::info!(schedule = %name, reason, "schedule left alone");
                State::Ignored
            }
        })
    }

    /// Takes schedule `name` as far as it can go at `now`.
    async fn advance(&mut self, name: &str, now: i64, round: &mut Round) {
        let Some(state) = self.seen.get(name).map(|seen| seen.state.clone()) else {
            return;
        };
        let delete = match state {
            State::Ignored | State::Fired { delete: false } => return,
            State::Pending { firing, .. } if firing.due > now => {
                round.waiting += 1;
                return;
            }
            State::Pending { firing, sent } => match self.fire(name, &firing, sent).await {
                Ok(()) => {
                    tracing::info!(schedule = %name, due = firing.due, late_seconds = now - firing.due, copies = COPIES, "schedule fired");
                    round.fired.push(name.to_owned());
                    self.set_state(
                        name,
                        State::Fired {
                            delete: firing.delete_after,
                        },
                    );
                    firing.delete_after
                }
                Err(err) => {
                    tracing::warn!(schedule = %name, error = %format!("{err:#}"), "sending failed; trying again next round");
                    round.failed += 1;
                    return;
                }
            },
            State::Fired { delete: true } => true,
        };
        if delete {
            match self.delete(name).await {
                Ok(()) => {
                    tracing::info!(schedule = %name, "schedule deleted after completion");
                    self.seen.remove(name);
                }
                Err(err) => {
                    tracing::warn!(schedule = %name, error = %format!("{err:#}"), "deleting failed; trying again next round");
                    round.failed += 1;
                }
            }
        }
    }

    /// Sends the copies of `firing` not sent yet (`sent` of them were).
    async fn fire(&mut self, name: &str, firing: &Firing, mut sent: u8) -> Result<()> {
        let url = self.queue_url(&firing.queue_arn).await?;
        while sent < COPIES {
            self.sqs
                .send_message()
                .queue_url(&url)
                .message_body(&firing.body)
                .set_message_group_id(firing.message_group_id.clone())
                .send()
                .await
                .map_err(|err| anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(err)))
                .with_context(|| format!("sending copy {} to {}", sent + 1, firing.queue_arn))?;
            sent += 1;
            self.set_state(
                name,
                State::Pending {
                    firing: firing.clone(),
                    sent,
                },
            );
        }
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let deleted = self
            .scheduler
            .delete_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Deleted by someone else meanwhile (a cancellation): done too.
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteScheduleError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(anyhow!("{}", DisplayErrorContext(err))),
        }
    }

    /// The URL of the queue `arn` names (GetQueueUrl of its last segment),
    /// looked up once.
    async fn queue_url(&mut self, arn: &str) -> Result<String> {
        if let Some(url) = self.queue_urls.get(arn) {
            return Ok(url.clone());
        }
        let name = plan::queue_name(arn).ok_or_else(|| anyhow!("no queue name in {arn}"))?;
        let url = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|err| anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(err)))
            .with_context(|| format!("looking up queue {name}"))?
            .queue_url
            .ok_or_else(|| anyhow!("GetQueueUrl returned no URL for {name}"))?;
        self.queue_urls.insert(arn.to_owned(), url.clone());
        Ok(url)
    }

    fn set_state(&mut self, name: &str, state: State) {
        if let Some(seen) = self.seen.get_mut(name) {
            seen.state = state;
        }
    }
}
