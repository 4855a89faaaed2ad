//! A fixed set of HTTP/2 connections to one origin, opened on first use and
//! reopened when they die. Requests are spread round-robin; each connection
//! multiplexes as many streams as the server allows.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::SendRequest;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Origin, TransportError, TransportSettings};

/// After a failed connect, requests fail at once for this long instead of
/// queueing behind another connect attempt: the engine's backoff retries.
const FAIL_FAST: Duration = Duration::from_millis(500);

pub(crate) struct Pool {
    origin: Origin,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    settings: TransportSettings,
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
}

/// A handle on one open connection, good for one request.
pub(crate) struct Lease {
    pub sender: SendRequest<Bytes>,
    closed: Arc<AtomicBool>,
}

impl Lease {
    /// A connection-level failure retires the connection: the next request
    /// on this slot reconnects.
    pub fn retire(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Live>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lease(&self) -> Option<Lease> {
        let live = self.lock();
        let live = live.as_ref()?;
        if live.closed.load(Ordering::Acquire) {
            return None;
        }
        Some(Lease {
            sender: live.sender.clone(),
            closed: live.closed.clone(),
        })
    }
}

impl Pool {
    pub fn new(
        origin: Origin,
        tls: TlsConnector,
        settings: TransportSettings,
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
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// An open connection for the next request, connecting if needed.
    pub async fn lease(&self) -> Result<Lease, TransportError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = &self.slots[index];
        if let Some(lease) = slot.lease() {
            return Ok(lease);
        }
        // Boxed: the TLS handshake's state is kilobytes, and every push's
        // future would otherwise carry (and copy) it.
        Box::pin(self.reconnect(slot)).await
    }

    async fn reconnect(&self, slot: &Slot) -> Result<Lease, TransportError> {
        let mut failure = slot.connecting.lock().await;
        if let Some(lease) = slot.lease() {
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
            Ok(live) => {
                *failure = None;
                let lease = Lease {
                    sender: live.sender.clone(),
                    closed: live.closed.clone(),
                };
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

    async fn connect(&self) -> Result<Live, TransportError> {
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

    async fn handshake<T>(&self, io: T) -> Result<Live, TransportError>
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
        Ok(Live { sender, closed })
    }
}
