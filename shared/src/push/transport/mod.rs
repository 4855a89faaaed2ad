//! Our HTTP/2 client for the providers, on the `h2` crate directly: TLS with
//! ALPN `h2` for `https://`, cleartext HTTP/2 with prior knowledge for
//! `http://` (the simulator), one code path for both.
//!
//! Why not hyper's client or reqwest: each request there crosses a channel
//! to a dispatch task (and hyper spawns a task per request body), which
//! costs more CPU per push than the push itself on a small Lambda.
//!
//! Measured (`scripts/bench`, row "our engine over hyper-util": the same
//! engine on `hyper-util`'s pooled HTTP/2 client, `hyper_client.rs`), 20,000
//! APNs pushes against the simulator over TLS on a shared 2-core machine,
//! 2026-12-03: hyper-util did 0.63x our pushes/s (rounds 0.63, 0.61, 0.66;
//! 40k vs 63k pushes/s) at a higher peak RSS (28.8 vs 24.0 MiB). A busier
//! run before it gave 1.03x (0.65, 1.03, 1.31). bench/README.md.

pub(crate) mod alpn;
#[cfg(feature = "hyper-util-client")]
mod hyper_client;
mod pool;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::RecvStream;
use http::header::RETRY_AFTER;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Request, StatusCode, Uri};
use tokio_rustls::TlsConnector;

use crate::error::Result;
use pool::Pool;

/// Provider error bodies are small; more is not read into memory.
const MAX_BODY: usize = 64 * 1024;
/// Origins (scheme, host, port) one container connects to at most. The
/// providers' hosts and the token endpoint need a handful, Web Push a few
/// more (Windows' push service spreads over many `*.notify.windows.com`
/// hosts); the cap keeps the pool map from growing without bound.
const MAX_ORIGINS: usize = 64;
/// A `Retry-After` longer than this is read as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
pub(crate) struct TransportSettings {
    pub connections_per_host: usize,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    // Read only when the benchmark's second client is built in.
    #[cfg_attr(not(feature = "hyper-util-client"), allow(dead_code))]
    pub client: HttpClient,
}

/// Which HTTP/2 client carries the pushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpClient {
    /// Ours, on `h2` (this module).
    #[default]
    Own,
    /// `hyper-util`'s pooled client: only for the benchmark's comparison.
    #[cfg(feature = "hyper-util-client")]
    HyperUtil,
}

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("connection timed out")]
    ConnectTimeout,
    #[error("request timed out")]
    Timeout,
    #[error("HTTP/2 error: {0}")]
    Http2(String),
    /// Not worth retrying: the request itself cannot be made.
    #[error("{0}")]
    Invalid(String),
}

impl TransportError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, TransportError::Invalid(_))
    }

    /// A fixed sentence for API answers: the Display carries OS, TLS and
    /// remote text, which belongs in logs only.
    pub fn reason(&self) -> &'static str {
        match self {
            TransportError::Connect(_) => "provider connection failed",
            TransportError::ConnectTimeout => "provider connection timed out",
            TransportError::Timeout => "provider request timed out",
            TransportError::Http2(_) => "provider connection error",
            TransportError::Invalid(_) => "invalid provider request",
        }
    }
}

/// A provider's answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// Connection pools by origin, shared by every provider client.
pub(crate) struct Transport {
    tls: TlsConnector,
    settings: TransportSettings,
    pools: Mutex<HashMap<Origin, Arc<Pool>>>,
    #[cfg(feature = "hyper-util-client")]
    hyper: Option<Arc<hyper_client::HyperClient>>,
}

impl Transport {
    pub fn new(extra_ca_file: Option<&str>, settings: TransportSettings) -> Result<Self> {
        let tls = TlsConnector::from(tls::client_config(extra_ca_file)?);
        Ok(Self {
            #[cfg(feature = "hyper-util-client")]
            hyper: (settings.client == HttpClient::HyperUtil)
                .then(|| Arc::new(hyper_client::client(tls.clone(), settings.connect_timeout))),
            tls,
            settings,
            pools: Mutex::new(HashMap::new()),
        })
    }

    /// The endpoint for a base URL (`https://api.push.apple.com`, or one
    /// with a path such as `http://127.0.0.1:9100/token`).
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TransportError> {
        let invalid = || TransportError::Invalid(format!("invalid provider URL {url:?}"));
        let uri: Uri = url.parse().map_err(|_| invalid())?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid()),
        };
        let authority = uri.authority().cloned().ok_or_else(invalid)?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let origin = Origin {
            https,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        };
        let pool = {
            let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
            match pools.get(&origin) {
                Some(pool) => pool.clone(),
                None if pools.len() >= MAX_ORIGINS => {
                    return Err(TransportError::Invalid(format!(
                        "more than {MAX_ORIGINS} provider origins"
                    )))
                }
                None => {
                    let pool =
                        Arc::new(Pool::new(origin.clone(), self.tls.clone(), self.settings)?);
                    pools.insert(origin, pool.clone());
                    pool
                }
            }
        };
        Ok(Endpoint {
            scheme: if https { Scheme::HTTPS } else { Scheme::HTTP },
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            request_timeout: self.settings.request_timeout,
            pool,
            #[cfg(feature = "hyper-util-client")]
            hyper: self.hyper.clone(),
        })
    }
}

