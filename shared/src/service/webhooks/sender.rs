//! The one way a webhook is POSTed: resolve the host ourselves, keep only
//! the addresses [`is_allowed`] lets through, connect to such an address
//! itself (so what was checked is what is reached, whatever the name
//! resolves to a moment later), TLS with the host name as SNI and the
//! public roots only, no proxy, HTTP/1.1, one request per connection, and
//! an answer within the timeout or none. A redirect is an answer like any
//! other: recorded, never followed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::Request;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::address::is_allowed;
use super::url::ReceiverUrl;
use crate::error::{Error, Result};

/// How long a receiver has to answer, connection included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Resolved addresses tried at most, in the resolver's order.
const ADDRESSES_TRIED: usize = 2;

/// What came of one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered with this status (2xx: delivered).
    Answered(u16),
    /// No answer: refused address, resolution, connection, TLS or timeout.
    NoAnswer(String),
}

impl SendOutcome {
    pub fn delivered(&self) -> bool {
        matches!(self, Self::Answered(status) if (200..300).contains(status))
    }

    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Answered(status) => Some(*status),
            Self::NoAnswer(_) => None,
        }
    }
}

/// Sends webhooks; built once per container.
#[derive(Clone)]
pub struct WebhookSender {
    tls: TlsConnector,
    allow_loopback: bool,
    timeout: Duration,
}

impl WebhookSender {
    pub fn new(allow_loopback: bool) -> Result<Self> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::internal("configuring webhook TLS", err))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            allow_loopback,
            timeout: DELIVERY_TIMEOUT,
        })
    }

    /// POSTs `body` with `headers` to `url`; never waits longer than the
    /// timeout.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> SendOutcome {
        let receiver = match ReceiverUrl::parse(url, self.allow_loopback) {
            Ok(receiver) => receiver,
            Err(err) => return SendOutcome::NoAnswer(err.to_string()),
        };
        match tokio::time::timeout(self.timeout, self.exchange(&receiver, headers, body)).await {
            Ok(Ok(status)) => SendOutcome::Answered(status),
            Ok(Err(why)) => SendOutcome::NoAnswer(why),
            Err(_) => SendOutcome::NoAnswer(format!(
                "no answer within {} seconds",
                self.timeout.as_secs()
            )),
        }
    }

    async fn exchange(
        &self,
        receiver: &ReceiverUrl,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<u16, String> {
        let tcp = self.connect(receiver).await?;
        let request = build_request(receiver, headers, body)?;
        if !receiver.https {
            return send_over(tcp, request).await;
        }
        let name = ServerName::try_from(receiver.host.clone())
            .map_err(|_| "the host is not a valid TLS server name".to_owned())?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|err| format!("TLS: {err}"))?;
        send_over(tls, request).await
    }

    /// A connection to one of the receiver's allowed addresses.
    async fn connect(&self, receiver: &ReceiverUrl) -> Result<TcpStream, String> {
        let candidates: Vec<SocketAddr> = match receiver.ip() {
            Some(ip) => vec![SocketAddr::new(ip, receiver.port)],
            None => tokio::net::lookup_host((receiver.host.as_str(), receiver.port))
                .await
                .map_err(|err| format!("resolving the host: {err}"))?
                .collect(),
        };
        let allowed: Vec<SocketAddr> = candidates
            .into_iter()
            .filter(|address| is_allowed(address.ip(), self.allow_loopback))
            .take(ADDRESSES_TRIED)
            .collect();
        if allowed.is_empty() {
            return Err("the host resolves to no public address; nothing was sent".to_owned());
        }
        let mut last_error = String::new();
        for address in allowed {
            match TcpStream::connect(address).await {
                // The address connected to is the one checked: the
                // socket's peer, not a second resolution.
                Ok(tcp)
                    if tcp
                        .peer_addr()
                        .is_ok_and(|peer| is_allowed(peer.ip(), self.allow_loopback)) =>
                {
                    let _ = tcp.set_nodelay(true);
                    return Ok(tcp);
                }
                Ok(_) => last_error = "connected to a refused address".to_owned(),
                Err(err) => last_error = format!("connecting: {err}"),
            }
        }
        Err(last_error)
    }
}

fn build_request(
    receiver: &ReceiverUrl,
    headers: &[(&'static str, String)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let mut request = Request::post(receiver.path_and_query.as_str())
        .header(HOST, receiver.authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, "notify-webhooks/1");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    request
        .body(Full::new(body))
        .map_err(|err| format!("building the request: {err}"))
}

/// One request over `stream`, HTTP/1.1; the answer's status. The body is
/// not read: nothing in it matters, and a receiver could make it endless.
async fn send_over<S>(stream: S, request: Request<Full<Bytes>>) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("HTTP handshake: {err}"))?;
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await;
    driver.abort();
    answer
        .map(|response| response.status().as_u16())
        .map_err(|err| format!("sending: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_before_any_connection() {
        let sender = WebhookSender::new(false).ok();
        let outcome = match sender {
            Some(sender) => {
                sender
                    .post("https://localhost:9/x", &[], Bytes::new())
                    .await
            }
            None => panic!("sender"),
        };
        assert!(
            matches!(&outcome, SendOutcome::NoAnswer(why) if why.contains("no public address")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_private_literal_is_refused_even_if_stored_somehow() {
        let sender = WebhookSender::new(true).ok();
        let outcome = match sender {
            Some(sender) => {
                sender
                    .post("https://169.254.169.254/latest", &[], Bytes::new())
                    .await
            }
            None => panic!("sender"),
        };
        assert!(
            matches!(&outcome, SendOutcome::NoAnswer(why) if why.contains("non-public")),
            "{outcome:?}"
        );
        assert!(!outcome.delivered());
    }

    #[test]
    fn only_a_2xx_answer_is_delivered() {
        assert!(SendOutcome::Answered(204).delivered());
        assert!(!SendOutcome::Answered(302).delivered());
        assert!(!SendOutcome::Answered(500).delivered());
        assert_eq!(SendOutcome::Answered(302).status_code(), Some(302));
        assert_eq!(SendOutcome::NoAnswer("x".to_owned()).status_code(), None);
    }
}
