use reqwest::{StatusCode, Version};
use serde_json::{json, Value};

use crate::support::*;

async fn reason(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert!(response.headers().contains_key("apns-id"));
    let body: Value = response.json().await.unwrap();
    (status, body["reason"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn apns_push_signed_with_an_issued_key_is_accepted_and_recorded_over_tls_http2() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let token = device_token();
    let apns_id = "123e4567-e89b-12d3-a456-426614174000";

    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &token,
            &jwt,
            &[
                ("apns-topic", "com.example.app"),
                ("apns-push-type", "alert"),
                ("apns-priority", "10"),
                ("apns-expiration", "0"),
                ("apns-collapse-id", "order-42"),
                ("apns-id", apns_id),
            ],
            APNS_BODY,
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.headers()["apns-id"], apns_id);
    assert!(response.bytes().await.unwrap().is_empty());

    let deliveries = h.deliveries("?provider=apns").await;
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d["provider"], "apns");
    assert_eq!(d["token"], token);
    assert_eq!(d["topic"], "com.example.app");
    assert_eq!(d["push_type"], "alert");
    assert_eq!(d["priority"], 10);
    assert_eq!(d["expiration"], 0);
    assert_eq!(d["collapse_id"], "order-42");
    assert_eq!(d["apns_id"], apns_id);
    assert_eq!(d["key_id"], creds["key_id"]);
    assert_eq!(d["team_id"], creds["team_id"]);
    assert_eq!(
        d["payload"],
        serde_json::from_str::<Value>(APNS_BODY).unwrap()
    );
    assert_eq!(d["listener"], "tls");
    assert_eq!(d["http_version"], "HTTP/2.0");
    assert!(d["received_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn apns_push_over_h2c_gets_a_fresh_apns_id_and_records_the_http_listener() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());

    let response = h
        .apns_push(
            &h.h2c,
            &h.sim.http_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    let apns_id = response.headers()["apns-id"].to_str().unwrap().to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&apns_id).unwrap().to_string(),
        apns_id
    );
    let d = &h.deliveries("").await[0];
    assert_eq!(d["apns_id"], apns_id);
    assert_eq!(d["listener"], "http");
    assert_eq!(d["push_type"], Value::Null);
    assert_eq!(d["priority"], Value::Null);
}

#[tokio::test]
async fn apns_push_signed_by_a_key_other_than_its_key_id_is_an_invalid_provider_token() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let other = h.credentials("com.example.app", "proj-b").await;
    // Another key's signature under this key's id and team.
    let forged = sign_apns_jwt(
        other["private_key"].as_str().unwrap(),
        creds["key_id"].as_str().unwrap(),
        creds["team_id"].as_str().unwrap(),
        now(),
    );
    let unknown_team = sign_apns_jwt(
        creds["private_key"].as_str().unwrap(),
        creds["key_id"].as_str().unwrap(),
        "OTHERTEAM1",
        now(),
    );

    for jwt in [forged.as_str(), unknown_team.as_str(), "not.a.jwt"] {
        let response = h
            .apns_push(
                &h.tls,
                &h.sim.tls_url(),
                &device_token(),
                jwt,
                &[("apns-topic", "com.example.app")],
                APNS_BODY,
            )
            .await;
        assert_eq!(
            reason(response).await,
            (StatusCode::FORBIDDEN, "InvalidProviderToken".into())
        );
    }
    assert!(h.deliveries("").await.is_empty());
    let stats = h.get("/stats").await;
    assert_eq!(
        stats["rejected_by_reason"]["apns"]["InvalidProviderToken"],
        3
    );
    assert_eq!(stats["accepted"], 0);
}

#[tokio::test]
async fn apns_push_without_authorization_is_a_missing_provider_token() {
    let h = Harness::start().await;
    let response = h
        .tls
        .post(format!("{}/3/device/{}", h.sim.tls_url(), device_token()))
        .header("apns-topic", "com.example.app")
        .body(APNS_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(response).await,
        (StatusCode::FORBIDDEN, "MissingProviderToken".into())
    );
}

#[tokio::test]
async fn apns_provider_token_issued_over_an_hour_ago_is_expired() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now() - 3601);
    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;
    assert_eq!(
        reason(response).await,
        (StatusCode::FORBIDDEN, "ExpiredProviderToken".into())
    );
}

