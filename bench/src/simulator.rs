//! The push simulator the benchmark talks to: a separate process (so it
//! does not share our runtime or our CPU accounting), or in this process on
//! its own runtime, or one already running.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};

pub struct Simulator {
    pub http_url: String,
    pub tls_url: String,
    pub ca_pem: PathBuf,
    /// The simulator's process, when it has its own.
    pub child: Option<Child>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Deserialize)]
struct Announcement {
    http: String,
    tls: String,
    ca_pem: PathBuf,
}

impl Simulator {
    /// Starts `bin` on free loopback ports and reads its announcement line.
    pub fn spawn(bin: &Path, state_dir: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(bin)
            .args([
                "--http-addr",
                "127.0.0.1:0",
                "--tls-addr",
                "127.0.0.1:0",
                "--log-level",
                "warn",
            ])
            .arg("--state-dir")
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it: cargo build --release -p push-simulator)",
                    bin.display()
                )
            })?;
        let Some(stdout) = child.stdout.take() else {
            bail!("simulator stdout not captured");
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let announcement: Announcement = serde_json::from_str(&line)
            .with_context(|| format!("simulator announcement {line:?}"))?;
        Ok(Self {
            http_url: announcement.http,
            tls_url: announcement.tls,
            ca_pem: announcement.ca_pem,
            child: Some(child),
            stop: None,
        })
    }

    /// Runs the simulator on a runtime of its own, in this process.
    pub fn in_process(state_dir: &Path, worker_threads: usize) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let config = push_simulator::SimulatorConfig::ephemeral(state_dir);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(worker_threads)
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(anyhow::Error::from(err)));
                    return;
                }
            };
            runtime.block_on(async move {
                match push_simulator::Simulator::start(config).await {
                    Ok(sim) => {
                        let _ = ready_tx.send(Ok((
                            sim.http_url(),
                            sim.tls_url(),
                            sim.ca_pem_path().to_owned(),
                        )));
                        let _ = stop_rx.await;
                        sim.shutdown().await;
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                    }
                }
            });
        });
        let (http_url, tls_url, ca_pem) = ready_rx.recv()??;
        Ok(Self {
            http_url,
            tls_url,
            ca_pem,
            child: None,
            stop: Some(stop_tx),
        })
    }

    /// One that is already running.
    pub fn external(http_url: String, tls_url: String, ca_pem: PathBuf) -> Self {
        Self {
            http_url,
            tls_url,
            ca_pem,
            child: None,
            stop: None,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The simulator's admin API.
pub struct Admin {
    client: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(http_url: &str) -> anyhow::Result<Self> {
        // reqwest's rustls needs a process-wide crypto provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Ok(Self {
            client: reqwest::Client::builder().build()?,
            base: http_url.trim_end_matches('/').to_owned(),
        })
    }

    /// A fresh APNs key and service account, registered with the simulator.
    pub async fn credentials(&self, bundle_id: &str) -> anyhow::Result<Value> {
        self.post("/admin/credentials", json!({ "bundle_id": bundle_id }))
            .await
    }

    /// Clears recordings, faults and counters.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.post("/admin/reset", json!({})).await.map(drop)
    }

    pub async fn stats(&self) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}/stats", self.base))
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }
}
