//! A fixed set of HTTP/2 connections to one origin, opened on first use and
//! reopened when they die. Requests are spread round-robin; each connection
//! multiplexes as many streams as the server allows.
//!
//! A connection idle for longer than `idle_timeout` (wall clock) is not
//! trusted again: Lambda drops idle connections while it keeps the process
//! frozen, and a request on one would wait for its timeout ("Lambda purges
//! idle connections over time", AWS Lambda best practices). An APNs pool
//! also holds each connection to one provider token at a time (`binds_tokens`):
//! a different token less than 20 minutes after the last one retires the
//! connection instead of tripping `TooManyProviderTokenUpdates`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::SendRequest;
use http::HeaderValue;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Origin, TransportError, TransportSettings};
use crate::clock::Clock;

/// After a failed connect, requests fail at once for this long instead of
/// queueing behind another connect attempt: the engine's backoff retries.
const FAIL_FAST: Duration = Duration::from_millis(500);
/// APNs takes a new provider token on a connection at most this often.
const TOKEN_UPDATE_WINDOW_MILLIS: u64 = 20 * 60 * 1000;

pub(crate) struct Pool {
    origin: Origin,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    settings: TransportSettings,
    clock: Clock,
    /// Each connection carries one provider token at a time (APNs).
    binds_tokens: bool,
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    live: Mutex<Option<Live>>,
    /// Held while connecting, so one request connects and the others wait;
    /// remembers the last failure for [`FAIL_FAST`].
    connecting: tokio::sync::Mutex<Option<(Instant, TransportError)>>,
}

struct Live {
    sender: SendRequest<Bytes>,
    /// Set when the connection task ends or a request sees it broken.
    closed: Arc<AtomicBool>,
    /// Wall-clock milliseconds of the last lease.
    last_used: AtomicU64,
    /// The provider token it carries and since when (wall-clock ms), in a
    /// pool that binds tokens.
    token: Mutex<Option<(HeaderValue, u64)>>,
}

/// A new connection and its closed flag.
type Connected = (SendRequest<Bytes>, Arc<AtomicBool>);

/// A handle on one open connection, good for one request.
pub(crate) struct Lease {
    pub sender: SendRequest<Bytes>,
    closed: Arc<AtomicBool>,
}

impl Lease {
    /// The flag that retires this connection, for the answer to carry.
    pub fn closer(&self) -> Arc<AtomicBool> {
        self.closed.clone()
    }
}

/// What a request brings to a connection.
#[derive(Clone, Copy)]
pub(crate) struct Use<'a> {
    /// Wall-clock milliseconds.
    pub now: u64,
    /// The `authorization` value, in a pool that binds tokens.
    pub token: Option<&'a HeaderValue>,
}

impl Live {
    fn new(sender: SendRequest<Bytes>, closed: Arc<AtomicBool>, use_: Use<'_>) -> Self {
        Self {
            sender,
            closed,
            last_used: AtomicU64::new(use_.now),
            token: Mutex::new(use_.token.map(|token| (token.clone(), use_.now))),
        }
    }

    fn lease(&self) -> Lease {
        Lease {
            sender: self.sender.clone(),
            closed: self.closed.clone(),
        }
    }

    /// Whether this request may go on this connection; it may not (and the
    /// connection is retired) when the connection sat idle too long or
    /// would see a second new token too soon.
    fn admits(&self, use_: Use<'_>, idle_timeout: Duration) -> bool {
        let idle = use_
            .now
            .saturating_sub(self.last_used.swap(use_.now, Ordering::AcqRel));
        let idle_limit = u64::try_from(idle_timeout.as_millis()).unwrap_or(u64::MAX);
        let fresh = idle <= idle_limit && self.takes_token(use_);
        if !fresh {
            self.closed.store(true, Ordering::Release);
        }
        fresh
    }

    fn takes_token(&self, use_: Use<'_>) -> bool {
        let Some(token) = use_.token else {
            return true;
        };
        let mut current = self.token.lock().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some((carried, _)) if carried == token => true,
            Some((_, since)) if use_.now.saturating_sub(*since) < TOKEN_UPDATE_WINDOW_MILLIS => {
                false
            }
            _ => {
                *current = Some((token.clone(), use_.now));
                true
            }
        }
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Live>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lease(&self, use_: Use<'_>, idle_timeout: Duration) -> Option<Lease> {
        let live = self.lock();
        let live = live.as_ref()?;
        if live.closed.load(Ordering::Acquire) || !live.admits(use_, idle_timeout) {
            return None;
        }
        Some(live.lease())
    }
}