#[tokio::test]
async fn apns_payload_over_4096_bytes_is_payload_too_large() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let padding = "x".repeat(4096);
    let body = format!(r#"{{"aps":{{"alert":"hi"}},"pad":"{padding}"}}"#);

    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            &body,
        )
        .await;
    assert_eq!(
        reason(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge".into())
    );

    // Exactly 4096 bytes is still fine.
    let exact = format!(r#"{{"aps":{{}},"pad":"{}"}}"#, "x".repeat(4096 - 19));
    assert_eq!(exact.len(), 4096);
    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            &exact,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Device token, headers, body, expected status and reason.
type Case<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    &'a str,
    StatusCode,
    &'a str,
);

#[tokio::test]
async fn apns_requests_breaking_apples_rules_get_apples_reasons() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let good = device_token();
    let topic = ("apns-topic", "com.example.app");
    let long_collapse = "c".repeat(65);
    let cases: Vec<Case> = vec![
        (
            "not-hex-token",
            vec![topic],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "BadDeviceToken",
        ),
        (
            &good,
            vec![],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "MissingTopic",
        ),
        (
            &good,
            vec![("apns-topic", "com.other.app")],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "TopicDisallowed",
        ),
        (
            &good,
            vec![topic, ("apns-push-type", "banner")],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "InvalidPushType",
        ),
        (
            &good,
            vec![topic, ("apns-priority", "7")],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "BadPriority",
        ),
        (
            &good,
            vec![topic, ("apns-collapse-id", &long_collapse)],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "BadCollapseId",
        ),
        (
            &good,
            vec![topic, ("apns-expiration", "tomorrow")],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "BadExpirationDate",
        ),
        (
            &good,
            vec![topic, ("apns-id", "not-a-uuid")],
            APNS_BODY,
            StatusCode::BAD_REQUEST,
            "BadMessageId",
        ),
        (
            &good,
            vec![topic],
            "",
            StatusCode::BAD_REQUEST,
            "PayloadEmpty",
        ),
        (
            &good,
            vec![topic],
            r#"{"alert":"no aps"}"#,
            StatusCode::BAD_REQUEST,
            "BadPayload",
        ),
        (
            &good,
            vec![topic],
            "{not json",
            StatusCode::BAD_REQUEST,
            "BadPayload",
        ),
    ];
    for (token, headers, body, status, expected) in cases {
        let response = h
            .apns_push(&h.tls, &h.sim.tls_url(), token, &jwt, &headers, body)
            .await;
        assert_eq!(
            reason(response).await,
            (status, expected.to_owned()),
            "case {expected}"
        );
    }
    // A GET on the push path is not allowed.
    let response = h
        .tls
        .get(format!("{}/3/device/{good}", h.sim.tls_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(response).await,
        (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed".into())
    );
    assert!(h.deliveries("").await.is_empty());
}

#[tokio::test]
async fn apns_topics_of_special_push_types_derive_from_the_bundle_id() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[
                ("apns-topic", "com.example.app.voip"),
                ("apns-push-type", "voip"),
                ("apns-priority", "5"),
            ],
            APNS_BODY,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let d = &h.deliveries("?topic=com.example.app.voip").await[0];
    assert_eq!(d["push_type"], "voip");
    assert_eq!(d["priority"], 5);
}

#[tokio::test]
async fn many_concurrent_pushes_over_one_http2_connection_are_all_recorded() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let base = h.sim.tls_url();
    let pushes = (0..800).map(|i| {
        let (client, jwt, base) = (h.tls.clone(), jwt.clone(), base.clone());
        async move {
            let body = json!({"aps": {"alert": "hi"}, "n": i}).to_string();
            client
                .post(format!("{base}/3/device/{}", device_token()))
                .header("authorization", format!("bearer {jwt}"))
                .header("apns-topic", "com.example.app")
                .body(body)
                .send()
                .await
                .map(|r| r.status())
        }
    });
    let statuses = futures::future::join_all(pushes).await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(StatusCode::OK))));
    let stats = h.get("/stats").await;
    assert_eq!(stats["accepted"], 800);
    assert_eq!(stats["accepted_by_provider"]["apns"], 800);
    assert_eq!(h.deliveries("").await.len(), 800);
}

