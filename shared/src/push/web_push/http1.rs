//! Web Push over HTTP/1.1, for push services that do not offer HTTP/2.
//! RFC 8030 lets application servers use HTTP/1.1 and nothing obliges a
//! push service to offer `h2`; the transport (APNs, FCM) insists on it.
//!
//! An origin goes here once an HTTP/2 connection to it failed and a TLS
//! handshake offering both protocols agreed on HTTP/1.1 (or on none): the
//! origin is remembered while it is among the most recently used. Connections are kept
//! alive and reused, at most [`CONNECTIONS_PER_ORIGIN`] at once per origin.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::push::transport::{alpn, Reply, Transport, TransportError};
use crate::web_push_protocol::hosts::EndpointOrigin;

/// HTTP/1.1 has one request in flight per connection: this many per origin.
/// With [`MAX_ORIGINS`], at most 512 sockets, half of Lambda's 1,024 file
/// descriptors.
const CONNECTIONS_PER_ORIGIN: usize = 16;
/// Origins remembered as HTTP/1.1-only, least recently used evicted.
const MAX_ORIGINS: usize = 32;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Push service error bodies are small; more is not read.
const MAX_BODY: usize = 64 * 1024;
/// An origin found to offer HTTP/2 (or unreachable) is not probed again
/// for this long: during an outage, every push would otherwise pay a
/// second connection attempt.
const PROBE_AGAIN_AFTER: Duration = Duration::from_secs(30);

type Sender = SendRequest<Full<Bytes>>;

struct OriginPool {
    idle: Mutex<Vec<Sender>>,
    permits: Semaphore,
}

#[derive(Default)]
pub(crate) struct Http1 {
    /// TLS offering `h2` and `http/1.1`, made on first use.
    tls: OnceLock<TlsConnector>,
    /// Each HTTP/1.1 origin's pool and when it was last used: when full,
    /// the least recently used goes, so no tenant's invented hosts keep
    /// another tenant's push service out for good (house style 16).
    origins: Mutex<HashMap<String, (Arc<OriginPool>, u64)>>,
    /// Order of use, for least-recently-used eviction.
    uses: AtomicU64,
    /// When an origin was last probed without finding HTTP/1.1.
    probed: Mutex<HashMap<String, Instant>>,
}

/// What a TLS handshake offering both protocols agreed on.
enum Probe {
    /// `h2`: the HTTP/2 failure had another cause.
    Http2,
    Http1(Box<TlsStream<TcpStream>>),
}

impl Http1 {
    /// The pool of an origin known to speak only HTTP/1.1.
    fn pool(&self, audience: &str) -> Option<Arc<OriginPool>> {
        let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        let (pool, used_at) = origins.get_mut(audience)?;
        *used_at = self.uses.fetch_add(1, Ordering::Relaxed);
        Some(pool.clone())
    }

    /// Sends over HTTP/1.1 when `origin` is known to need it; `None`
    /// otherwise.
    pub async fn send_if_known(
        &self,
        transport: &Transport,
        origin: &EndpointOrigin,
        request: &Request<()>,
        body: &Bytes,
    ) -> Option<Result<Reply, TransportError>> {
        let pool = self.pool(&origin.audience())?;
        Some(
            self.send(transport, origin, &pool, None, request, body)
                .await,
        )
    }

    /// After an HTTP/2 connection to `origin` failed: whether it speaks
    /// HTTP/1.1 instead, and if so the answer to `request` over it.
    pub async fn fall_back(
        &self,
        transport: &Transport,
        origin: &EndpointOrigin,
        request: &Request<()>,
        body: &Bytes,
    ) -> Option<Result<Reply, TransportError>> {
        if !origin.https || self.probed_lately(&origin.audience()) {
            return None;
        }
        let Ok(Probe::Http1(stream)) = self.connect(transport, origin).await else {
            self.remember_probe(origin.audience());
            return None;
        };
        let pool = self.admit(origin.audience());
        tracing::info!(host = %origin.host, port = origin.port,
            "web push service does not offer HTTP/2; using HTTP/1.1");
        Some(
            self.send(transport, origin, &pool, Some(stream), request, body)
                .await,
        )
    }

    /// The pool of a newly found HTTP/1.1 origin. When the map is full the
    /// least recently used origin goes: its idle connections close, and
    /// requests in flight keep their own handle.
    fn admit(&self, audience: String) -> Arc<OriginPool> {
        let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        if origins.len() >= MAX_ORIGINS && !origins.contains_key(&audience) {
            let least_recent = origins
                .iter()
                .min_by_key(|(_, (_, used_at))| *used_at)
                .map(|(key, _)| key.clone());
            if let Some(key) = least_recent {
                origins.remove(&key);
            }
        }
        let (pool, used_at) = origins.entry(audience).or_insert_with(|| {
            (
                Arc::new(OriginPool {
                    idle: Mutex::new(Vec::new()),
                    permits: Semaphore::new(CONNECTIONS_PER_ORIGIN),
                }),
                0,
            )
        });
        *used_at = self.uses.fetch_add(1, Ordering::Relaxed);
        pool.clone()
    }

    fn probed_lately(&self, audience: &str) -> bool {
        let probed = self.probed.lock().unwrap_or_else(|p| p.into_inner());
        probed
            .get(audience)
            .is_some_and(|at| at.elapsed() < PROBE_AGAIN_AFTER)
    }

