//! A tiny HTTP/1.1 server on 127.0.0.1 standing in for an identity
//! provider: fixed answers per path, a count of requests per path, and an
//! optional delay before answering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Answer {
    pub fn json(body: &serde_json::Value) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct State {
    answers: HashMap<String, Answer>,
    requests: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct Provider {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Provider {
    pub async fn start() -> Self {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("binding the test provider: {err}"),
        };
        let base = match listener.local_addr() {
            Ok(address) => format!("http://{address}"),
            Err(err) => panic!("test provider address: {err}"),
        };
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { base, state }
    }

    pub fn set(&self, path: &str, answer: Answer) {
        if let Ok(mut state) = self.state.lock() {
            state.answers.insert(path.to_owned(), answer);
        }
    }

    pub fn requests(&self, path: &str) -> usize {
        self.state
            .lock()
            .map(|state| state.requests.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    let answer = match state.lock() {
        Ok(mut state) => {
            *state.requests.entry(path.clone()).or_default() += 1;
            state.answers.get(&path).cloned()
        }
        Err(_) => None,
    };
    let answer = answer.unwrap_or(Answer {
        status: 404,
        headers: Vec::new(),
        body: Vec::new(),
        delay: Duration::ZERO,
    });
    tokio::time::sleep(answer.delay).await;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&answer.body).await;
    let _ = stream.shutdown().await;
}
