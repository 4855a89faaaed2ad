//! The two listeners (cleartext and TLS), the worker threads that serve
//! their connections, and the handle that owns them.
//!
//! Each worker is a single-threaded Tokio runtime on its own OS thread, and
//! every connection lives on one worker: the HTTP/2 stream tasks of a
//! connection then never hop between threads, and responses that finish
//! together leave in one write. Connections are dealt to the workers in
//! turn by the accept loops, which run on the caller's runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::SimulatorConfig;
use crate::conn::{ConnInfo, Listener};
use crate::routes;
use crate::state::State;
use crate::tls;

/// Entry point: see [`Simulator::start`].
pub struct Simulator;

/// A started simulator. Dropping it stops the listeners; [`shutdown`]
/// additionally waits for them and the workers.
///
/// [`shutdown`]: RunningSimulator::shutdown
pub struct RunningSimulator {
    http_addr: SocketAddr,
    tls_addr: SocketAddr,
    ca_pem: String,
    ca_pem_path: PathBuf,
    shutdown: watch::Sender<bool>,
    accept_loops: Vec<JoinHandle<()>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

type Builder = auto::Builder<TokioExecutor>;

/// A connection on its way from an accept loop to a worker.
struct Accepted {
    stream: std::net::TcpStream,
    conn: ConnInfo,
}

/// What every worker shares.
#[derive(Clone)]
struct Shared {
    state: Arc<State>,
    builder: Arc<Builder>,
    acceptor: TlsAcceptor,
}

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after a shutdown request.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

impl Simulator {
    /// Makes the TLS certificate (written to `<state_dir>/ca.pem`), binds
    /// both listeners, starts the workers and returns once it is serving.
    /// The accept loops run on the caller's Tokio runtime.
    pub async fn start(config: SimulatorConfig) -> anyhow::Result<RunningSimulator> {
        let material = tls::generate()?;
        std::fs::create_dir_all(&config.state_dir)
            .with_context(|| format!("creating {}", config.state_dir.display()))?;
        let ca_pem_path = std::path::absolute(config.state_dir.join("ca.pem"))?;
        std::fs::write(&ca_pem_path, &material.ca_pem)
            .with_context(|| format!("writing {}", ca_pem_path.display()))?;

        let http_listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;
        let tls_listener = TcpListener::bind(config.tls_addr)
            .await
            .with_context(|| format!("binding {}", config.tls_addr))?;
        let http_addr = http_listener.local_addr()?;
        let tls_addr = tls_listener.local_addr()?;

        let http1_config = crate::webpush_h1::http1_only(&material.server_config);
        let shared = Shared {
            state: Arc::new(State::new(
                if config.lean {
                    0
                } else {
                    config.max_deliveries
                },
                config.apns_token_update_window,
            )),
            builder: Arc::new(connection_builder()),
            acceptor: TlsAcceptor::from(material.server_config),
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let http1_loop = crate::webpush_h1::start(
            shared.state.clone(),
            http1_config,
            tls_addr.ip(),
            shutdown_rx.clone(),
        )
        .await?;
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for index in 0..config.workers.max(1) {
            let (queue, incoming) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building a worker runtime")?;
            let (shared, shutdown_rx) = (shared.clone(), shutdown_rx.clone());
            let thread = std::thread::Builder::new()
                .name(format!("push-sim-{index}"))
                .spawn(move || runtime.block_on(worker(incoming, shared, shutdown_rx)))
                .context("starting a worker thread")?;
            queues.push(queue);
            workers.push(thread);
        }
        let queues = Arc::new(queues);
        let accept_loops = vec![
            http1_loop,
            tokio::spawn(accept_loop(
                http_listener,
                Listener::Http,
                queues.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(accept_loop(
                tls_listener,
                Listener::Tls,
                queues,
                shutdown_rx,
            )),
        ];
        tracing::info!(%http_addr, %tls_addr, ca_pem = %ca_pem_path.display(),
            workers = workers.len(), "push simulator listening");
        Ok(RunningSimulator {
            http_addr,
            tls_addr,
            ca_pem: material.ca_pem,
            ca_pem_path,
            shutdown,
            accept_loops,
            workers,
        })
    }
}

impl RunningSimulator {
    /// Bound cleartext address (HTTP/1.1 and h2c).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Bound TLS address (h2 and HTTP/1.1 by ALPN).
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls_addr
    }

    /// `http://<http_addr>`
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://<tls_addr>`; the certificate is valid for `127.0.0.1`, `::1`
    /// and `localhost`.
    pub fn tls_url(&self) -> String {
        format!("https://{}", self.tls_addr)
    }

    /// PEM of the CA that signed the TLS certificate: trust this.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Absolute path of the written `ca.pem`.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// Stops accepting, asks open connections to finish (HTTP/2 GOAWAY),
    /// and waits for the listeners and workers to stop.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.accept_loops.drain(..) {
            let _ = task.await;
        }
        let workers = std::mem::take(&mut self.workers);
        let _ = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await;
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn connection_builder() -> Builder {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    // Like APNs: 1000 concurrent streams per connection, and windows large
    // enough that a benchmark client is never flow-control bound.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(1000)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(16 << 20)
        .max_send_buf_size(1 << 20)
        .max_pending_accept_reset_streams(1000);
    builder
}

async fn accept_loop(
    listener: TcpListener,
    kind: Listener,
    queues: Arc<Vec<mpsc::UnboundedSender<Accepted>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // Typically EMFILE under load: back off instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (Ok(local_addr), Ok(stream)) = (stream.local_addr(), stream.into_std()) else {
            continue;
        };
        let conn = ConnInfo {
            listener: kind,
            local_addr,
            id: crate::conn::next_connection_id(),
        };
        next = (next + 1) % queues.len();
        if queues[next].send(Accepted { stream, conn }).is_err() {
            break;
        }
    }
}

async fn worker(
    mut incoming: mpsc::UnboundedReceiver<Accepted>,
    shared: Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    // Each connection task holds a clone of `alive`; `drained` yields None
    // once all have ended. (A JoinSet did this before, but it takes a lock
    // on every wake-up of every connection: 4% of the hot path in a
    // profile under h2load.)
    let (alive, mut drained) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = incoming.recv() => match accepted {
                Some(accepted) => {
                    let (shared, shutdown, alive) = (shared.clone(), shutdown.clone(), alive.clone());
                    tokio::spawn(async move {
                        connection(accepted, shared, shutdown).await;
                        drop(alive);
                    });
                }
                None => break,
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(alive);
    // Connections see the same signal and close gracefully; give them a
    // moment before the runtime (and whatever is left) is dropped.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained.recv()).await;
}

async fn connection(accepted: Accepted, shared: Shared, shutdown: watch::Receiver<bool>) {
    let Ok(stream) = TcpStream::from_std(accepted.stream) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let conn = accepted.conn;
    match conn.listener {
        Listener::Http => serve(stream, conn, shared.state, &shared.builder, shutdown).await,
        Listener::Tls => {
            let handshake = shared.acceptor.accept(stream);
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => {
                    serve(stream, conn, shared.state, &shared.builder, shutdown).await
                }
                Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve<IO>(
    io: IO,
    conn: ConnInfo,
    state: Arc<State>,
    builder: &Builder,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut freezes = state.faults.freezes();
    let service_state = state.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let state = service_state.clone();
        async move { Ok::<_, Infallible>(routes::handle(&state, conn, req).await) }
    });
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
        _ = freezes.changed() => {
            // Frozen: the socket stays open and is never read or written
            // again, like a connection the network dropped silently.
            tracing::debug!(connection = conn.id, "connection frozen");
            let _ = shutdown.changed().await;
        }
    }
    state.apns_connections.forget(conn.id);
}
