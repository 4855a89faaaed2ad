use reqwest::{StatusCode, Version};
use serde_json::{json, Value};

use crate::support::*;

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    (status, body["error"].clone())
}

fn fcm_error_code(error: &Value) -> Option<&str> {
    error["details"]
        .as_array()?
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.firebase.fcm.v1.FcmError")?["errorCode"]
        .as_str()
}

fn violated_field(error: &Value) -> Option<&str> {
    error["details"]
        .as_array()?
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")?["fieldViolations"][0]
        ["field"]
        .as_str()
}

#[tokio::test]
async fn fcm_send_with_an_access_token_from_the_service_account_is_recorded() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let account = &creds["fcm_service_account"];
    assert_eq!(account["type"], "service_account");
    assert_eq!(account["project_id"], "proj-a");
    assert_eq!(account["token_uri"], h.url("/token"));
    let access_token = h.access_token(account).await;
    let token = fcm_token();
    let message = json!({
        "token": token,
        "notification": {"title": "Hello", "body": "World"},
        "data": {"order": "42"},
        "android": {"priority": "HIGH", "ttl": "3600s"},
        "apns": {"headers": {"apns-priority": "10"}, "payload": {"aps": {"badge": 1}}},
    });

    let response = h
        .fcm_send("proj-a", &access_token, json!({"message": message}))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    let answer: Value = response.json().await.unwrap();
    let name = answer["name"].as_str().unwrap();
    assert!(name.starts_with("projects/proj-a/messages/"), "{name}");

    let deliveries = h.deliveries("?provider=fcm&project_id=proj-a").await;
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d["provider"], "fcm");
    assert_eq!(d["project_id"], "proj-a");
    assert_eq!(d["token"], token);
    assert_eq!(d["message"], message);
    assert_eq!(d["name"], name);
    assert_eq!(d["client_email"], account["client_email"]);
    assert_eq!(d["listener"], "tls");

    // The same token keeps working: clients are expected to cache it.
    let response = h
        .fcm_send(
            "proj-a",
            &access_token,
            json!({"message": {"topic": "news", "data": {"a": "b"}}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let stats = h.get("/stats").await;
    assert_eq!(stats["token_requests"], 1);
    assert_eq!(stats["tokens_issued"], 1);
    assert_eq!(stats["accepted_by_provider"]["fcm"], 2);
}

#[tokio::test]
async fn fcm_send_with_an_unknown_or_missing_bearer_is_unauthenticated() {
    let h = Harness::start().await;
    h.credentials("com.example.app", "proj-a").await;
    let body = json!({"message": {"token": fcm_token()}});

    let (status, error) = error_of(
        h.fcm_send("proj-a", "ya29.not-issued-here", body.clone())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], 401);
    assert_eq!(error["status"], "UNAUTHENTICATED");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("invalid authentication credentials"));

    let response = h
        .tls
        .post(h.url("/v1/projects/proj-a/messages:send"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["status"], "UNAUTHENTICATED");
    assert!(h.deliveries("").await.is_empty());
}

#[tokio::test]
async fn fcm_send_to_another_project_is_permission_denied() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    h.credentials("com.example.other", "proj-b").await;
    let access_token = h.access_token(&creds["fcm_service_account"]).await;

    let (status, error) = error_of(
        h.fcm_send(
            "proj-b",
            &access_token,
            json!({"message": {"token": fcm_token()}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["code"], 403);
    assert_eq!(error["status"], "PERMISSION_DENIED");
}

#[tokio::test]
async fn fcm_malformed_messages_are_invalid_argument_naming_the_field() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let access_token = h.access_token(&creds["fcm_service_account"]).await;
    let token = fcm_token();
    let big = "x".repeat(4097);
    let cases = [
        // FCM's real answer for a bad token names no field.
        (json!({"message": {"token": "too-short"}}), None),
        (
            json!({"message": {"token": token, "topic": "news"}}),
            Some("message"),
        ),
        (json!({"message": {"data": {"a": "b"}}}), Some("message")),
        (
            json!({"message": {"token": token, "data": {"count": 3}}}),
            Some("message.data.count"),
        ),
        (
            json!({"message": {"token": token, "notification": {"title": ["x"]}}}),
            Some("message.notification.title"),
        ),
        (
            json!({"message": {"token": token, "android": "high"}}),
            Some("message.android"),
        ),
        (
            json!({"message": {"token": token, "data": {"big": big}}}),
            Some("message"),
        ),
        (json!({"message": {"token": token}, "extra": true}), None),
        (json!({"msg": {}}), None),
        (json!({}), Some("message")),
    ];
    for (body, field) in cases {
        let (status, error) =
            error_of(h.fcm_send("proj-a", &access_token, body.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["code"], 400);
        assert_eq!(error["status"], "INVALID_ARGUMENT");
        assert_eq!(fcm_error_code(&error), Some("INVALID_ARGUMENT"), "{body}");
        assert_eq!(violated_field(&error), field, "{body}: {error}");
    }
    // Not JSON at all: a violation without a field.
    let response = h
        .tls
        .post(h.url("/v1/projects/proj-a/messages:send"))
        .bearer_auth(&access_token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(violated_field(&error), None);
    assert!(h.deliveries("").await.is_empty());
    assert_eq!(
        h.get("/stats").await["rejected_by_reason"]["fcm"]["INVALID_ARGUMENT"],
        11
    );
}

#[tokio::test]
async fn fcm_validate_only_answers_a_fake_name_and_records_nothing() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let access_token = h.access_token(&creds["fcm_service_account"]).await;
    let response = h
        .fcm_send(
            "proj-a",
            &access_token,
            json!({"validate_only": true, "message": {"token": fcm_token()}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["name"], "projects/proj-a/messages/fake_message_id");
    assert!(h.deliveries("").await.is_empty());
}

#[tokio::test]
async fn oauth_assertions_that_google_would_refuse_are_refused() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let other = h.credentials("com.example.other", "proj-b").await;
    let account = &creds["fcm_service_account"];
    // Signed with another account's key but claiming this account.
    let mut forged_account = other["fcm_service_account"].clone();
    forged_account["client_email"] = account["client_email"].clone();
    forged_account["private_key_id"] = account["private_key_id"].clone();
    let now = now();
    let cases = [
        (assertion(&forged_account, json!({})), "invalid_grant"),
        (
            assertion(account, json!({"iss": "nobody@x.iam.gserviceaccount.com"})),
            "invalid_grant",
        ),
        (
            assertion(account, json!({"aud": "https://example.com/token"})),
            "invalid_grant",
        ),
        (
            assertion(account, json!({"exp": now + 7200})),
            "invalid_grant",
        ),
        (
            assertion(account, json!({"iat": now - 7200, "exp": now - 3600})),
            "invalid_grant",
        ),
        (
            assertion(
                account,
                json!({"scope": "https://www.googleapis.com/auth/userinfo.email"}),
            ),
            "invalid_scope",
        ),
        ("garbage".to_owned(), "invalid_grant"),
    ];
    for (assertion, expected) in cases {
        let response = h.token_request(&assertion).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], expected, "{answer}");
        assert!(answer["error_description"].is_string());
    }
    let response = h
        .tls
        .post(h.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"], "unsupported_grant_type");

    let stats = h.get("/stats").await;
    assert_eq!(stats["token_requests"], 8);
    assert_eq!(stats["tokens_issued"], 0);
    assert_eq!(stats["rejected_by_reason"]["oauth"]["invalid_grant"], 6);
}

#[tokio::test]
async fn oauth_accepts_the_audience_of_the_listener_it_was_reached_on() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let account = &creds["fcm_service_account"];
    // token_uri names the TLS listener; a client on h2c signs for that URL.
    let h2c_token_url = h.h2c_url("/token");
    let response = h
        .h2c
        .post(&h2c_token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={}",
            assertion(account, json!({"aud": h2c_token_url}))
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn fcm_answers_a_bad_registration_token_with_only_an_fcm_error_detail() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let access_token = h.access_token(&creds["fcm_service_account"]).await;
    let (status, error) = error_of(
        h.fcm_send(
            "proj-a",
            &access_token,
            json!({"message": {"token": "not-a-token"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error["details"],
        json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}])
    );
    assert_eq!(
        error["message"],
        "The registration token is not a valid FCM registration token"
    );
}

#[tokio::test]
async fn fcm_third_party_auth_error_fault_answers_401_with_its_error_code_then_recovers() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let access_token = h.access_token(&creds["fcm_service_account"]).await;
    h.fault(json!({"fault": "third_party_auth_error", "count": 1}))
        .await;
    let send = || {
        h.fcm_send(
            "proj-a",
            &access_token,
            json!({"message": {"token": fcm_token()}}),
        )
    };
    let (status, error) = error_of(send().await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["status"], "UNAUTHENTICATED");
    assert_eq!(fcm_error_code(&error), Some("THIRD_PARTY_AUTH_ERROR"));
    assert_eq!(send().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn fcm_quota_answers_429_while_spent_per_project_and_counts_the_sends_meanwhile() {
    let h = Harness::start().await;
    let a = h.credentials("com.example.app", "proj-a").await;
    let b = h.credentials("com.example.app", "proj-b").await;
    let token_a = h.access_token(&a["fcm_service_account"]).await;
    let token_b = h.access_token(&b["fcm_service_account"]).await;
    h.fault(json!({"fault": "quota", "requests": 2, "window_secs": 60}))
        .await;
    let send = |project: &'static str, bearer: String| {
        let h = &h;
        async move {
            h.fcm_send(project, &bearer, json!({"message": {"token": fcm_token()}}))
                .await
        }
    };
    assert_eq!(
        send("proj-a", token_a.clone()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send("proj-a", token_a.clone()).await.status(),
        StatusCode::OK
    );
    for _ in 0..3 {
        let response = send("proj-a", token_a.clone()).await;
        assert!(response.headers().get("retry-after").is_none());
        let (status, error) = error_of(response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(fcm_error_code(&error), Some("QUOTA_EXCEEDED"));
    }
    assert_eq!(
        send("proj-b", token_b.clone()).await.status(),
        StatusCode::OK
    );
    let faults = h.get("/admin/faults").await;
    assert_eq!(
        faults["faults"]["quota"]["throttled"],
        json!({"proj-a": 3}),
        "{faults}"
    );
}
