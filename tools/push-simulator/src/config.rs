//! What a simulator instance binds to and where it keeps its files.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Settings for [`crate::Simulator::start`].
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Cleartext listener: HTTP/1.1 and h2c (prior knowledge) on one port.
    pub http_addr: SocketAddr,
    /// TLS listener: ALPN `h2` and `http/1.1`, self-signed certificate.
    pub tls_addr: SocketAddr,
    /// Where `ca.pem` is written (created if missing).
    pub state_dir: PathBuf,
    /// Recordings kept in memory; the oldest are dropped beyond this, so a
    /// long benchmark cannot exhaust memory.
    pub max_deliveries: usize,
    /// Worker threads serving connections (each connection stays on one).
    pub workers: usize,
    /// Benchmark mode: pushes are checked and counted as always, but not
    /// recorded (`GET /deliveries` stays empty), so the hot path does no
    /// copying or locking beyond the counters.
    pub lean: bool,
    /// APNs takes a new provider token on a connection at most this often
    /// (Apple: 20 minutes); shorter in tests.
    pub apns_token_update_window: Duration,
}

impl SimulatorConfig {
    /// Loopback on ports chosen by the OS, for tests.
    pub fn ephemeral(state_dir: impl Into<PathBuf>) -> Self {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            http_addr: any_port,
            tls_addr: any_port,
            state_dir: state_dir.into(),
            ..Self::default()
        }
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9100)),
            tls_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9443)),
            state_dir: PathBuf::from(".dev/simulator"),
            max_deliveries: 1_000_000,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            lean: false,
            apns_token_update_window: Duration::from_secs(20 * 60),
        }
    }
}
