//! The same requests over `hyper-util`'s pooled client (HTTP/2 only, our TLS
//! configuration), for the benchmark's comparison with our own transport:
//! built only with the `hyper-util-client` feature, which only `bench/`
//! enables. See the figure in `mod.rs`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::{retry_after, Reply, TransportError, MAX_BODY};

pub(crate) type HyperClient = Client<Connector, Full<Bytes>>;

pub(crate) fn client(tls: TlsConnector, connect_timeout: Duration) -> HyperClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(Connector {
            tls,
            connect_timeout,
        })
}

pub(crate) async fn round_trip(
    client: &HyperClient,
    request: Request<()>,
    body: Bytes,
) -> Result<Reply, TransportError> {
    let (parts, ()) = request.into_parts();
    let response = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|err| {
            if err.is_connect() {
                TransportError::Connect(err.to_string())
            } else {
                TransportError::Http2(err.to_string())
            }
        })?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|err| TransportError::Http2(err.to_string()))?
        .to_bytes();
    Ok(Reply {
        status: parts.status,
        retry_after: retry_after(&parts.headers),
        body,
        // hyper-util's pool decides on its connections itself.
        connection: super::Connection::default(),
    })
}

/// TCP, then TLS for `https://`; cleartext HTTP/2 for `http://`.
#[derive(Clone)]
pub(crate) struct Connector {
    tls: TlsConnector,
    connect_timeout: Duration,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Conn, TransportError>> + Send>>;

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = TransportError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (tls, timeout) = (self.tls.clone(), self.connect_timeout);
        Box::pin(async move {
            let https = uri.scheme_str() == Some("https");
            let host = uri
                .host()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let connect = async {
                let tcp = TcpStream::connect((host.as_str(), port))
                    .await
                    .map_err(|err| TransportError::Connect(err.to_string()))?;
                let _ = tcp.set_nodelay(true);
                if !https {
                    return Ok(Conn::Plain(TokioIo::new(tcp)));
                }
                let name = ServerName::try_from(host.clone())
                    .map_err(|_| TransportError::Invalid(format!("invalid host {host:?}")))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|err| TransportError::Connect(err.to_string()))?;
                Ok(Conn::Tls(Box::new(TokioIo::new(stream))))
            };
            tokio::time::timeout(timeout, connect)
                .await
                .unwrap_or(Err(TransportError::ConnectTimeout))
        })
    }
}

pub(crate) enum Conn {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(io) => io.is_write_vectored(),
            Conn::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_flush(cx),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}
