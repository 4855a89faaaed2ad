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
mod origins;
mod pool;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::RecvStream;
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Request, StatusCode, Uri};
use tokio_rustls::TlsConnector;

use crate::clock::Clock;
use crate::error::Result;
use origins::Origins;
use pool::Pool;

/// Provider error bodies are small; more is not read into memory.
const MAX_BODY: usize = 64 * 1024;
/// A `Retry-After` longer than this is read as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
pub(crate) struct TransportSettings {
    pub connections_per_host: usize,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// A connection idle longer than this (wall clock) is replaced before
    /// use rather than trusted.
    pub idle_timeout: Duration,
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
    /// Retires the connection that carried it.
    pub connection: Connection,
}

/// The connection an answer came on.
#[derive(Debug, Default)]
pub(crate) struct Connection(Option<Arc<AtomicBool>>);

impl Connection {
    /// The provider said this connection is no longer usable (APNs binds a
    /// connection to one team, key and token): later requests open a new one.
    pub fn retire(&self) {
        if let Some(closed) = &self.0 {
            closed.store(true, Ordering::Release);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// A parsed provider base URL, before any connection.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    origin: Origin,
    scheme: Scheme,
    authority: Authority,
    base_path: String,
}

impl Location {
    pub fn parse(url: &str) -> Result<Self, TransportError> {
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
        Ok(Self {
            origin,
            scheme: if https { Scheme::HTTPS } else { Scheme::HTTP },
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// Connection pools shared by every provider client, kept in an
/// [`Origins`] map under bounds no tenant can steer.
pub(crate) struct Transport {
    tls: TlsConnector,
    settings: TransportSettings,
    clock: Clock,
    origins: Mutex<Origins>,
    #[cfg(feature = "hyper-util-client")]
    hyper: Option<Arc<hyper_client::HyperClient>>,
}

impl Transport {
    pub fn new(
        extra_ca_file: Option<&str>,
        settings: TransportSettings,
        clock: Clock,
    ) -> Result<Self> {
        let tls = TlsConnector::from(tls::client_config(extra_ca_file)?);
        Ok(Self {
            #[cfg(feature = "hyper-util-client")]
            hyper: (settings.client == HttpClient::HyperUtil)
                .then(|| Arc::new(hyper_client::client(tls.clone(), settings.connect_timeout))),
            tls,
            settings,
            clock,
            origins: Mutex::new(Origins::default()),
        })
    }

    fn origins(&self) -> MutexGuard<'_, Origins> {
        self.origins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new pool (no I/O until its first request).
    fn pool(&self, origin: &Origin, binds_tokens: bool) -> Result<Arc<Pool>, TransportError> {
        Ok(Arc::new(Pool::new(
            origin.clone(),
            self.tls.clone(),
            self.settings,
            self.clock.clone(),
            binds_tokens,
        )?))
    }

    fn endpoint_on(&self, location: &Location, pool: Arc<Pool>) -> Endpoint {
        Endpoint {
            scheme: location.scheme.clone(),
            authority: location.authority.clone(),
            base_path: location.base_path.clone(),
            request_timeout: self.settings.request_timeout,
            binds_tokens: pool.binds_tokens(),
            pool,
            #[cfg(feature = "hyper-util-client")]
            hyper: self.hyper.clone(),
        }
    }

    /// The endpoint of one of the providers' own base URLs (FCM, the OAuth
    /// token endpoint), from configuration: kept for the container's life.
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TransportError> {
        let location = Location::parse(url)?;
        let pool = self
            .origins()
            .provider(&location.origin, || self.pool(&location.origin, false))?;
        Ok(self.endpoint_on(&location, pool))
    }

    /// The APNs endpoint at `location` for one credential
    /// (`apns::credential_id`): connections of its own, each holding to one
    /// provider token at a time.
    pub fn credential_endpoint(
        &self,
        location: &Location,
        credential: &[u8; 32],
    ) -> Result<Endpoint, TransportError> {
        let key = (
            location.origin.clone(),
            location.base_path.clone(),
            *credential,
        );
        let now = self.clock.now_unix_millis();
        let pool = self
            .origins()
            .credential(key, now, || self.pool(&location.origin, true))?;
        Ok(self.endpoint_on(location, pool))
    }

    /// The endpoint of a Web Push service's origin, for a push of `tenant`
    /// (whose share of the origins it counts against).
    pub fn web_push_endpoint(&self, url: &str, tenant: &str) -> Result<Endpoint, TransportError> {
        let location = Location::parse(url)?;
        let now = self.clock.now_unix_millis();
        let pool = self.origins().web_push(&location.origin, tenant, now, || {
            self.pool(&location.origin, false)
        })?;
        Ok(self.endpoint_on(&location, pool))
    }
}

/// One provider base URL: builds request URIs and sends requests.
#[derive(Clone)]
pub(crate) struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    base_path: String,
    request_timeout: Duration,
    /// Requests lease a connection that carries their `authorization`.
    binds_tokens: bool,
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
    /// request timeout (waiting for a connection included). A connection
    /// whose request timed out is retired: a silently dropped connection
    /// must not hold every retry.
    pub async fn send(&self, request: Request<()>, body: Bytes) -> Result<Reply, TransportError> {
        #[cfg(feature = "hyper-util-client")]
        if let Some(client) = &self.hyper {
            return tokio::time::timeout(
                self.request_timeout,
                hyper_client::round_trip(client, request, body),
            )
            .await
            .unwrap_or(Err(TransportError::Timeout));
        }
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        let token = request
            .headers()
            .get(AUTHORIZATION)
            .filter(|_| self.binds_tokens);
        let mut lease = tokio::time::timeout_at(deadline, self.pool.lease(token))
            .await
            .unwrap_or(Err(TransportError::Timeout))?;
        let closed = lease.closer();
        match tokio::time::timeout_at(deadline, round_trip(&mut lease, request, body)).await {
            Ok(reply) => reply,
            Err(_) => {
                closed.store(true, Ordering::Release);
                Err(TransportError::Timeout)
            }
        }
    }
}

async fn round_trip(
    lease: &mut pool::Lease,
    request: Request<()>,
    body: Bytes,
) -> Result<Reply, TransportError> {
    let closed = lease.closer();
    let failed = |err: h2::Error| {
        if !err.is_reset() {
            closed.store(true, Ordering::Release);
        }
        TransportError::Http2(err.to_string())
    };
    let (response, mut stream) = lease
        .sender
        .send_request(request, body.is_empty())
        .map_err(failed)?;
    if !body.is_empty() {
        stream.send_data(body, true).map_err(failed)?;
    }
    let response = response.await.map_err(failed)?;
    let (parts, mut recv) = response.into_parts();
    let body = read_body(&mut recv).await.map_err(failed)?;
    Ok(Reply {
        status: parts.status,
        retry_after: retry_after(&parts.headers),
        body,
        connection: Connection(Some(closed.clone())),
    })
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
    use super::origins::{
        MAX_CREDENTIAL_POOLS, MAX_PROVIDER_ORIGINS, MAX_WEB_PUSH_ORIGINS,
        MAX_WEB_PUSH_ORIGINS_PER_TENANT,
    };
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

    fn transport() -> Transport {
        Transport::new(
            None,
            TransportSettings {
                connections_per_host: 1,
                connect_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(30),
                client: HttpClient::Own,
            },
            Clock::manual(1_700_000_000),
        )
        .unwrap()
    }

    fn web_push_origins_of(transport: &Transport, tenant: &str) -> usize {
        transport.origins().web_push_origins_of(tenant)
    }

    #[tokio::test]
    async fn provider_origins_are_bounded_and_kept() {
        let transport = transport();
        for port in 1..=MAX_PROVIDER_ORIGINS {
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

    #[tokio::test]
    async fn one_tenants_many_web_push_origins_crowd_out_neither_providers_nor_other_tenants() {
        let transport = transport();
        transport.endpoint("https://fcm.example").unwrap();
        transport
            .web_push_endpoint("https://updates.example", "victim")
            .unwrap();
        for n in 0..(MAX_WEB_PUSH_ORIGINS * 2) {
            transport
                .web_push_endpoint(&format!("https://x{n}.notify.windows.com"), "attacker")
                .expect("the attacker's own origins replace each other");
        }
        assert_eq!(
            web_push_origins_of(&transport, "attacker"),
            MAX_WEB_PUSH_ORIGINS_PER_TENANT
        );
        assert_eq!(web_push_origins_of(&transport, "victim"), 1);
        assert_eq!(
            transport.origins().counts().0,
            1,
            "the provider origin stays"
        );
        // Other tenants filling the rest evict from the largest holder: 13
        // evictions, all the attacker's (more would bring it down to one
        // origin, tied with every other tenant, where any may go).
        for n in 0..(MAX_WEB_PUSH_ORIGINS - 4) {
            transport
                .web_push_endpoint(&format!("https://y{n}.example"), &format!("t{n}"))
                .unwrap();
        }
        assert_eq!(web_push_origins_of(&transport, "victim"), 1);
        assert_eq!(
            web_push_origins_of(&transport, "attacker"),
            MAX_WEB_PUSH_ORIGINS_PER_TENANT - 13
        );
        assert!(transport.origins().counts().2 <= MAX_WEB_PUSH_ORIGINS);
    }

    #[tokio::test]
    async fn credential_pools_are_bounded_least_recently_used_first() {
        let transport = transport();
        let apns = Location::parse("https://api.sandbox.example").unwrap();
        transport.credential_endpoint(&apns, &[0; 32]).unwrap();
        for n in 1..=MAX_CREDENTIAL_POOLS {
            let mut id = [1; 32];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            transport.credential_endpoint(&apns, &id).unwrap();
            // The first credential keeps being used.
            transport.credential_endpoint(&apns, &[0; 32]).unwrap();
        }
        assert_eq!(transport.origins().counts().1, MAX_CREDENTIAL_POOLS);
        assert!(transport.origins().holds_credential(&[0; 32]));
    }
}