    fn remember_probe(&self, audience: String) {
        let mut probed = self.probed.lock().unwrap_or_else(|p| p.into_inner());
        if probed.len() >= MAX_ORIGINS {
            probed.retain(|_, at| at.elapsed() < PROBE_AGAIN_AFTER);
            if probed.len() >= MAX_ORIGINS {
                return;
            }
        }
        probed.insert(audience, Instant::now());
    }

    async fn connect(
        &self,
        transport: &Transport,
        origin: &EndpointOrigin,
    ) -> Result<Probe, TransportError> {
        let tls = self
            .tls
            .get_or_init(|| transport.tls_offering(&[b"h2", b"http/1.1"]));
        let name = ServerName::try_from(origin.host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| TransportError::Invalid("invalid push service host".to_owned()))?
            .to_owned();
        let connecting = async {
            let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
                .await
                .map_err(|err| TransportError::Connect(err.to_string()))?;
            let _ = tcp.set_nodelay(true);
            tls.connect(name, tcp)
                .await
                .map_err(|err| TransportError::Connect(format!("TLS: {err}")))
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| TransportError::ConnectTimeout)??;
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            return Ok(Probe::Http2);
        }
        Ok(Probe::Http1(Box::new(stream)))
    }

    async fn send(
        &self,
        transport: &Transport,
        origin: &EndpointOrigin,
        pool: &OriginPool,
        fresh: Option<Box<TlsStream<TcpStream>>>,
        request: &Request<()>,
        body: &Bytes,
    ) -> Result<Reply, TransportError> {
        let round_trip = async {
            let _permit = pool
                .permits
                .acquire()
                .await
                .map_err(|_| TransportError::Invalid("connection pool closed".to_owned()))?;
            let mut sender = match fresh {
                Some(stream) => handshake(stream).await?,
                None => match take_idle(pool) {
                    Some(sender) => sender,
                    None => match self.connect(transport, origin).await? {
                        Probe::Http1(stream) => handshake(stream).await?,
                        // It offers HTTP/2 again: a fresh HTTP/1.1
                        // connection is still what we ask for here.
                        Probe::Http2 => {
                            return Err(TransportError::Connect(
                                "the push service switched to HTTP/2".to_owned(),
                            ))
                        }
                    },
                },
            };
            let reply = exchange(&mut sender, origin, request, body).await?;
            if sender.is_ready() {
                let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < CONNECTIONS_PER_ORIGIN {
                    idle.push(sender);
                }
            }
            Ok(reply)
        };
        tokio::time::timeout(REQUEST_TIMEOUT, round_trip)
            .await
            .unwrap_or(Err(TransportError::Timeout))
    }
}

fn take_idle(pool: &OriginPool) -> Option<Sender> {
    let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
    while let Some(sender) = idle.pop() {
        if sender.is_ready() {
            return Some(sender);
        }
    }
    None
}

async fn handshake(stream: Box<TlsStream<TcpStream>>) -> Result<Sender, TransportError> {
    let (sender, connection) = http1::handshake(TokioIo::new(*stream))
        .await
        .map_err(|err| TransportError::Connect(format!("HTTP/1.1 handshake: {err}")))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "web push HTTP/1.1 connection ended");
        }
    });
    Ok(sender)
}

/// One request and its whole answer. HTTP/1.1 takes the path alone as the
/// request target, and the origin as `Host`.
async fn exchange(
    sender: &mut Sender,
    origin: &EndpointOrigin,
    request: &Request<()>,
    body: &Bytes,
) -> Result<Reply, TransportError> {
    let invalid = || TransportError::Invalid("invalid web push request".to_owned());
    let path = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let mut outgoing = Request::new(Full::new(body.clone()));
    *outgoing.method_mut() = request.method().clone();
    *outgoing.uri_mut() = path.parse::<Uri>().map_err(|_| invalid())?;
    *outgoing.headers_mut() = request.headers().clone();
    let host = origin
        .audience()
        .split_once("://")
        .map(|(_, host)| host.to_owned())
        .unwrap_or_default();
    outgoing
        .headers_mut()
        .insert(HOST, host.parse().map_err(|_| invalid())?);
    let response = sender
        .send_request(outgoing)
        .await
        .map_err(|err| TransportError::Connect(format!("HTTP/1.1: {err}")))?;
    let (parts, incoming) = response.into_parts();
    let body = Limited::new(incoming, MAX_BODY)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    Ok(Reply {
        status: parts.status,
        retry_after: alpn::retry_after(&parts.headers),
        body,
        // HTTP/1.1 connections bind nothing a provider could refuse later.
        connection: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_http1_origins_neither_evict_a_recently_used_one_nor_keep_a_new_one_out() {
        let http1 = Http1::default();
        http1.admit("https://wns.example:443".to_owned());
        for n in 0..MAX_ORIGINS * 3 {
            // Another tenant's push service stays in use meanwhile.
            assert!(http1.pool("https://wns.example:443").is_some());
            http1.admit(format!("https://invented-{n}.example:443"));
        }
        // A push service found after the flood still gets in.
        http1.admit("https://wns-2.example:443".to_owned());
        assert!(http1.pool("https://wns-2.example:443").is_some());
        let origins = http1.origins.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(origins.len(), MAX_ORIGINS);
        assert!(origins.contains_key("https://wns.example:443"));
    }
}
