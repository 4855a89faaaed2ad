//! An app whose DynamoDB calls go one at a time, for races moto cannot
//! otherwise keep exact.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use notify_shared::App;
use notify_tests::faults::app_with;
use notify_tests::TestEnv;

/// Sends an app's DynamoDB calls one at a time. moto serves concurrent
/// requests on threads without isolating transactions from each other (it
/// checks a condition, then applies the write, and undoes a failed one by
/// restoring a copy of the whole table), so two parallel transactions can
/// both pass a condition only one of them may pass; DynamoDB serializes
/// them. One call at a time keeps moto exact, while the requests still
/// interleave as concurrent ones do: they all read before any of them
/// writes. (Over reqwest: the SDK's own HTTP client is not reachable from
/// here.)
#[derive(Debug, Clone)]
struct OneAtATime {
    client: reqwest::Client,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl OneAtATime {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let _turn = self.turn.lock().await;
        let io = |err: reqwest::Error| ConnectorError::io(err.into());
        let method = reqwest::Method::from_bytes(request.method().as_bytes())
            .map_err(|err| ConnectorError::other(err.into(), None))?;
        let mut outgoing = self.client.request(method, request.uri());
        for (name, value) in request.headers() {
            outgoing = outgoing.header(name, value);
        }
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let response = outgoing.body(body).send().await.map_err(io)?;
        let status = StatusCode::try_from(response.status().as_u16())
            .map_err(|err| ConnectorError::other(err.into(), None))?;
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let bytes = response.bytes().await.map_err(io)?;
        let mut answer = HttpResponse::new(status, SdkBody::from(bytes.to_vec()));
        for (name, value) in headers {
            answer.headers_mut().insert(name, value);
        }
        Ok(answer)
    }
}

impl HttpConnector for OneAtATime {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.clone();
        HttpConnectorFuture::new(async move { connector.send(request).await })
    }
}

pub(super) fn app_with_one_dynamodb_call_at_a_time(env: &TestEnv) -> App {
    // reqwest's TLS needs a process-wide provider, even for plain HTTP.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let connector = OneAtATime {
        client: reqwest::Client::new(),
        turn: Arc::new(tokio::sync::Mutex::new(())),
    };
    let client = http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone()));
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&env.sdk).http_client(client);
    app_with(
        env,
        aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        env.secrets.clone(),
    )
}
