//! A simulator on port 0 and real HTTP/2 clients for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use push_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use reqwest::{Client, Response, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};

pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

pub struct Harness {
    pub sim: RunningSimulator,
    /// HTTP/2 over TLS (ALPN h2), trusting the simulator's CA.
    pub tls: Client,
    /// h2c with prior knowledge.
    pub h2c: Client,
    pub state_dir: TempDir,
}

/// Removed when the test ends.
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(false).await
    }

    /// `--lean`: checks and counts, records nothing.
    pub async fn start_lean() -> Harness {
        Self::start_with(true).await
    }

    async fn start_with(lean: bool) -> Harness {
        Self::start_config(|config| config.lean = lean).await
    }

    /// A simulator whose configuration `adjust` changed.
    pub async fn start_config(adjust: impl FnOnce(&mut SimulatorConfig)) -> Harness {
        // reqwest is built without a bundled provider: pick aws-lc-rs.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let state_dir =
            std::env::temp_dir().join(format!("push-simulator-test-{}", uuid::Uuid::new_v4()));
        let mut config = SimulatorConfig::ephemeral(&state_dir);
        adjust(&mut config);
        let sim = Simulator::start(config).await.expect("simulator starts");
        let tls = tls_client(sim.ca_pem(), &[b"h2"]).build().unwrap();
        let h2c = Client::builder().http2_prior_knowledge().build().unwrap();
        Harness {
            sim,
            tls,
            h2c,
            state_dir: TempDir(state_dir),
        }
    }

    pub fn state_dir(&self) -> &PathBuf {
        &self.state_dir.0
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.tls_url())
    }

    pub fn h2c_url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.http_url())
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.tls.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.tls
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Value {
        let response = self.tls.delete(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "DELETE {path}");
        response.json().await.unwrap()
    }

    /// Fresh APNs key and service account from `POST /admin/credentials`.
    pub async fn credentials(&self, bundle_id: &str, project_id: &str) -> Value {
        let response = self
            .post(
                "/admin/credentials",
                json!({"bundle_id": bundle_id, "project_id": project_id}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn fault(&self, fault: Value) {
        let response = self.post("/admin/faults", fault).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    pub async fn deliveries(&self, query: &str) -> Vec<Value> {
        let answer = self.get(&format!("/deliveries{query}")).await;
        let deliveries = answer["deliveries"].as_array().unwrap().clone();
        assert_eq!(answer["count"], deliveries.len());
        deliveries
    }

    /// A new HTTP/2 client over TLS: its own connection.
    pub fn new_connection(&self) -> Client {
        tls_client(self.sim.ca_pem(), &[b"h2"]).build().unwrap()
    }

    /// An APNs push with the given extra headers.
    pub async fn apns_push(
        &self,
        client: &Client,
        base: &str,
        token: &str,
        jwt: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut request = client
            .post(format!("{base}/3/device/{token}"))
            .header("authorization", format!("bearer {jwt}"))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// A JWT-bearer grant against the service account's `token_uri`.
    pub async fn access_token(&self, account: &Value) -> String {
        let response = self.token_request(&assertion(account, json!({}))).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(answer["expires_in"], 3600);
        answer["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn token_request(&self, assertion: &str) -> Response {
        self.tls
            .post(self.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
            ))
            .send()
            .await
            .unwrap()
    }

    pub async fn fcm_send(&self, project: &str, bearer: &str, body: Value) -> Response {
        self.tls
            .post(self.url(&format!("/v1/projects/{project}/messages:send")))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

pub fn tls_client(ca_pem: &str, alpn: &[&[u8]]) -> reqwest::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Client::builder().use_preconfigured_tls(config)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An APNs provider token as a client library makes it.
pub fn apns_jwt(credentials: &Value, iat: i64) -> String {
    sign_apns_jwt(
        credentials["private_key"].as_str().unwrap(),
        credentials["key_id"].as_str().unwrap(),
        credentials["team_id"].as_str().unwrap(),
        iat,
    )
}

pub fn sign_apns_jwt(pem: &str, key_id: &str, team_id: &str, iat: i64) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key_id.to_owned());
    let key = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &json!({"iss": team_id, "iat": iat}), &key).unwrap()
}

/// An OAuth JWT-bearer assertion; `overrides` replaces claims.
pub fn assertion(account: &Value, overrides: Value) -> String {
    let now = now();
    let mut claims = json!({
        "iss": account["client_email"],
        "scope": FCM_SCOPE,
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + 3600,
    });
    for (key, value) in overrides.as_object().unwrap() {
        claims[key] = value.clone();
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = account["private_key_id"].as_str().map(str::to_owned);
    let key =
        EncodingKey::from_rsa_pem(account["private_key"].as_str().unwrap().as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

pub fn device_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn fcm_token() -> String {
    format!(
        "{}:APA91b{}",
        uuid::Uuid::new_v4().simple(),
        "x_-Y9".repeat(24)
    )
}

pub const APNS_BODY: &str =
    r#"{"aps":{"alert":{"title":"Hello","body":"World"},"badge":3},"order":"42"}"#;
