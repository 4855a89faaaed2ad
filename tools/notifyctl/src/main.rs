//! `notifyctl`: the operator CLI. Talks to whatever AWS the SDK's default
//! chain points at: locally `AWS_ENDPOINT_URL` → moto, in production the
//! operator's credentials. Results go to stdout, logs to stderr.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use notifyctl::{
    token, ResourceNames, LOCAL_QUEUE, LOCAL_SCHEDULE_GROUP, LOCAL_SIGNING_SECRET, LOCAL_TABLE,
    LOCAL_TENANT_SECRET_PREFIX,
};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "notifyctl", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the table, the delivery queues, the signing secret and the
    /// schedule group that template.yaml defines, then print the functions'
    /// NOTIFY_* exports.
    ///
    /// Safe to run again: existing resources are kept (queue attributes are
    /// set again; a table whose keys differ from the template is an error).
    Bootstrap {
        /// The SAM template to read the definitions from.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, default_value = LOCAL_TABLE)]
        table: String,
        /// The delivery queue; its dead-letter queue is this name plus `-dlq`.
        #[arg(long, default_value = LOCAL_QUEUE)]
        queue: String,
        #[arg(long, default_value = LOCAL_SIGNING_SECRET)]
        signing_secret: String,
        /// Written into the exports only (tenant secrets are made per tenant).
        #[arg(long, default_value = LOCAL_TENANT_SECRET_PREFIX)]
        tenant_secret_prefix: String,
        /// The EventBridge Scheduler group of scheduled sends.
        #[arg(long, default_value = LOCAL_SCHEDULE_GROUP)]
        schedule_group: String,
        /// Also write the variables as KEY=VALUE lines to this file
        /// (the format of `cargo lambda watch --env-file`).
        #[arg(long)]
        env_file: Option<PathBuf>,
    },
    /// Print a user token signed with the current signing secret.
    MintToken {
        /// The user id (`sub`); also the user's personal org.
        #[arg(long)]
        sub: String,
        /// An org the user belongs to (repeatable).
        #[arg(long = "org")]
        orgs: Vec<String>,
        /// The `email` claim.
        #[arg(long)]
        email: Option<String>,
        /// Lifetime: 3600, 3600s, 15m, 1h, 30d.
        #[arg(long, default_value = "1h", value_parser = token::parse_ttl)]
        ttl: std::time::Duration,
        /// The `aud` claim: the deployment's `JwtAudience`, when it has one.
        #[arg(long, env = "NOTIFY_JWT_AUDIENCE")]
        aud: Option<String>,
        /// The `iss` claim: the deployment's `JwtIssuer`, when it has one.
        #[arg(long, env = "NOTIFY_JWT_ISSUER")]
        iss: Option<String>,
        /// Secrets Manager id (name or ARN) of the signing secret.
        #[arg(long, env = "NOTIFY_SIGNING_SECRET_ID", default_value = LOCAL_SIGNING_SECRET)]
        signing_secret: String,
    },
    /// Replace the signing secret with a new random value.
    ///
    /// Every user token issued so far stops verifying: at once in new
    /// function containers, and within 5 minutes in running ones (they
    /// re-read the cached secret at most every 5 minutes). Mint new tokens
    /// afterwards.
    RotateSigningSecret {
        #[arg(long, env = "NOTIFY_SIGNING_SECRET_ID", default_value = LOCAL_SIGNING_SECRET)]
        signing_secret: String,
    },
    /// Set a tenant's limits (its users cannot), then print the limits the
    /// tenant has of its own; without a limit to set, only print them.
    ///
    /// A limit not set here follows the deployment's default
    /// (`TenantRequestsPerSecond`, `TenantPushesPerDay`, `TenantDevices`);
    /// `default` removes the tenant's own. Running functions apply a change
    /// with the tenant's next request.
    TenantLimits {
        #[arg(long)]
        tenant_id: String,
        /// Requests per second of all the tenant's API keys together.
        #[arg(long, value_parser = notifyctl::limits::parse_limit)]
        requests_per_second: Option<notifyctl::limits::LimitSetting>,
        /// Device pushes per UTC day, single and bulk sends together.
        #[arg(long, value_parser = notifyctl::limits::parse_limit)]
        pushes_per_day: Option<notifyctl::limits::LimitSetting>,
        /// Devices the tenant may have registered.
        #[arg(long, value_parser = notifyctl::limits::parse_limit)]
        devices: Option<notifyctl::limits::LimitSetting>,
        #[arg(long, env = "NOTIFY_TABLE_NAME", default_value = LOCAL_TABLE)]
        table: String,
    },
    /// Move messages from the dead-letter queue back to the delivery queue
    /// (receive, send, delete), then print the counts.
    RedriveDlq {
        #[arg(long, env = "NOTIFY_DELIVERY_DLQ_URL")]
        dlq_url: String,
        #[arg(long, env = "NOTIFY_DELIVERY_QUEUE_URL")]
        queue_url: String,
        /// Move at most this many messages (default: until the DLQ is empty).
        #[arg(long)]
        max: Option<usize>,
    },
    /// Sum up the metric lines (CloudWatch embedded metric format) of a log
    /// as a table: per metric and dimension set, the values' count and sum,
    /// and for times p50, p90, p99 and max. Other lines are skipped. Needs
    /// no AWS.
    Metrics {
        /// The log to read; `-` reads stdin. Default: the local stack's
        /// function log (`scripts/dev`).
        #[arg(default_value = ".dev/logs/lambda.log")]
        log: PathBuf,
        /// Only lines of the last 3600s, 15m, 1h, 30d...
        #[arg(long, value_parser = token::parse_ttl)]
        since: Option<std::time::Duration>,
        /// Only the last N metric lines.
        #[arg(long)]
        last: Option<usize>,
        /// Only this tenant's lines.
        #[arg(long)]
        tenant_id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("notifyctl=info,warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            // The whole chain on one line; no backtrace for an operator error.
            eprintln!("notifyctl: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Metrics {
        log,
        since,
        last,
        tenant_id,
    } = cli.command
    {
        return metrics(&log, since, last, tenant_id);
    }
    let sdk = aws_config::load_from_env().await;
    if sdk.region().is_none() {
        bail!("no AWS region configured: set AWS_REGION (locally: us-east-1)");
    }

    match cli.command {
        Command::Bootstrap {
            template,
            table,
            queue,
            signing_secret,
            tenant_secret_prefix,
            schedule_group,
            env_file,
        } => {
            let names = ResourceNames {
                table,
                queue,
                signing_secret,
                tenant_secret_prefix,
                schedule_group,
            };
            let output = notifyctl::bootstrap(&sdk, &template, &names).await?;
            if let Some(path) = env_file {
                std::fs::write(&path, output.env_file())
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), "env file written");
            }
            print!("{}", output.shell_exports());
        }
        Command::MintToken {
            sub,
            orgs,
            email,
            ttl,
            aud,
            iss,
            signing_secret,
        } => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            let secret = notifyctl::read_signing_secret(&client, &signing_secret).await?;
            let set = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
            let claims = token::TokenClaims {
                user: token::claims(&sub, orgs, email, ttl, chrono::Utc::now().timestamp())?,
                aud: set(aud),
                iss: set(iss),
            };
            println!("{}", token::mint_token(&claims, &secret)?);
        }
        Command::RotateSigningSecret { signing_secret } => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            notifyctl::rotate_signing_secret(&client, &signing_secret).await?;
            println!(
                "rotated {signing_secret}: tokens minted before now stop verifying within 5 minutes; mint new ones"
            );
        }
        Command::TenantLimits {
            tenant_id,
            requests_per_second,
            pushes_per_day,
            devices,
            table,
        } => {
            let store =
                notify_shared::store::Store::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            let changes = notifyctl::limits::LimitChanges {
                requests_per_second,
                pushes_per_day,
                devices,
            };
            let report = notifyctl::limits::tenant_limits(&store, &tenant_id, changes).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::RedriveDlq {
            dlq_url,
            queue_url,
            max,
        } => {
            let client = aws_sdk_sqs::Client::new(&sdk);
            let report = notifyctl::redrive(&client, &dlq_url, &queue_url, max).await?;
            println!(
                "moved {} message(s); {} not sent (left in the DLQ); {} sent but not deleted (will be delivered twice)",
                report.moved, report.send_failed, report.delete_failed
            );
            if report.send_failed + report.delete_failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Metrics { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `notifyctl metrics`: the table on stdout.
fn metrics(
    log: &std::path::Path,
    since: Option<std::time::Duration>,
    last: Option<usize>,
    tenant_id: Option<String>,
) -> Result<ExitCode> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let selection = notifyctl::metrics::Selection {
        since_ms: since.map(|since| {
            now_ms.saturating_sub(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        }),
        last,
        tenant_id,
    };
    let summary = if log.as_os_str() == "-" {
        notifyctl::metrics::summarize(std::io::stdin().lock(), &selection)?
    } else {
        let file = std::fs::File::open(log).with_context(|| {
            format!(
                "opening {} (start the local stack with scripts/dev up, or pass a log file or -)",
                log.display()
            )
        })?;
        notifyctl::metrics::summarize(std::io::BufReader::new(file), &selection)?
    };
    print!("{}", summary.table());
    Ok(ExitCode::SUCCESS)
}
