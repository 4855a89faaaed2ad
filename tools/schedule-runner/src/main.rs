//! `schedule-runner`: fires the due one-time schedules of a schedule group
//! in the emulator, the way EventBridge Scheduler would (see the library
//! docs). Polls every `--poll-seconds`; stops on Ctrl-C or SIGTERM. Logs
//! JSON lines to stderr, naming schedules, never their bodies.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use clap::Parser;
use schedule_runner::Runner;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "schedule-runner", version, about)]
struct Cli {
    /// The AWS endpoint to play EventBridge Scheduler against (the local
    /// stack's moto).
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    endpoint_url: String,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// The schedule group whose schedules are fired.
    #[arg(long, env = "NOTIFY_SCHEDULE_GROUP", default_value = "notify-local")]
    group: String,
    /// Seconds between rounds, 1 to 60 (EventBridge Scheduler fires within
    /// the minute of a schedule).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=60))]
    poll_seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("schedule_runner=info,warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "schedule-runner stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&cli.endpoint_url)
        .region(Region::new(cli.region.clone()))
        .load()
        .await;
    let mut runner = Runner::new(
        aws_sdk_scheduler::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        cli.group.clone(),
    );
    tracing::info!(endpoint = %cli.endpoint_url, group = %cli.group, poll_seconds = cli.poll_seconds, "firing due schedules");
    let mut ticks = tokio::time::interval(Duration::from_secs(cli.poll_seconds));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    // A listing that keeps failing (the emulator down) is said once, not
    // every second, and its end is said too.
    let mut failing: Option<String> = None;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            _ = ticks.tick() => {}
        }
        match runner.fire_due(now()).await {
            Ok(_) if failing.take().is_some() => tracing::info!("listing schedules works again"),
            Ok(_) => {}
            Err(err) => {
                let text = format!("{err:#}");
                if failing.as_deref() != Some(text.as_str()) {
                    tracing::warn!(error = %text, "cannot list schedules; trying again every round");
                    failing = Some(text);
                }
            }
        }
    }
    tracing::info!("stopped");
    Ok(())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_local_stacks() {
        let cli = Cli::try_parse_from(["schedule-runner"]).ok();
        let cli = cli.unwrap_or_else(|| panic!("defaults parse"));
        assert_eq!(cli.poll_seconds, 1);
        assert!(Cli::try_parse_from(["schedule-runner", "--poll-seconds", "0"]).is_err());
    }
}
