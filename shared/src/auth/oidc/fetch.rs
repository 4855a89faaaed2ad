//! The one way the verifier reads from the identity provider: a GET to a
//! [`FetchUrl`] (https with the public roots, or http to loopback), no
//! proxy, HTTP/1.1, no redirect followed, the whole exchange within a
//! timeout and the body within a size cap. The answer's `Content-Type` is
//! not trusted: the body is parsed as JSON or refused.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, HOST, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::FetchUrl;

/// How long one GET may take, connection and body included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest discovery document or JWKS read; a larger one is refused.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a document could not be read (logged; never shown to callers).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchFailed(pub String);

/// GETs `url` and parses its body as `T`.
pub async fn get_json<T: DeserializeOwned>(
    url: &FetchUrl,
    timeout: Duration,
) -> Result<T, FetchFailed> {
    let body = get_body(url, timeout).await?;
    serde_json::from_slice(&body)
        .map_err(|err| FetchFailed(format!("not the JSON expected: {err}")))
}

/// GETs `url`: the body of a 200 answer within `timeout`.
pub async fn get_body(url: &FetchUrl, timeout: Duration) -> Result<Bytes, FetchFailed> {
    match tokio::time::timeout(timeout, get(url)).await {
        Ok(body) => body,
        Err(_) => Err(FetchFailed(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

async fn get(url: &FetchUrl) -> Result<Bytes, FetchFailed> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|err| FetchFailed(format!("connecting: {err}")))?;
    let _ = tcp.set_nodelay(true);
    let request = Request::get(url.path_and_query.as_str())
        .header(HOST, url.authority.as_str())
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, "notify-oidc/1")
        .body(Empty::<Bytes>::new())
        .map_err(|err| FetchFailed(format!("building the request: {err}")))?;
    if !url.https {
        return exchange(tcp, request).await;
    }
    let name = ServerName::try_from(url.host.clone())
        .map_err(|_| FetchFailed("the host is not a valid TLS server name".to_owned()))?;
    let tls = tls_connector()?
        .connect(name, tcp)
        .await
        .map_err(|err| FetchFailed(format!("TLS: {err}")))?;
    exchange(tls, request).await
}

/// The public web roots only; built per fetch, which happens at most about
/// once a minute.
fn tls_connector() -> Result<TlsConnector, FetchFailed> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| FetchFailed(format!("configuring TLS: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One request over `stream`; the body of a 200 answer, at most
/// [`MAX_BODY_BYTES`].
async fn exchange<S>(stream: S, request: Request<Empty<Bytes>>) -> Result<Bytes, FetchFailed>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| FetchFailed(format!("HTTP handshake: {err}")))?;
    let driver = tokio::spawn(connection);
    let answer = read_answer(sender.send_request(request).await).await;
    driver.abort();
    answer
}

async fn read_answer(
    answer: Result<http::Response<hyper::body::Incoming>, hyper::Error>,
) -> Result<Bytes, FetchFailed> {
    let response = answer.map_err(|err| FetchFailed(format!("sending: {err}")))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(FetchFailed(format!(
            "answered {status}: redirects are not followed"
        )));
    }
    if status != StatusCode::OK {
        return Err(FetchFailed(format!("answered {status}")));
    }
    Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map(|body| body.to_bytes())
        .map_err(|err| {
            FetchFailed(format!(
                "reading the body (at most {MAX_BODY_BYTES} bytes): {err}"
            ))
        })
}
