use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// A simulator with one tenant's credentials and a ready FCM access token.
struct Ready {
    h: Harness,
    jwt: String,
    access_token: String,
}

impl Ready {
    async fn start() -> Ready {
        let h = Harness::start().await;
        let creds = h.credentials("com.example.app", "proj-a").await;
        let jwt = apns_jwt(&creds, now());
        let access_token = h.access_token(&creds["fcm_service_account"]).await;
        Ready {
            h,
            jwt,
            access_token,
        }
    }

    async fn apns(&self, token: &str) -> reqwest::Response {
        self.h
            .apns_push(
                &self.h.tls,
                &self.h.sim.tls_url(),
                token,
                &self.jwt,
                &[("apns-topic", "com.example.app")],
                APNS_BODY,
            )
            .await
    }

    async fn fcm(&self, token: &str) -> reqwest::Response {
        self.h
            .fcm_send(
                "proj-a",
                &self.access_token,
                json!({"message": {"token": token}}),
            )
            .await
    }
}

fn fcm_error_code(body: &Value) -> &str {
    body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.firebase.fcm.v1.FcmError")
        .unwrap()["errorCode"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn unregistered_fault_answers_apns_410_with_a_timestamp_and_fcm_404_unregistered() {
    let r = Ready::start().await;
    let (apns_token, fcm_token) = (device_token(), fcm_token());
    r.h.fault(json!({"token": apns_token, "fault": "unregistered"}))
        .await;
    r.h.fault(json!({"token": fcm_token, "fault": "unregistered"}))
        .await;

    let response = r.apns(&apns_token.to_uppercase()).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], "Unregistered");
    let timestamp = body["timestamp"].as_i64().unwrap();
    assert!(
        (timestamp / 1000 - now()).abs() < 60,
        "timestamp is in milliseconds"
    );

    let response = r.fcm(&fcm_token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    assert_eq!(fcm_error_code(&body), "UNREGISTERED");

    // Other devices are unaffected, and failures are not recorded.
    assert_eq!(r.apns(&device_token()).await.status(), StatusCode::OK);
    assert_eq!(r.h.deliveries("").await.len(), 1);
}

#[tokio::test]
async fn bad_device_token_fault_answers_apns_bad_device_token_and_fcm_invalid_argument() {
    let r = Ready::start().await;
    let (apns_token, fcm_token) = (device_token(), fcm_token());
    r.h.fault(json!({"token": apns_token, "fault": "bad_device_token"}))
        .await;
    r.h.fault(json!({"token": fcm_token, "fault": "bad_device_token"}))
        .await;

    let response = r.apns(&apns_token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["reason"],
        "BadDeviceToken"
    );

    let response = r.fcm(&fcm_token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(fcm_error_code(&body), "INVALID_ARGUMENT");
    // FCM's real answer for a bad token has no field violation.
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn status_fault_fails_the_next_n_requests_with_retry_after_then_recovers() {
    let r = Ready::start().await;
    r.h.fault(json!({"fault": "status", "status": 429, "count": 2, "retry_after_secs": 30, "provider": "apns"}))
        .await;

    // FCM is outside this fault's scope.
    assert_eq!(r.fcm(&fcm_token()).await.status(), StatusCode::OK);
    for _ in 0..2 {
        let response = r.apns(&device_token()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "30");
        assert!(response.headers().contains_key("apns-id"));
        assert_eq!(
            response.json::<Value>().await.unwrap()["reason"],
            "TooManyRequests"
        );
    }
    assert_eq!(r.apns(&device_token()).await.status(), StatusCode::OK);

    r.h.fault(json!({"fault": "status", "status": 503, "count": 1}))
        .await;
    let response = r.apns(&device_token()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!response.headers().contains_key("retry-after"));
    assert_eq!(
        response.json::<Value>().await.unwrap()["reason"],
        "ServiceUnavailable"
    );

    let stats = r.h.get("/stats").await;
    assert_eq!(stats["rejected_by_reason"]["apns"]["TooManyRequests"], 2);
    assert_eq!(stats["rejected_by_reason"]["apns"]["ServiceUnavailable"], 1);
    assert_eq!(r.h.deliveries("").await.len(), 2);
}

#[tokio::test]
async fn fcm_status_faults_carry_googles_status_and_fcm_error_code() {
    let r = Ready::start().await;
    for (status, google_status, error_code) in [
        (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
        (500, "INTERNAL", "INTERNAL"),
        (503, "UNAVAILABLE", "UNAVAILABLE"),
    ] {
        r.h.fault(json!({"fault": "status", "status": status, "count": 1, "provider": "fcm", "retry_after_secs": 5}))
            .await;
        let response = r.fcm(&fcm_token()).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["retry-after"], "5");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], status);
        assert_eq!(body["error"]["status"], google_status);
        assert_eq!(fcm_error_code(&body), error_code);
    }
    assert_eq!(r.fcm(&fcm_token()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unsupported_fault_statuses_are_refused() {
    let h = Harness::start().await;
    let response = h
        .post("/admin/faults", json!({"fault": "status", "status": 418}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = h.post("/admin/faults", json!({"fault": "explode"})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delay_fault_slows_the_next_responses_only() {
    let r = Ready::start().await;
    r.h.fault(json!({"fault": "delay", "millis": 300, "count": 1}))
        .await;

    let started = Instant::now();
    assert_eq!(r.apns(&device_token()).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let started = Instant::now();
    assert_eq!(r.apns(&device_token()).await.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn deleting_faults_clears_them_all() {
    let r = Ready::start().await;
    let token = device_token();
    r.h.fault(json!({"token": token, "fault": "unregistered"}))
        .await;
    r.h.fault(json!({"fault": "status", "status": 500})).await;
    let faults = r.h.get("/admin/faults").await;
    assert_eq!(faults["faults"]["statuses"][0]["status"], 500);

    r.h.delete("/admin/faults").await;
    assert_eq!(r.apns(&token).await.status(), StatusCode::OK);
    assert_eq!(r.fcm(&fcm_token()).await.status(), StatusCode::OK);
}
