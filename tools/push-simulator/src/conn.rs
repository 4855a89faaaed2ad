//! What a connection knows about itself: the listener that accepted it,
//! its address and its id.

use std::net::SocketAddr;

use http::Version;

/// Which listener a request came in on. Recorded with each delivery so a
/// test can tell which endpoint the service under test was pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Listener {
    Http,
    Tls,
}

impl Listener {
    pub fn scheme(self) -> &'static str {
        match self {
            Listener::Http => "http",
            Listener::Tls => "https",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    pub listener: Listener,
    pub local_addr: SocketAddr,
    /// Unique among this simulator's connections.
    pub id: u64,
}

/// A connection id unique among this process's connections, whichever
/// listener accepted them.
pub(crate) fn next_connection_id() -> u64 {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/0.9",
    }
}
