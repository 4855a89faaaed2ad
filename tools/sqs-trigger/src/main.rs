//! `sqs-trigger`: drives a local function from an SQS queue the way
//! Lambda's event source mapping does (see the library docs). Stops on
//! Ctrl-C. Talks to whatever AWS the SDK's default chain points at:
//! locally `AWS_ENDPOINT_URL` → moto.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use sqs_trigger::{Invoker, Receive, TriggerConfig, MAX_BATCH_SIZE};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "sqs-trigger", version, about)]
struct Cli {
    /// The queue to drain.
    #[arg(long, env = "NOTIFY_DELIVERY_QUEUE_URL")]
    queue_url: String,
    /// The function to invoke.
    #[arg(long, default_value = "delivery-worker")]
    function: String,
    /// Base URL of the invoke endpoint (`cargo lambda watch`).
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    invoke_url: String,
    /// Messages per event, 1 to 10.
    #[arg(long, default_value_t = MAX_BATCH_SIZE, value_parser = clap::value_parser!(i32).range(1..=10))]
    batch_size: i32,
    /// Long-poll wait per receive, 0 to 20 seconds.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=20))]
    wait_seconds: u64,
    /// Visibility timeout for received messages (default: the queue's).
    #[arg(long)]
    visibility_timeout: Option<i32>,
    /// Batches received and invoked at once, as Lambda runs up to the event
    /// source mapping's `MaximumConcurrency` instances (the template's
    /// `WorkerMaximumConcurrency`, default 10).
    #[arg(long, env = "NOTIFY_WORKER_MAXIMUM_CONCURRENCY", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    concurrency: u16,
    /// How long one invocation may take (the first one compiles the function).
    #[arg(long, default_value_t = 900)]
    invoke_timeout_seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("sqs_trigger=info,sqs-trigger=info,warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sqs-trigger: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let sdk = aws_config::load_from_env().await;
    if sdk.region().is_none() {
        bail!("no AWS region configured: set AWS_REGION (locally: us-east-1)");
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let invoker = Invoker::new(
        &cli.invoke_url,
        &cli.function,
        Duration::from_secs(cli.invoke_timeout_seconds),
    )?;
    let config = TriggerConfig {
        queue_url: cli.queue_url,
        receive: Receive {
            batch_size: cli.batch_size,
            wait: Duration::from_secs(cli.wait_seconds),
            visibility_timeout: cli.visibility_timeout,
        },
        concurrency: usize::from(cli.concurrency),
    };
    let stop = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    sqs_trigger::run(&sqs, &invoker, &config, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_pollers_by_default_as_the_templates_worker_maximum_concurrency() {
        let parsed = Cli::try_parse_from(["sqs-trigger", "--queue-url", "q"]).ok();
        assert_eq!(parsed.map(|cli| cli.concurrency), Some(10));
        let none = Cli::try_parse_from(["sqs-trigger", "--queue-url", "q", "--concurrency", "0"]);
        assert!(none.is_err(), "at least one poller");
    }
}
