//! A third listener, TLS with ALPN `http/1.1` only (no `h2`), for Web Push
//! subscriptions made with `"http1_only": true`: a push service that does
//! not offer HTTP/2. RFC 8030 lets application servers use HTTP/1.1, and
//! nothing requires a push service to offer HTTP/2. It serves every route,
//! like the other two listeners.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::conn::{ConnInfo, Listener};
use crate::routes;
use crate::state::State;

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `server_config` with ALPN `http/1.1` alone.
pub(crate) fn http1_only(server_config: &rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    let mut config = server_config.clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Binds `ip:0`, records the origin for new subscriptions, and serves
/// until `shutdown`.
pub(crate) async fn start(
    state: Arc<State>,
    config: Arc<rustls::ServerConfig>,
    ip: IpAddr,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .context("binding the HTTP/1.1-only Web Push listener")?;
    let local_addr = listener.local_addr()?;
    state
        .web_push
        .set_http1_origin(format!("https://{local_addr}"));
    let acceptor = TlsAcceptor::from(config);
    Ok(tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => break,
            };
            let Ok((stream, _peer)) = accepted else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let (state, acceptor) = (state.clone(), acceptor.clone());
            let conn = ConnInfo {
                listener: Listener::Tls,
                local_addr,
                id: crate::conn::next_connection_id(),
            };
            tokio::spawn(async move {
                let handshake = acceptor.accept(stream);
                let Ok(Ok(stream)) = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await
                else {
                    return;
                };
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(routes::handle(&state, conn, req).await) }
                });
                if let Err(err) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %err, "HTTP/1.1 connection ended with an error");
                }
            });
        }
    }))
}
