//! `bare-h2`: the least an HTTP/2 server can do per request (hyper over
//! rustls, read the body, answer 200 with no body), on loopback. h2load
//! against it is the reference the push simulator is held to: the simulator
//! must not be what limits the senders measured against it.
//!
//! Prints `{"tls": "https://127.0.0.1:PORT", "http": "http://127.0.0.1:PORT"}`
//! on one line once both listeners are bound, then serves until killed.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

async fn answer(request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    // Read the body as a real endpoint must, then drop it.
    let _ = request.into_body().collect().await;
    Ok(Response::new(Empty::new()))
}

fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The same HTTP/2 settings as the simulator, so only the work per
    // request differs.
    builder
        .http2()
        .max_concurrent_streams(1000)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(16 << 20);
    builder
}

fn tls_acceptor() -> anyhow::Result<TlsAcceptor> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("TLS configuration")?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Like the simulator: one single-threaded runtime per core, each
/// accepting and serving its own connections, so the threading model is
/// the same and only the work per request differs.
fn main() -> anyhow::Result<()> {
    let acceptor = tls_acceptor()?;
    let tls = std::net::TcpListener::bind("127.0.0.1:0")?;
    let cleartext = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!(
        "{{\"tls\":\"https://{}\",\"http\":\"http://{}\"}}",
        tls.local_addr()?,
        cleartext.local_addr()?
    );
    tls.set_nonblocking(true)?;
    cleartext.set_nonblocking(true)?;
    let builder = Arc::new(builder());
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut threads = Vec::new();
    for _ in 0..workers {
        let (tls, cleartext) = (tls.try_clone()?, cleartext.try_clone()?);
        let (acceptor, builder) = (acceptor.clone(), builder.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        threads.push(std::thread::spawn(move || {
            runtime.block_on(serve(tls, cleartext, acceptor, builder))
        }));
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

async fn serve(
    tls: std::net::TcpListener,
    cleartext: std::net::TcpListener,
    acceptor: TlsAcceptor,
    builder: Arc<auto::Builder<TokioExecutor>>,
) -> anyhow::Result<()> {
    let (tls, cleartext) = (
        TcpListener::from_std(tls)?,
        TcpListener::from_std(cleartext)?,
    );
    loop {
        let (stream, secure) = tokio::select! {
            accepted = tls.accept() => (accepted?.0, true),
            accepted = cleartext.accept() => (accepted?.0, false),
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, builder) = (acceptor.clone(), builder.clone());
        tokio::spawn(async move {
            if !secure {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            } else if let Ok(stream) = acceptor.accept(stream).await {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            }
        });
    }
}
