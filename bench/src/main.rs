//! `push-bench`: pushes N devices through the delivery engine against the
//! push simulator and reports pushes per second, successes and peak memory.
//! See README.md.
#![forbid(unsafe_code)]

mod audience;
mod h2load;
mod meter;
mod process;
mod scenario;
mod simulator;
mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use notify_shared::config::ProviderEndpoints;
use notify_shared::credentials::{parse_service_account, validate_apns_key};
use notify_shared::model::Platform;
use notify_shared::push::{
    EncodedNotification, HttpClient, PushConfig, PushEngine, Target, TenantPush,
};
use notify_shared::web_push_protocol::{VapidKey, WebPushHosts};

use simulator::{Admin, Simulator};

#[derive(Debug, Parser)]
#[command(name = "push-bench", about)]
struct Args {
    /// Devices per run.
    #[arg(long, default_value_t = 20_000)]
    devices: usize,
    /// Which providers to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "apns,fcm")]
    scenarios: Vec<Scenario>,
    /// Timed runs per scenario (the best and the median are reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// HTTP/2 connections per provider host (default: the engine's).
    #[arg(long)]
    connections: Option<usize>,
    /// Pushes in flight at once (default: the engine's).
    #[arg(long)]
    in_flight: Option<usize>,
    /// Use the simulator's cleartext (h2c) listener instead of TLS.
    #[arg(long)]
    cleartext: bool,
    /// The HTTP/2 client under the engine: ours, or hyper-util's.
    #[arg(long, value_enum, default_value = "own")]
    transport: Transport,
    /// Client runtime worker threads (default: one per CPU).
    #[arg(long)]
    worker_threads: Option<usize>,
    /// Simulator binary (default: `push-simulator` next to this binary).
    #[arg(long)]
    simulator_bin: Option<PathBuf>,
    /// Run the simulator inside this process, on its own runtime.
    #[arg(long, conflicts_with = "simulator_bin")]
    in_process: bool,
    /// Use a running simulator: its cleartext URL (needs --tls-url, --ca-file).
    #[arg(long, requires_all = ["tls_url", "ca_file"])]
    http_url: Option<String>,
    #[arg(long)]
    tls_url: Option<String>,
    #[arg(long)]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the engine's exact requests as shell variables for h2load
    /// (needs --http-url, --tls-url and --ca-file of a running simulator).
    H2loadArgs {
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// One delivery-worker invocation (10 SQS messages of a bulk batch)
    /// against the AWS emulator at NOTIFY_TEST_AWS_ENDPOINT and the
    /// simulator over TLS.
    Worker {
        /// Users per message (a bulk chunk holds at most 500).
        #[arg(long, default_value_t = 10)]
        users_per_message: usize,
        /// Devices per user, alternately iOS and Android.
        #[arg(long, default_value_t = 50)]
        devices_per_user: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Own,
    HyperUtil,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Apns,
    Fcm,
    Mixed,
    /// Standard Web Push (RFC 8030/8291/8292) to distinct browser
    /// subscriptions on the simulator's Web Push service.
    Webpush,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let threads = args
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let state_dir = std::env::temp_dir().join(format!("push-bench-{}", uuid::Uuid::new_v4()));
    let simulator = match (&args.http_url, &args.tls_url, &args.ca_file) {
        (Some(http), Some(tls), Some(ca)) => {
            Simulator::external(http.clone(), tls.clone(), ca.clone())
        }
        _ if args.in_process => Simulator::in_process(&state_dir, threads)?,
        _ => {
            let bin = match &args.simulator_bin {
                Some(bin) => bin.clone(),
                None => std::env::current_exe()?
                    .parent()
                    .context("binary directory")?
                    .join("push-simulator"),
            };
            Simulator::spawn(&bin, &state_dir)?
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let admin = Admin::new(&simulator.http_url)?;
        match &args.command {
            Some(Command::H2loadArgs { out_dir }) => h2load::write(&admin, out_dir).await,
            Some(Command::Worker {
                users_per_message,
                devices_per_user,
            }) => {
                let run = worker::WorkerRun {
                    users_per_message: *users_per_message,
                    devices_per_user: *devices_per_user,
                    rounds: args.rounds,
                };
                worker::run(&simulator, &admin, run).await
            }
            None => run(&args, &simulator, &admin, threads).await,
        }
    });
    drop(simulator);
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}

async fn run(
    args: &Args,
    simulator: &Simulator,
    admin: &Admin,
    threads: usize,
) -> anyhow::Result<()> {
    let credentials = admin.credentials(scenario::BUNDLE_ID).await?;
    let text = |field: &str| credentials[field].as_str().unwrap_or_default().to_owned();
    let base = if args.cleartext {
        &simulator.http_url
    } else {
        &simulator.tls_url
    };
    let endpoints = ProviderEndpoints {
        apns_production: base.clone(),
        apns_sandbox: base.clone(),
        fcm: base.clone(),
        // The simulator's token endpoint, as a local deployment configures it.
        oauth_token_url: credentials["fcm_service_account"]["token_uri"]
            .as_str()
            .map(str::to_owned),
        extra_ca_file: Some(simulator.ca_pem.display().to_string()),
        // The simulator's Web Push service (always TLS), on the
        // deployment's allow-list.
        web_push_hosts: WebPushHosts::parse(&simulator.tls_url)?,
    };
    let tenant = TenantPush {
        tenant_id: "tnt_bench".to_owned(),
        bundle_id: Some(text("bundle_id")),
        use_sandbox: false,
        apns: Some(validate_apns_key(
            &text("team_id"),
            &text("key_id"),
            &text("private_key"),
        )?),
        fcm: Some(parse_service_account(
            &credentials["fcm_service_account"],
            &endpoints,
        )?),
        web_push: Some(VapidKey::generate("mailto:bench@notify.example")?),
    };
    let mut config = PushConfig::default();
    if let Some(connections) = args.connections {
        config.connections_per_host = connections;
    }
    if let Some(in_flight) = args.in_flight {
        config.max_in_flight = in_flight;
    }
    config.http_client = match args.transport {
        Transport::Own => HttpClient::Own,
        Transport::HyperUtil => HttpClient::HyperUtil,
    };
    let providers = PushEngine::with_config(&endpoints, config)?;
    let encoded = EncodedNotification::new(&scenario::notification())?;
    println!(
        "push-bench: {} devices per run, {} rounds, {} over {:?} ({} connections/host, {} in flight, {threads} client threads)",
        args.devices,
        args.rounds,
        if args.cleartext { "h2c" } else { "TLS" },
        args.transport,
        config.connections_per_host,
        config.max_in_flight,
    );

    // Opens the connections, fetches the tokens and signs the VAPID token,
    // as a warm container has.
    let mut warmups = vec![
        scenario::targets(Platform::Ios, 2_000),
        scenario::targets(Platform::Android, 2_000),
    ];
    if args.scenarios.contains(&Scenario::Webpush) {
        warmups.push(scenario::web_push_targets(&simulator.tls_url, 2_000)?);
    }
    for warmup in &warmups {
        let results = providers.deliver(&tenant, &encoded, warmup, None).await;
        if results.iter().any(|r| !r.outcome.is_delivered()) {
            bail!(
                "warm-up push failed: {:?}",
                results.iter().find(|r| !r.outcome.is_delivered())
            );
        }
    }

    let mut all_delivered = true;
    for scenario in &args.scenarios {
        let targets = scenario_targets(*scenario, args.devices, &simulator.tls_url)?;
        let mut rates = Vec::with_capacity(args.rounds);
        for round in 1..=args.rounds.max(1) {
            admin.reset().await?;
            let (client_cpu, sim_cpu) =
                (process::cpu_time(None), process::cpu_time(simulator.pid()));
            let started = Instant::now();
            let results = providers.deliver(&tenant, &encoded, &targets, None).await;
            let elapsed = started.elapsed();
            let client_cpu = cpu_delta(client_cpu, process::cpu_time(None));
            let sim_cpu = cpu_delta(sim_cpu, process::cpu_time(simulator.pid()));
            let delivered = results.iter().filter(|r| r.outcome.is_delivered()).count();
            let accepted = admin.stats().await?["accepted"]
                .as_u64()
                .unwrap_or_default();
            let retried = results.iter().filter(|r| r.attempts > 1).count();
            let rate = targets.len() as f64 / elapsed.as_secs_f64();
            rates.push(rate);
            all_delivered &= delivered == targets.len() && accepted == targets.len() as u64;
            println!(
                "{scenario:?} round {round}: {} pushes in {:.3} s = {:>7.0} pushes/s; delivered {delivered}, \
                 simulator accepted {accepted}, retried {retried}; CPU client {} sim {}",
                targets.len(),
                elapsed.as_secs_f64(),
                rate,
                client_cpu,
                sim_cpu,
            );
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{scenario:?}: best {:.0} pushes/s, median {:.0} pushes/s",
            rates.last().copied().unwrap_or_default(),
            rates[rates.len() / 2],
        );
    }
    let kib = |pid| {
        process::peak_rss_kib(pid)
            .map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    };
    println!(
        "peak RSS: client {}, simulator {}",
        kib(None),
        if simulator.pid().is_some() {
            kib(simulator.pid())
        } else {
            "(in process)".to_owned()
        }
    );
    if !all_delivered {
        bail!("not every push was delivered");
    }
    Ok(())
}

/// What one run of `scenario` sends to: `devices` distinct devices (Web
/// Push subscriptions with their own keys, made before the clock starts).
fn scenario_targets(
    scenario: Scenario,
    devices: usize,
    origin: &str,
) -> anyhow::Result<Vec<Target>> {
    Ok(match scenario {
        Scenario::Apns => scenario::targets(Platform::Ios, devices),
        Scenario::Fcm => scenario::targets(Platform::Android, devices),
        Scenario::Mixed => {
            let mut targets = scenario::targets(Platform::Ios, devices / 2);
            targets.extend(scenario::targets(Platform::Android, devices - devices / 2));
            targets
        }
        Scenario::Webpush => scenario::web_push_targets(origin, devices)?,
    })
}

fn cpu_delta(before: Option<Duration>, after: Option<Duration>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:.2} s", (after.saturating_sub(before)).as_secs_f64())
        }
        _ => "-".to_owned(),
    }
}
