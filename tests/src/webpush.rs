//! A browser's side of Web Push for the tests: a P-256 key pair and auth
//! secret made here (as a browser makes them, not by the simulator), the
//! `PushSubscription.toJSON()` it would hand the web app, and decryption of
//! what the push service received.

use aws_lc_rs::agreement::{PrivateKey, ECDH_P256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use notify_shared::web_push_protocol::ece;
use serde_json::{json, Value};

use crate::PushSimulator;

pub struct BrowserSubscription {
    pub endpoint: String,
    private_key: PrivateKey,
    auth: [u8; 16],
}

impl BrowserSubscription {
    /// A fresh subscription at `endpoint`.
    pub fn new(endpoint: &str) -> Self {
        let private_key =
            PrivateKey::generate(&ECDH_P256).unwrap_or_else(|err| panic!("P-256 key: {err:?}"));
        let mut auth = [0_u8; 16];
        aws_lc_rs::rand::fill(&mut auth)
            .unwrap_or_else(|err| panic!("random auth secret: {err:?}"));
        Self {
            endpoint: endpoint.to_owned(),
            private_key,
            auth,
        }
    }

    pub fn p256dh(&self) -> String {
        URL_SAFE_NO_PAD.encode(
            self.private_key
                .compute_public_key()
                .unwrap_or_else(|err| panic!("public key: {err:?}")),
        )
    }

    pub fn auth(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }

    /// Base64url of the private scalar (32 bytes, big-endian), for an
    /// independent implementation to decrypt with.
    pub fn private_key_b64(&self) -> String {
        use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
        let scalar: EcPrivateKeyBin = self
            .private_key
            .as_be_bytes()
            .unwrap_or_else(|err| panic!("private scalar: {err:?}"));
        URL_SAFE_NO_PAD.encode(scalar.as_ref())
    }

    /// `PushSubscription.toJSON()`.
    pub fn to_json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {"p256dh": self.p256dh(), "auth": self.auth()},
        })
    }

    /// The plaintext of a recorded push (`body_b64`), as JSON.
    pub fn decrypt(&self, body_b64: &str) -> Value {
        let body = URL_SAFE_NO_PAD
            .decode(body_b64)
            .unwrap_or_else(|err| panic!("body_b64 is base64url: {err:?}"));
        let plain = ece::decrypt(&body, &self.private_key, &self.auth)
            .unwrap_or_else(|err| panic!("decrypts: {err:?}"));
        serde_json::from_slice(&plain).unwrap_or_else(|err| panic!("plaintext is JSON: {err:?}"))
    }
}

impl PushSimulator {
    /// An endpoint on the simulator's Web Push service (TLS listener).
    pub fn web_push_endpoint(&self, id: &str) -> String {
        format!("{}/wp/{id}", self.running.tls_url())
    }

    /// A subscription the simulator makes (and decrypts pushes to), on its
    /// TLS listener, bound to `application_server_key` when given.
    pub async fn web_push_subscription(&self, application_server_key: Option<&str>) -> Value {
        let mut body = json!({"origin": self.running.tls_url()});
        if let Some(key) = application_server_key {
            body["application_server_key"] = json!(key);
        }
        self.admin_call(
            reqwest::Method::POST,
            "/admin/web-push-subscriptions",
            Some(body),
        )
        .await
    }

    /// A subscription that plays one push service's rules (`"apple"`,
    /// `"mozilla"`, `"fcm"` or `"wns"`), bound to `application_server_key`.
    pub async fn web_push_subscription_of(
        &self,
        service: &str,
        application_server_key: &str,
    ) -> Value {
        self.admin_call(
            reqwest::Method::POST,
            "/admin/web-push-subscriptions",
            Some(json!({
                "origin": self.running.tls_url(),
                "service": service,
                "application_server_key": application_server_key,
            })),
        )
        .await
    }

    /// The Web Push requests the simulator accepted for `endpoint`.
    pub async fn web_push_deliveries(&self, endpoint: &str) -> Vec<Value> {
        let path = format!("/deliveries?token={}", url_encoded(endpoint));
        let answer = self.admin_call(reqwest::Method::GET, &path, None).await;
        answer["deliveries"].as_array().cloned().unwrap_or_default()
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