impl Pool {
    pub fn new(
        origin: Origin,
        tls: TlsConnector,
        settings: TransportSettings,
        clock: Clock,
        binds_tokens: bool,
    ) -> Result<Self, TransportError> {
        let server_name = ServerName::try_from(origin.host.clone())
            .map_err(|_| TransportError::Invalid(format!("bad host name {}", origin.host)))?;
        let slots = (0..settings.connections_per_host.max(1))
            .map(|_| Slot::default())
            .collect();
        Ok(Self {
            origin,
            server_name,
            tls,
            settings,
            clock,
            binds_tokens,
            slots,
            next: AtomicUsize::new(0),
        })
    }

    pub fn binds_tokens(&self) -> bool {
        self.binds_tokens
    }

    /// An open connection for the next request (whose `authorization` is
    /// `token`), connecting if needed.
    pub async fn lease(&self, token: Option<&HeaderValue>) -> Result<Lease, TransportError> {
        let use_ = Use {
            now: self.clock.now_unix_millis(),
            token: token.filter(|_| self.binds_tokens),
        };
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = &self.slots[index];
        if let Some(lease) = slot.lease(use_, self.settings.idle_timeout) {
            return Ok(lease);
        }
        // Boxed: the TLS handshake's state is kilobytes, and every push's
        // future would otherwise carry (and copy) it.
        Box::pin(self.reconnect(slot, use_)).await
    }

    async fn reconnect(&self, slot: &Slot, use_: Use<'_>) -> Result<Lease, TransportError> {
        let mut failure = slot.connecting.lock().await;
        if let Some(lease) = slot.lease(use_, self.settings.idle_timeout) {
            return Ok(lease);
        }
        if let Some((at, err)) = failure.as_ref() {
            if at.elapsed() < FAIL_FAST {
                return Err(err.clone());
            }
        }
        let connected = tokio::time::timeout(self.settings.connect_timeout, self.connect())
            .await
            .unwrap_or(Err(TransportError::ConnectTimeout));
        match connected {
            Ok((sender, closed)) => {
                *failure = None;
                let live = Live::new(sender, closed, use_);
                let lease = live.lease();
                *slot.lock() = Some(live);
                Ok(lease)
            }
            Err(err) => {
                tracing::warn!(host = %self.origin.host, port = self.origin.port, error = %err,
                    "provider connection failed");
                *failure = Some((Instant::now(), err.clone()));
                Err(err)
            }
        }
    }

    async fn connect(&self) -> Result<Connected, TransportError> {
        let tcp = TcpStream::connect((self.origin.host.as_str(), self.origin.port))
            .await
            .map_err(|err| TransportError::Connect(err.to_string()))?;
        // Pushes are small: send each frame now rather than waiting to fill
        // a segment.
        let _ = tcp.set_nodelay(true);
        if !self.origin.https {
            return self.handshake(tcp).await;
        }
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|err| TransportError::Connect(format!("TLS: {err}")))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(TransportError::Connect(
                "the server did not agree to HTTP/2 (ALPN h2)".to_owned(),
            ));
        }
        self.handshake(tls).await
    }

    async fn handshake<T>(&self, io: T) -> Result<Connected, TransportError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = h2::client::Builder::new()
            .enable_push(false)
            // Answers are tiny; large windows only matter for our bodies,
            // whose window the server sets. These avoid WINDOW_UPDATE chatter.
            .initial_window_size(1 << 20)
            .initial_connection_window_size(16 << 20)
            .max_concurrent_reset_streams(1024)
            .handshake::<T, Bytes>(io)
            .await
            .map_err(|err| TransportError::Connect(format!("HTTP/2 handshake: {err}")))?;
        let closed = Arc::new(AtomicBool::new(false));
        let on_close = closed.clone();
        let host = self.origin.host.clone();
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%host, error = %err, "provider connection ended");
            }
            on_close.store(true, Ordering::Release);
        });
        tracing::debug!(host = %self.origin.host, port = self.origin.port, "provider connection open");
        Ok((sender, closed))
    }
}
