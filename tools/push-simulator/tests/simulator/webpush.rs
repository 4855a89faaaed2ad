//! The Web Push service: VAPID checked as push services check it, and
//! requests recorded (and decrypted for subscriptions it made).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

pub struct Vapid(EcdsaKeyPair);

impl Vapid {
    pub fn new() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        Vapid(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap())
    }

    pub fn public(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.public_key().as_ref())
    }

    /// `vapid t=..., k=...` with these claims, signed by `self`, naming `k`.
    pub fn header(&self, claims: Value, k: &str) -> String {
        let head = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{head}.{body}");
        let signature = self
            .0
            .sign(&SystemRandom::new(), signed.as_bytes())
            .unwrap();
        format!(
            "vapid t={signed}.{}, k={k}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn push(h: &Harness, path: &str, authorization: Option<String>) -> StatusCode {
    let mut request = h
        .tls
        .post(h.url(path))
        .header("ttl", "60")
        .header("content-encoding", "aes128gcm")
        .body(vec![0_u8; 120]);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn vapid_is_checked_as_push_services_check_it() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let other = Vapid::new();
    let aud = h.sim.tls_url();
    let good = json!({"aud": aud, "exp": now() + 3600, "sub": "mailto:ops@example.com"});
    let cases = [
        (None, StatusCode::UNAUTHORIZED),
        (Some("Bearer x".to_owned()), StatusCode::UNAUTHORIZED),
        // Signed by one key, naming another.
        (Some(vapid.header(good.clone(), &other.public())), StatusCode::UNAUTHORIZED),
        (
            Some(vapid.header(json!({"aud": aud, "exp": now() - 10, "sub": "mailto:a@b.co"}), &vapid.public())),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(vapid.header(json!({"aud": aud, "exp": now() + 25 * 3600, "sub": "mailto:a@b.co"}), &vapid.public())),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(vapid.header(json!({"aud": "https://elsewhere.example", "exp": now() + 60, "sub": "mailto:a@b.co"}), &vapid.public())),
            StatusCode::FORBIDDEN,
        ),
        (Some(vapid.header(good.clone(), &vapid.public())), StatusCode::CREATED),
    ];
    for (authorization, expected) in cases {
        let shown = format!("{authorization:?}");
        assert_eq!(
            push(&h, "/wp/any", authorization).await,
            expected,
            "{shown}"
        );
    }
    let recorded = h.get("/deliveries?provider=webpush").await;
    assert_eq!(recorded["count"], 1, "{recorded}");
    let delivery = &recorded["deliveries"][0];
    assert_eq!(delivery["token"], json!(h.url("/wp/any")));
    assert_eq!(
        delivery["body_b64"],
        json!(URL_SAFE_NO_PAD.encode([0_u8; 120]))
    );
    assert_eq!(delivery["headers"]["ttl"], "60");
    assert_eq!(delivery["plaintext"], Value::Null);
}

#[tokio::test]
async fn a_subscription_bound_to_one_key_refuses_another_and_gone_ones_answer_410() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let other = Vapid::new();
    let made = h
        .post(
            "/admin/web-push-subscriptions",
            json!({"origin": h.sim.tls_url(), "application_server_key": vapid.public()}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let subscription: Value = made.json().await.unwrap();
    let endpoint = subscription["endpoint"].as_str().unwrap().to_owned();
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(subscription["keys"]["p256dh"].as_str().unwrap())
            .unwrap()
            .len(),
        65
    );
    let path = endpoint.trim_start_matches(&h.sim.tls_url()).to_owned();
    let claims = json!({"aud": h.sim.tls_url(), "exp": now() + 600, "sub": "https://example.com"});
    assert_eq!(
        push(
            &h,
            &path,
            Some(other.header(claims.clone(), &other.public()))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        push(
            &h,
            &path,
            Some(vapid.header(claims.clone(), &vapid.public()))
        )
        .await,
        StatusCode::CREATED
    );
    assert_eq!(
        push(
            &h,
            "/wp/gone-1",
            Some(vapid.header(claims, &vapid.public()))
        )
        .await,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn a_verified_token_is_still_checked_per_request_and_lean_mode_counts_without_recording() {
    let h = Harness::start_lean().await;
    let vapid = Vapid::new();
    let claims = json!({"aud": h.sim.tls_url(), "exp": now() + 600, "sub": "mailto:a@b.co"});
    let header = vapid.header(claims, &vapid.public());
    for _ in 0..2 {
        assert_eq!(
            push(&h, "/wp/reused", Some(header.clone())).await,
            StatusCode::CREATED
        );
    }
    // The same bytes, verified above, sent to another origin: its `aud`
    // is checked again and refused.
    let elsewhere = h
        .h2c
        .post(h.h2c_url("/wp/reused"))
        .header("ttl", "60")
        .header("content-encoding", "aes128gcm")
        .header("authorization", header)
        .body(vec![0_u8; 120])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
    let stats = h.get("/stats").await;
    assert_eq!(stats["accepted"], 2, "{stats}");
    assert_eq!(stats["accepted_by_provider"]["webpush"], 2, "{stats}");
    assert_eq!(
        stats["rejected_by_reason"]["webpush"]["Forbidden"], 1,
        "{stats}"
    );
    let recorded = h.get("/deliveries?provider=webpush").await;
    assert_eq!(recorded["count"], 0, "lean mode keeps nothing: {recorded}");
}