#[tokio::test]
async fn a_lean_simulator_checks_every_push_as_always_counts_it_and_records_nothing() {
    let h = Harness::start_lean().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let push = |jwt: String, headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
        let request = h
            .tls
            .post(h.sim.tls_url() + "/3/device/" + &device_token())
            .header("authorization", format!("bearer {jwt}"))
            .body(body);
        headers
            .into_iter()
            .fold(request, |r, (name, value)| r.header(name, value))
            .send()
    };
    let topic = ("apns-topic", "com.example.app");

    // Twice with one token: the second request takes the memoised path.
    for _ in 0..2 {
        let ok = push(jwt.clone(), vec![topic], APNS_BODY.into())
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["apns-id"].len(), 36);
    }
    let echoed = push(
        jwt.clone(),
        vec![topic, ("apns-id", "123e4567-e89b-12d3-a456-426614174000")],
        APNS_BODY.into(),
    )
    .await
    .unwrap();
    assert_eq!(
        echoed.headers()["apns-id"],
        "123e4567-e89b-12d3-a456-426614174000"
    );

    let rejected = [
        (
            push(
                jwt.clone(),
                vec![("apns-topic", "com.other.app")],
                APNS_BODY.into(),
            ),
            "TopicDisallowed",
        ),
        (
            push(
                jwt.clone(),
                vec![topic, ("apns-push-type", "background")],
                APNS_BODY.into(),
            ),
            "InvalidPushType",
        ),
        (
            push(
                jwt.clone(),
                vec![topic, ("apns-priority", "7")],
                APNS_BODY.into(),
            ),
            "BadPriority",
        ),
        // Invalid UTF-8 inside a string serde_json skips.
        (
            push(
                jwt.clone(),
                vec![topic],
                b"{\"aps\":{},\"x\":\"\xff\"}".to_vec(),
            ),
            "BadPayload",
        ),
        (
            push(jwt.clone() + "x", vec![topic], APNS_BODY.into()),
            "InvalidProviderToken",
        ),
        (
            push(
                apns_jwt(&creds, now() - 7200),
                vec![topic],
                APNS_BODY.into(),
            ),
            "ExpiredProviderToken",
        ),
    ];
    for (response, expected) in rejected {
        let (_, reason) = reason(response.await.unwrap()).await;
        assert_eq!(reason, expected);
    }
    // A token that differs only in the scheme's case is the same token.
    let response = h
        .tls
        .post(h.sim.tls_url() + "/3/device/" + &device_token())
        .header("authorization", format!("BEARER {jwt}"))
        .header("apns-topic", "com.example.app")
        .body(APNS_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let stats = h.get("/stats").await;
    assert_eq!(stats["accepted"], 4);
    assert_eq!(stats["rejected"], 6);
    assert!(h.deliveries("").await.is_empty());
}

/// `POST /admin/credentials` with extra fields (`team_id`, `environment`,
/// `related_key_id`).
async fn credentials_with(h: &Harness, extra: Value) -> Value {
    let mut body = json!({"bundle_id": "com.example.app"});
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    let response = h.post("/admin/credentials", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// An alert push on `client`'s connection, at the production path.
async fn push_on(h: &Harness, client: &reqwest::Client, jwt: &str) -> (StatusCode, String) {
    let response = h
        .apns_push(
            client,
            &h.sim.tls_url(),
            &device_token(),
            jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;
    let status = response.status();
    if status == StatusCode::OK {
        return (status, String::new());
    }
    reason(response).await
}

#[tokio::test]
async fn second_team_on_one_connection_is_refused_as_an_invalid_provider_token() {
    let h = Harness::start().await;
    let team_a = h.credentials("com.example.app", "proj-a").await;
    let team_b = h.credentials("com.example.app", "proj-b").await;
    let connection = h.new_connection();
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&team_a, now())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&team_b, now())).await,
        (StatusCode::FORBIDDEN, "InvalidProviderToken".into())
    );
    // Team B on a connection of its own is fine.
    let own = h.new_connection();
    assert_eq!(
        push_on(&h, &own, &apns_jwt(&team_b, now())).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unrelated_key_of_the_same_team_on_one_connection_is_refused_and_a_related_one_is_not() {
    let h = Harness::start().await;
    let first = h.credentials("com.example.app", "proj-a").await;
    let team = json!(first["team_id"]);
    let unrelated = credentials_with(&h, json!({"team_id": team})).await;
    let related = credentials_with(
        &h,
        json!({"team_id": team, "related_key_id": first["key_id"]}),
    )
    .await;
    let connection = h.new_connection();
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&first, now())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&unrelated, now())).await,
        (StatusCode::FORBIDDEN, "UnrelatedKeyIdInToken".into())
    );
    // The related key's token is a new token: allowed once the window has
    // passed, which a fresh connection stands in for here.
    let shared = h.new_connection();
    assert_eq!(
        push_on(&h, &shared, &apns_jwt(&related, now())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        push_on(&h, &shared, &apns_jwt(&unrelated, now())).await,
        (StatusCode::FORBIDDEN, "UnrelatedKeyIdInToken".into())
    );
}

