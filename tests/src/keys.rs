//! Provider credentials made fresh for a test: a real P-256 `.p8` key and a
//! real RSA service-account key, so the service's validation is exercised.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
};
use base64::Engine as _;
use serde_json::{json, Value};

fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The contents of an APNs `.p8` file.
pub fn apns_p8() -> String {
    ec_key(&ECDSA_P256_SHA256_FIXED_SIGNING)
}

/// A valid EC key on the wrong curve: APNs needs P-256.
pub fn p384_key() -> String {
    ec_key(&ECDSA_P384_SHA384_FIXED_SIGNING)
}

fn ec_key(algorithm: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> String {
    let pair = EcdsaKeyPair::generate(algorithm).unwrap_or_else(|_| panic!("EC key generation"));
    let pkcs8 = pair
        .to_pkcs8v1()
        .unwrap_or_else(|_| panic!("EC key encoding"));
    pem("PRIVATE KEY", pkcs8.as_ref())
}

pub fn rsa_pem() -> String {
    let pair =
        RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|_| panic!("RSA key generation"));
    let der: aws_lc_rs::encoding::Pkcs8V1Der =
        pair.as_der().unwrap_or_else(|_| panic!("RSA key encoding"));
    pem("PRIVATE KEY", der.as_ref())
}

/// A Google service-account JSON as the Firebase console hands it out.
pub fn service_account(project_id: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": rsa_pem(),
        "client_email": format!("firebase-adminsdk-test@{project_id}.iam.gserviceaccount.com"),
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
}

/// A complete `POST /tenants` body with APNs credentials.
pub fn tenant_with_apns(org_id: &str) -> Value {
    json!({
        "org_id": org_id,
        "bundle_id": "com.acme.app",
        "team_id": "ABCDE12345",
        "key_id": "KEY1234567",
        "private_key": apns_p8(),
        "use_sandbox": true,
    })
}
