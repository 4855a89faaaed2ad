//! Faults through the local stack: the AWS emulator stops answering in the
//! middle of requests (frozen with SIGSTOP, so its state survives), then
//! comes back. Every answer meanwhile is a 503 with a clear `detail` and
//! `Retry-After` (never a 500, never a timeout), the service recovers by
//! itself, and nothing is left half-written: every tenant that exists has
//! the secret its item says it has.
//!
//! `scripts/test` runs it alone, after the other stack tests: it stops the
//! emulator everyone shares. `NOTIFY_MOTO_PID` names the emulator.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::Stack;

fn signal(pid: &str, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_owned()])
        .status()
        .unwrap_or_else(|err| panic!("kill -{signal} {pid}: {err}"));
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Resumes the emulator even when an assertion fails on the way.
struct Frozen(String);

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(&self.0, "CONT");
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value, Duration) {
    let started = Instant::now();
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("the stack did not answer: {err}"));
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, retry_after, body, started.elapsed())
}

#[tokio::test]
#[ignore = "needs the local stack, alone: run through scripts/test"]
async fn faults_the_service_answers_503_while_aws_hangs_and_recovers_with_nothing_half_written() {
    let stack = Stack::from_env();
    let moto = std::env::var("NOTIFY_MOTO_PID")
        .unwrap_or_else(|_| panic!("NOTIFY_MOTO_PID is not set: run through scripts/test"));
    let (status, who) = stack
        .send(stack.as_user(Method::GET, "/auth/validate"))
        .await;
    assert_eq!(status, 200, "{who}");
    let org = who["orgs"][0].as_str().unwrap_or_default().to_owned();
    let (_, mut credentials) = stack
        .send(
            stack
                .http
                .post(format!("{}/admin/credentials", stack.simulator))
                .json(&json!({"bundle_id": "com.example.faults"})),
        )
        .await;
    credentials["org_id"] = json!(org);
    let (status, tenant) = stack
        .send(stack.as_user(Method::POST, "/tenants").json(&credentials))
        .await;
    assert_eq!(status, 200, "{tenant}");
    let tenant_id = tenant["tenant_id"].as_str().unwrap_or_default().to_owned();

    // One request per function, all in flight while the emulator hangs.
    let frozen = Frozen(moto.clone());
    signal(&moto, "STOP");
    let requests = vec![
        stack.as_user(Method::GET, &format!("/tenants/{tenant_id}")),
        stack.as_user(Method::GET, "/tenants"),
        stack.as_user(Method::POST, "/tenants").json(&credentials),
        stack.as_user(Method::GET, &format!("/tenants/{tenant_id}/api-keys")),
        stack
            .as_user(Method::POST, &format!("/tenants/{tenant_id}/devices"))
            .json(&json!({"user_id": "u", "token": "ab".repeat(32), "platform": "ios"})),
        stack
            .as_user(Method::POST, &format!("/tenants/{tenant_id}/notify"))
            .json(&json!({"user_id": "u", "alert": {"title": "during the outage"}})),
    ];
    let answers = futures::future::join_all(requests.into_iter().map(answer)).await;
    drop(frozen);
    for (status, retry_after, body, took) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["code"], "service_unavailable", "{body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("retry later") && detail.contains("request id"),
            "{detail}"
        );
        assert!(retry_after.is_some(), "no Retry-After: {body}");
        // Well within the API functions' 10 s timeout.
        assert!(*took < Duration::from_secs(10), "answered after {took:?}");
    }

    // The service recovers by itself.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = stack
            .send(stack.as_user(Method::GET, &format!("/tenants/{tenant_id}")))
            .await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not recovered: {status} {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Nothing half-written: every tenant of the org that says it has
    // provider credentials has its secret.
    let (status, tenants) = stack
        .send(stack.as_user(Method::GET, &format!("/tenants?org_id={org}")))
        .await;
    assert_eq!(status, 200, "{tenants}");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let prefix = std::env::var("NOTIFY_TENANT_SECRET_PREFIX").unwrap_or_default();
    for tenant in tenants["tenants"].as_array().into_iter().flatten() {
        if tenant["apns_configured"] != json!(true) && tenant["fcm_configured"] != json!(true) {
            continue;
        }
        let id = tenant["tenant_id"].as_str().unwrap_or_default();
        let secret = secrets
            .get_secret_value()
            .secret_id(format!("{prefix}{id}"))
            .send()
            .await;
        assert!(secret.is_ok(), "tenant {id} has no secret after the outage");
    }
}
