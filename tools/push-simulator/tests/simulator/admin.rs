use reqwest::{StatusCode, Version};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn health_answers_ok_and_the_ca_is_written_to_the_state_dir() {
    let h = Harness::start().await;
    assert_eq!(h.get("/health").await, json!({"status": "ok"}));
    let written = std::fs::read_to_string(h.state_dir().join("ca.pem")).unwrap();
    assert_eq!(written, h.sim.ca_pem());
    assert_eq!(h.sim.ca_pem_path(), h.state_dir().join("ca.pem"));
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test]
async fn credentials_come_in_the_shape_notify_tenants_take() {
    let h = Harness::start().await;
    let creds = h.credentials("com.acme.app", "").await;
    let key_id = creds["key_id"].as_str().unwrap();
    let team_id = creds["team_id"].as_str().unwrap();
    for id in [key_id, team_id] {
        assert_eq!(id.len(), 10);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
    assert_eq!(creds["bundle_id"], "com.acme.app");
    assert!(creds["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let account = &creds["fcm_service_account"];
    for field in [
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "token_uri",
        "auth_uri",
    ] {
        assert!(
            account[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    let listed = h.get("/admin/credentials").await;
    assert_eq!(listed["apns_keys"][0]["key_id"], key_id);
    assert_eq!(
        listed["apns_keys"][0]["bundle_ids"],
        json!(["com.acme.app"])
    );
    assert!(listed.to_string().find("PRIVATE KEY").is_none());
}

#[tokio::test]
async fn externally_made_credentials_can_be_registered_and_used() {
    let h = Harness::start().await;
    // Keys made elsewhere (here: by another call), registered under new names.
    let made = h.credentials("com.example.app", "proj-x").await;
    let response = h
        .post(
            "/admin/apns-keys",
            json!({"team_id": "TEAM000001", "key_id": "KEY0000001",
                   "private_key": made["private_key"], "bundle_ids": ["com.partner.app"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut account = made["fcm_service_account"].clone();
    account["client_email"] = json!("sender@partner-project.iam.gserviceaccount.com");
    account["project_id"] = json!("partner-project");
    let response = h.post("/admin/fcm-accounts", account.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let jwt = sign_apns_jwt(
        made["private_key"].as_str().unwrap(),
        "KEY0000001",
        "TEAM000001",
        now(),
    );
    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.partner.app")],
            APNS_BODY,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let access_token = h.access_token(&account).await;
    let response = h
        .fcm_send(
            "partner-project",
            &access_token,
            json!({"message": {"topic": "all"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let response = h
        .post(
            "/admin/apns-keys",
            json!({"team_id": "T", "key_id": "K", "private_key": "nope"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = h
        .post(
            "/admin/fcm-accounts",
            json!({"project_id": "p", "client_email": "a@b", "private_key": made["private_key"]}),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "an EC key is no service account key"
    );
}

#[tokio::test]
async fn deliveries_can_be_filtered_limited_and_cleared() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let access_token = h.access_token(&creds["fcm_service_account"]).await;
    let (first, second) = (device_token(), device_token());
    for (token, n) in [(&first, 1), (&second, 2), (&first, 3)] {
        let body = json!({"aps": {}, "n": n}).to_string();
        let response = h
            .apns_push(
                &h.tls,
                &h.sim.tls_url(),
                token,
                &jwt,
                &[("apns-topic", "com.example.app")],
                &body,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let fcm = fcm_token();
    let response = h
        .fcm_send("proj-a", &access_token, json!({"message": {"token": fcm}}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(h.deliveries("").await.len(), 4);
    assert_eq!(h.deliveries("?provider=apns").await.len(), 3);
    assert_eq!(h.deliveries("?provider=fcm").await.len(), 1);
    assert_eq!(h.deliveries(&format!("?token={fcm}")).await.len(), 1);
    assert_eq!(h.deliveries("?project_id=proj-a").await.len(), 1);
    assert_eq!(h.deliveries("?topic=com.example.app").await.len(), 3);
    let of_first = h.deliveries(&format!("?token={first}")).await;
    let numbers: Vec<&Value> = of_first.iter().map(|d| &d["payload"]["n"]).collect();
    assert_eq!(numbers, [1, 3], "newest last");
    let newest = h.deliveries("?provider=apns&limit=2").await;
    let numbers: Vec<&Value> = newest.iter().map(|d| &d["payload"]["n"]).collect();
    assert_eq!(numbers, [2, 3], "limit keeps the newest");

    assert_eq!(h.delete("/deliveries").await["cleared"], 4);
    assert!(h.deliveries("").await.is_empty());
}

#[tokio::test]
async fn reset_clears_deliveries_faults_and_stats_but_keeps_credentials() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let push = || async {
        h.apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await
        .status()
    };
    assert_eq!(push().await, StatusCode::OK);
    h.fault(json!({"fault": "status", "status": 500})).await;
    assert_eq!(push().await, StatusCode::INTERNAL_SERVER_ERROR);

    let response = h.post("/admin/reset", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);

    assert!(h.deliveries("").await.is_empty());
    let stats = h.get("/stats").await;
    assert_eq!(stats["accepted"], 0);
    assert_eq!(stats["rejected"], 0);
    assert_eq!(
        push().await,
        StatusCode::OK,
        "credentials survive, the fault does not"
    );
}

#[tokio::test]
async fn http1_clients_are_served_on_both_listeners() {
    let h = Harness::start().await;
    let tls_http1 = tls_client(h.sim.ca_pem(), &[b"http/1.1"])
        .http1_only()
        .build()
        .unwrap();
    let response = tls_http1.get(h.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_11);

    let plain = reqwest::Client::builder().http1_only().build().unwrap();
    let creds: Value = plain
        .post(h.h2c_url("/admin/credentials"))
        .json(&json!({"project_id": "proj-h1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        creds["fcm_service_account"]["token_uri"],
        h.h2c_url("/token")
    );
    let jwt = apns_jwt(&creds, now());
    let response = h
        .apns_push(
            &plain,
            &h.sim.http_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(h.deliveries("").await[0]["http_version"], "HTTP/1.1");
}

#[tokio::test]
async fn shutdown_stops_the_listeners() {
    let h = Harness::start().await;
    let addr = h.sim.http_addr();
    let client = reqwest::Client::new();
    assert!(client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .is_ok());
    let Harness {
        sim,
        state_dir: _dir,
        ..
    } = h;
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
