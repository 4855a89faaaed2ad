//! `push-simulator`: serves fake APNs, FCM and Google OAuth until SIGINT or
//! SIGTERM. Prints one JSON line with its addresses on stdout at start;
//! logs go to stderr.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use push_simulator::{Simulator, SimulatorConfig};
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

// glibc's per-thread arenas grow and shrink with every batch of HTTP/2
// buffers (an mprotect every few requests under load); mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "push-simulator", version, about)]
struct Args {
    /// Cleartext listener (HTTP/1.1 and h2c prior knowledge).
    #[arg(
        long,
        env = "PUSH_SIMULATOR_HTTP_ADDR",
        default_value = "127.0.0.1:9100"
    )]
    http_addr: SocketAddr,
    /// TLS listener (ALPN h2 and http/1.1).
    #[arg(
        long,
        env = "PUSH_SIMULATOR_TLS_ADDR",
        default_value = "127.0.0.1:9443"
    )]
    tls_addr: SocketAddr,
    /// Directory for ca.pem.
    #[arg(
        long,
        env = "PUSH_SIMULATOR_STATE_DIR",
        default_value = ".dev/simulator"
    )]
    state_dir: PathBuf,
    /// Recordings kept in memory; older ones are dropped.
    #[arg(
        long,
        env = "PUSH_SIMULATOR_MAX_DELIVERIES",
        default_value_t = 1_000_000
    )]
    max_deliveries: usize,
    /// Worker threads serving connections (default: one per CPU).
    #[arg(long, env = "PUSH_SIMULATOR_WORKERS")]
    workers: Option<usize>,
    /// Check and count pushes without recording them (for benchmarks).
    #[arg(long, env = "PUSH_SIMULATOR_LEAN")]
    lean: bool,
    /// APNs takes a new provider token on a connection at most once per
    /// this many seconds (Apple: 1200).
    #[arg(
        long,
        env = "PUSH_SIMULATOR_APNS_TOKEN_UPDATE_WINDOW_SECS",
        default_value_t = 1200
    )]
    apns_token_update_window_secs: u64,
    /// Log filter (e.g. info, debug, push_simulator=debug).
    #[arg(long, env = "PUSH_SIMULATOR_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

// The workers have their own runtimes; this one only accepts connections
// and waits for a signal.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log_level)?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    // Handlers first: a script may signal us as soon as it reads the
    // announcement line.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;

    let simulator = Simulator::start(SimulatorConfig {
        http_addr: args.http_addr,
        tls_addr: args.tls_addr,
        state_dir: args.state_dir,
        max_deliveries: args.max_deliveries,
        workers: args
            .workers
            .unwrap_or_else(|| SimulatorConfig::default().workers),
        lean: args.lean,
        apns_token_update_window: std::time::Duration::from_secs(
            args.apns_token_update_window_secs,
        ),
    })
    .await?;

    // Field order as documented: scripts may read it with a regex.
    #[derive(Serialize)]
    struct Announcement<'a> {
        http: String,
        tls: String,
        ca_pem: &'a Path,
    }
    let announcement = serde_json::to_string(&Announcement {
        http: simulator.http_url(),
        tls: simulator.tls_url(),
        ca_pem: simulator.ca_pem_path(),
    })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{announcement}")?;
    stdout.flush()?;
    drop(stdout);

    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    simulator.shutdown().await;
    Ok(())
}
