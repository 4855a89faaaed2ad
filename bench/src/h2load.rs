//! `push-bench h2load-args`: the exact requests the engine sends (same
//! payload bytes, a valid provider token and access token), written out for
//! `h2load`, so the ceiling is measured on the same work.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use notify_shared::push::EncodedNotification;
use serde_json::{json, Value};

use crate::scenario;
use crate::simulator::Admin;

pub async fn write(admin: &Admin, out_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    let credentials = admin.credentials(scenario::BUNDLE_ID).await?;
    let text = |field: &str| credentials[field].as_str().unwrap_or_default().to_owned();
    let encoded = EncodedNotification::new(&scenario::notification())?;

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(text("key_id"));
    header.typ = None;
    let key = EncodingKey::from_ec_pem(text("private_key").as_bytes())?;
    let provider_token =
        jsonwebtoken::encode(&header, &json!({"iss": text("team_id"), "iat": now}), &key)?;

    let account = &credentials["fcm_service_account"];
    let field = |name: &str| account[name].as_str().unwrap_or_default().to_owned();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(field("private_key_id"));
    let key = EncodingKey::from_rsa_pem(field("private_key").as_bytes())?;
    let claims = json!({
        "iss": field("client_email"),
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": field("token_uri"),
        "iat": now,
        "exp": now + 3600,
    });
    let assertion = jsonwebtoken::encode(&header, &claims, &key)?;
    let answer: Value = admin
        .client()
        .post(field("token_uri"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let access_token = answer["access_token"].as_str().context("no access_token")?;

    let apns_body = out_dir.join("apns.json");
    let fcm_body = out_dir.join("fcm.json");
    std::fs::write(&apns_body, encoded.apns_payload())?;
    let fcm_token = scenario::fcm_token(0);
    std::fs::write(&fcm_body, encoded.fcm_body(&fcm_token))?;
    println!("APNS_AUTHORIZATION='bearer {provider_token}'");
    println!("APNS_TOPIC='{}'", scenario::BUNDLE_ID);
    println!("APNS_PATH='/3/device/{}'", scenario::apns_token(0));
    println!("APNS_BODY='{}'", apns_body.display());
    println!("FCM_AUTHORIZATION='Bearer {access_token}'");
    println!(
        "FCM_PATH='/v1/projects/{}/messages:send'",
        field("project_id")
    );
    println!("FCM_BODY='{}'", fcm_body.display());
    Ok(())
}
