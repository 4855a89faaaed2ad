//! Webhooks end to end, in-process: a per-test webhook queue pair made from
//! `template.yaml`, the app publishing to it, the dispatcher's handler
//! driven the way Lambda's event source mapping drives it (`sqs_trigger`),
//! and a recording receiver on 127.0.0.1 that answers as scripted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify_shared::config::WebhookSettings;
use notify_shared::service::webhooks::dispatch::Dispatcher;
use notify_shared::Config;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::calls::{call, parts};
use crate::env::template;

/// How the receiver answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// 302 to this location.
    Redirect(String),
    /// Reads the request, then says nothing for 30 seconds.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub path: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct ReceiverState {
    script: VecDeque<Answer>,
    requests: Vec<Received>,
    connections: usize,
}

/// A recording HTTP/1.1 receiver on 127.0.0.1. Answers 200 unless
/// scripted otherwise.
pub struct Receiver {
    port: u16,
    state: Arc<Mutex<ReceiverState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("binding the receiver: {err}"));
        let port = listener.local_addr().map_or(0, |addr| addr.port());
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                lock(&shared).connections += 1;
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { port, state, task }
    }

    /// `http://127.0.0.1:{port}/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next requests' answers, in order; 200 after them.
    pub fn script(&self, answers: &[Answer]) {
        lock(&self.state).script.extend(answers.iter().cloned());
    }

    pub fn requests(&self) -> Vec<Received> {
        lock(&self.state).requests.clone()
    }

    /// TCP connections accepted, answered or not.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }
}

fn lock(state: &Mutex<ReceiverState>) -> std::sync::MutexGuard<'_, ReceiverState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<ReceiverState>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => body.extend_from_slice(&chunk[..read]),
        }
    }
    let answer = {
        let mut state = lock(&state);
        state.requests.push(Received {
            headers,
            path,
            body,
            at: Instant::now(),
        });
        state.script.pop_front().unwrap_or(Answer::Status(200))
    };
    let reply = match answer {
        Answer::Status(status) => {
            format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Answer::Redirect(location) => format!(
            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A webhook queue pair of one test, made from the template's
/// `WebhookQueue` and `WebhookDeadLetterQueue`.
pub struct WebhookQueues {
    pub sqs: aws_sdk_sqs::Client,
    pub queues: notifyctl::Queues,
}

impl WebhookQueues {
    pub async fn create() -> Self {
        let (_, sdk) = crate::env::emulator_sdk().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let name = format!(
            "test-webhooks-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let queues = notifyctl::create_queues(&sqs, &template().webhook_queues, &name)
            .await
            .unwrap_or_else(|err| panic!("creating webhook queues: {err:#}"));
        Self { sqs, queues }
    }

    /// The configuration change that makes an app publish here, with
    /// receivers at http://127.0.0.1 allowed (`allow_loopback`).
    pub fn configure(&self, allow_loopback: bool) -> impl FnOnce(&mut Config) {
        let url = self.queues.url.clone();
        move |config: &mut Config| {
            config.webhooks = WebhookSettings {
                queue_url: Some(url),
                allow_loopback,
            };
        }
    }

    /// One receive → dispatch → acknowledge round (the event source
    /// mapping); the number of records, or `None` when the queue stayed
    /// empty for `wait`.
    pub async fn round(&self, dispatcher: &Dispatcher, wait: Duration) -> Option<usize> {
        let (event, _) = sqs_trigger::receive_event(&self.sqs, &self.queues.url, 10, wait)
            .await
            .unwrap_or_else(|err| panic!("receiving webhook events: {err:#}"))?;
        let response = webhook_dispatcher::process_event(dispatcher, event.clone()).await;
        sqs_trigger::acknowledge(&self.sqs, &self.queues.url, &event, &response)
            .await
            .unwrap_or_else(|err| panic!("acknowledging: {err:#}"));
        Some(event.records.len())
    }

    /// Rounds until the queue has nothing visible (1 s long poll).
    pub async fn drain(&self, dispatcher: &Dispatcher) -> usize {
        let mut records = 0;
        while let Some(count) = self.round(dispatcher, Duration::from_secs(1)).await {
            records += count;
        }
        records
    }
}

/// `POST /tenants/{tenant_id}/webhooks` with `token`.
pub async fn create_webhook(
    app: &notify_shared::App,
    token: &str,
    tenant_id: &str,
    body: Value,
) -> (u16, Value) {
    let request = call("POST", "/tenants/{tenant_id}/webhooks")
        .param("tenant_id", tenant_id)
        .bearer(token)
        .json(body);
    parts(&webhook_create::handle(app, request.build()).await)
}

/// `GET /tenants/{tenant_id}/webhooks/{webhook_id}/deliveries` with `token`.
pub async fn deliveries(
    app: &notify_shared::App,
    token: &str,
    tenant_id: &str,
    webhook_id: &str,
) -> (u16, Value) {
    let request = call(
        "GET",
        "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries",
    )
    .param("tenant_id", tenant_id)
    .param("webhook_id", webhook_id)
    .bearer(token);
    parts(&webhook_deliveries::handle(app, request.build()).await)
}

/// Whether the Standard Webhooks reference library (PyPI
/// `standardwebhooks`, in the project's virtualenv) accepts `request` as
/// signed with `secret`.
pub fn standard_webhooks_verifies(secret: &str, request: &Received, body: &[u8]) -> bool {
    const SCRIPT: &str = r#"
import sys
from standardwebhooks import Webhook
headers = {"webhook-id": sys.argv[2], "webhook-timestamp": sys.argv[3], "webhook-signature": sys.argv[4]}
try:
    Webhook(sys.argv[1]).verify(sys.stdin.buffer.read(), headers)
except Exception as err:
    print(f"refused: {err}")
    sys.exit(3)
print("verified")
"#;
    let venv = std::env::var("NOTIFY_VENV_DIR").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"),
        std::path::PathBuf::from,
    );
    let mut child = std::process::Command::new(venv.join("bin/python3"))
        .args([
            "-c",
            SCRIPT,
            secret,
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("running the venv's python3 (scripts/test installs standardwebhooks): {err}")
        });
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(body);
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("waiting for python3: {err}"));
    match output.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!(
            "standardwebhooks did not run (scripts/test installs it): {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}