/// One provider base URL: builds request URIs and sends requests.
#[derive(Clone)]
pub(crate) struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    base_path: String,
    request_timeout: Duration,
    pool: Arc<Pool>,
    #[cfg(feature = "hyper-util-client")]
    hyper: Option<Arc<hyper_client::HyperClient>>,
}

impl Endpoint {
    /// The absolute URI of `path` (which starts with `/`) under this
    /// endpoint's base path.
    pub fn uri(&self, path: &str) -> Result<Uri, TransportError> {
        self.uri_joined(path, "")
    }

    /// [`Self::uri`] of `path` followed by `tail` (one buffer: a push's
    /// path is built per request).
    pub fn uri_joined(&self, path: &str, tail: &str) -> Result<Uri, TransportError> {
        let mut full = BytesMut::with_capacity(self.base_path.len() + path.len() + tail.len());
        full.extend_from_slice(self.base_path.as_bytes());
        full.extend_from_slice(path.as_bytes());
        full.extend_from_slice(tail.as_bytes());
        let path = PathAndQuery::from_maybe_shared(full.freeze())
            .map_err(|_| TransportError::Invalid("invalid request path".to_owned()))?;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path);
        Uri::from_parts(parts)
            .map_err(|_| TransportError::Invalid("invalid request URI".to_owned()))
    }

    /// Sends `request` with `body` and reads the whole answer, within the
    /// request timeout (waiting for a connection included).
    pub async fn send(&self, request: Request<()>, body: Bytes) -> Result<Reply, TransportError> {
        tokio::time::timeout(self.request_timeout, self.round_trip(request, body))
            .await
            .unwrap_or(Err(TransportError::Timeout))
    }

    async fn round_trip(&self, request: Request<()>, body: Bytes) -> Result<Reply, TransportError> {
        #[cfg(feature = "hyper-util-client")]
        if let Some(client) = &self.hyper {
            return hyper_client::round_trip(client, request, body).await;
        }
        let mut lease = self.pool.lease().await?;
        let failed = |err: h2::Error, lease: &pool::Lease| {
            if !err.is_reset() {
                lease.retire();
            }
            TransportError::Http2(err.to_string())
        };
        let (response, mut stream) = lease
            .sender
            .send_request(request, body.is_empty())
            .map_err(|err| failed(err, &lease))?;
        if !body.is_empty() {
            stream
                .send_data(body, true)
                .map_err(|err| failed(err, &lease))?;
        }
        let response = response.await.map_err(|err| failed(err, &lease))?;
        let (parts, mut recv) = response.into_parts();
        let body = read_body(&mut recv)
            .await
            .map_err(|err| failed(err, &lease))?;
        Ok(Reply {
            status: parts.status,
            retry_after: retry_after(&parts.headers),
            body,
        })
    }
}

/// Reads the answer, giving flow-control credit back as it goes. A body in
/// one DATA frame (every provider answer) is kept without copying.
async fn read_body(recv: &mut RecvStream) -> Result<Bytes, h2::Error> {
    let mut first = Bytes::new();
    let mut rest: Option<BytesMut> = None;
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        if first.is_empty() && rest.is_none() {
            first = chunk;
            continue;
        }
        let buffer = rest.get_or_insert_with(|| BytesMut::from(&first[..]));
        if buffer.len() + chunk.len() <= MAX_BODY {
            buffer.extend_from_slice(&chunk);
        }
    }
    Ok(rest.map_or(first, BytesMut::freeze))
}

/// `Retry-After` in seconds (the form APNs and Google use), at most an
/// hour: the number is the provider's, the arithmetic on it ours.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn after(value: &'static str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        retry_after(&headers)
    }

    #[test]
    fn a_huge_retry_after_is_clamped_and_garbage_ignored() {
        assert_eq!(after("3"), Some(Duration::from_secs(3)));
        assert_eq!(after("18446744073709551615"), Some(MAX_RETRY_AFTER));
        assert_eq!(after("99999999999999999999999"), None);
        assert_eq!(after("-1"), None);
        assert_eq!(after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn reasons_never_carry_os_or_remote_text() {
        let err = TransportError::Connect("Connection refused (os error 111) to 10.0.0.7".into());
        assert_eq!(err.reason(), "provider connection failed");
        assert!(!err.reason().contains("os error"));
    }

    #[tokio::test]
    async fn the_pool_map_is_bounded() {
        let transport = Transport::new(
            None,
            TransportSettings {
                connections_per_host: 1,
                connect_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(1),
                client: HttpClient::Own,
            },
        )
        .unwrap();
        for port in 1..=MAX_ORIGINS {
            assert!(transport
                .endpoint(&format!("http://127.0.0.1:{port}"))
                .is_ok());
        }
        assert!(
            transport.endpoint("http://127.0.0.1:1").is_ok(),
            "known origins stay usable"
        );
        assert!(matches!(
            transport.endpoint("http://127.0.0.1:60000"),
            Err(TransportError::Invalid(_))
        ));
    }
}
