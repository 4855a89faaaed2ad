//! What Web Push's HTTP/1.1 fallback borrows from the transport: the same
//! TLS roots offering other protocols, and the same `Retry-After` reading.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use tokio_rustls::TlsConnector;

use super::Transport;

impl Transport {
    /// The providers' TLS configuration (web roots plus the extra CA),
    /// offering `protocols` by ALPN instead of `h2` alone.
    pub(crate) fn tls_offering(&self, protocols: &[&[u8]]) -> TlsConnector {
        let mut config = (**self.tls.config()).clone();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }
}

/// `Retry-After` as the transport reads it (seconds, clamped).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    super::retry_after(headers)
}