#[tokio::test]
async fn second_new_token_within_20_minutes_on_one_connection_is_too_many_updates_and_the_connection_stays_unusable(
) {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let first = apns_jwt(&creds, now());
    let second = apns_jwt(&creds, now() - 1);
    let connection = h.new_connection();
    assert_eq!(push_on(&h, &connection, &first).await.0, StatusCode::OK);
    assert_eq!(
        push_on(&h, &connection, &second).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyProviderTokenUpdates".into()
        )
    );
    assert_eq!(
        push_on(&h, &connection, &first).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyProviderTokenUpdates".into()
        ),
        "the connection is unusable, whatever the token"
    );
    assert_eq!(
        push_on(&h, &h.new_connection(), &second).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_new_token_after_the_update_window_is_taken_on_the_same_connection() {
    let h = Harness::start_config(|config| {
        config.apns_token_update_window = std::time::Duration::from_millis(300);
    })
    .await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let connection = h.new_connection();
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&creds, now())).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        push_on(&h, &connection, &apns_jwt(&creds, now() - 1))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_key_restricted_to_production_is_refused_by_the_sandbox_listener() {
    let h = Harness::start().await;
    let production = credentials_with(&h, json!({"environment": "production"})).await;
    let jwt = apns_jwt(&production, now());
    let sandbox = h
        .apns_push(
            &h.new_connection(),
            &format!("{}/sandbox", h.sim.tls_url()),
            &device_token(),
            &jwt,
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;
    assert_eq!(
        reason(sandbox).await,
        (StatusCode::FORBIDDEN, "BadEnvironmentKeyIdInToken".into())
    );
    assert_eq!(
        push_on(&h, &h.new_connection(), &jwt).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn voip_payloads_may_be_5120_bytes_and_others_4096() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let jwt = apns_jwt(&creds, now());
    let body = |size: usize| {
        let frame = r#"{"aps":{},"pad":""}"#;
        format!(
            r#"{{"aps":{{}},"pad":"{}"}}"#,
            "x".repeat(size - frame.len())
        )
    };
    let voip = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[
                ("apns-topic", "com.example.app.voip"),
                ("apns-push-type", "voip"),
            ],
            &body(5120),
        )
        .await;
    assert_eq!(voip.status(), StatusCode::OK);
    let alert = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &device_token(),
            &jwt,
            &[
                ("apns-topic", "com.example.app"),
                ("apns-push-type", "alert"),
            ],
            &body(4097),
        )
        .await;
    assert_eq!(
        reason(alert).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge".into())
    );
}

#[tokio::test]
async fn an_expired_device_token_fault_is_answered_410_expired_token() {
    let h = Harness::start().await;
    let creds = h.credentials("com.example.app", "proj-a").await;
    let token = device_token();
    h.fault(json!({"fault": "expired_token", "token": token}))
        .await;
    let response = h
        .apns_push(
            &h.tls,
            &h.sim.tls_url(),
            &token,
            &apns_jwt(&creds, now()),
            &[("apns-topic", "com.example.app")],
            APNS_BODY,
        )
        .await;
    assert_eq!(
        reason(response).await,
        (StatusCode::GONE, "ExpiredToken".into())
    );
}
