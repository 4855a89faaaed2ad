//! Subscriptions that play one push service's rules (`"service"`), and the
//! listener that offers no HTTP/2.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::*;
use crate::webpush::Vapid;

/// A subscription made with `request`; its endpoint and the key it is bound to.
async fn subscribe(h: &Harness, vapid: &Vapid, request: Value) -> String {
    let mut request = request;
    request["application_server_key"] = json!(vapid.public());
    let made = h.post("/admin/web-push-subscriptions", request).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let subscription: Value = made.json().await.unwrap();
    subscription["endpoint"].as_str().unwrap().to_owned()
}

/// A push to `endpoint` signed by `vapid`, with `topic` and a body of `len` bytes.
async fn push(
    client: &Client,
    endpoint: &str,
    vapid: &Vapid,
    topic: Option<&str>,
    len: usize,
) -> reqwest::Response {
    let origin = endpoint.split("/w").next().unwrap();
    let claims = json!({"aud": origin, "exp": now() + 600, "sub": "mailto:ops@example.com"});
    let mut request = client
        .post(endpoint)
        .header("authorization", vapid.header(claims, &vapid.public()))
        .header("ttl", "60")
        .header("content-encoding", "aes128gcm")
        .body(vec![0_u8; len]);
    if let Some(topic) = topic {
        request = request.header("topic", topic);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn apple_refuses_topics_it_cannot_base64_decode_with_bad_web_push_topic() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let apple = subscribe(&h, &vapid, json!({"service": "apple"})).await;
    let mozilla = subscribe(&h, &vapid, json!({"service": "mozilla"})).await;
    for (topic, at_apple) in [
        ("spike", StatusCode::BAD_REQUEST),
        ("mail-batch-10", StatusCode::BAD_REQUEST),
        ("mail-batch-8", StatusCode::CREATED),
        ("a-topic-of-thirty-three-chars-xyz", StatusCode::BAD_REQUEST),
    ] {
        let response = push(&h.tls, &apple, &vapid, Some(topic), 100).await;
        assert_eq!(response.status(), at_apple, "{topic}");
        if at_apple == StatusCode::BAD_REQUEST {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body, json!({"reason": "BadWebPushTopic"}));
        }
    }
    // autopush takes any RFC 8030 topic.
    let response = push(&h.tls, &mozilla, &vapid, Some("spike"), 100).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_key_other_than_the_subscriptions_is_vapid_pk_hash_mismatch_at_apple_and_403_at_fcm() {
    let h = Harness::start().await;
    let (bound, other) = (Vapid::new(), Vapid::new());
    let apple = subscribe(&h, &bound, json!({"service": "apple"})).await;
    let fcm = subscribe(&h, &bound, json!({"service": "fcm"})).await;

    let response = push(&h.tls, &apple, &other, None, 100).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"reason": "VapidPkHashMismatch"}));

    let response = push(&h.tls, &fcm, &other, None, 100).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("do not correspond to the credentials used to create the subscriptions"));

    for endpoint in [&apple, &fcm] {
        let response = push(&h.tls, endpoint, &bound, None, 100).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{endpoint}");
    }
}

#[tokio::test]
async fn bridged_firefox_subscriptions_refuse_bodies_over_4096_bytes_of_base64() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let bridged = subscribe(&h, &vapid, json!({"service": "mozilla", "bridged": true})).await;
    let desktop = subscribe(&h, &vapid, json!({"service": "mozilla"})).await;
    assert!(bridged.contains("/wpush/v2/"), "{bridged}");
    let status = |response: reqwest::Response| response.status();
    assert_eq!(
        status(push(&h.tls, &bridged, &vapid, None, 3072).await),
        StatusCode::CREATED
    );
    assert_eq!(
        status(push(&h.tls, &bridged, &vapid, None, 3073).await),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        status(push(&h.tls, &desktop, &vapid, None, 4096).await),
        StatusCode::CREATED
    );
    let refused = h
        .post(
            "/admin/web-push-subscriptions",
            json!({"service": "apple", "bridged": true}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wns_answers_406_when_throttled_where_the_others_answer_429() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let wns = subscribe(&h, &vapid, json!({"service": "wns", "id": "busy-edge"})).await;
    let apple = subscribe(&h, &vapid, json!({"service": "apple", "id": "busy-safari"})).await;
    let response = push(&h.tls, &wns, &vapid, None, 100).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    assert!(response.headers().get("retry-after").is_none());
    let response = push(&h.tls, &apple, &vapid, None, 100).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_http1_only_subscription_is_served_without_offering_h2() {
    let h = Harness::start().await;
    let vapid = Vapid::new();
    let endpoint = subscribe(&h, &vapid, json!({"http1_only": true})).await;
    assert!(!endpoint.starts_with(&h.sim.tls_url()), "{endpoint}");

    // A client that insists on h2 cannot agree with it...
    let h2_only = tls_client(h.sim.ca_pem(), &[b"h2"]).build().unwrap();
    let refused = h2_only.post(&endpoint).body(vec![0_u8; 10]).send().await;
    assert!(refused.is_err(), "{refused:?}");
    // ...one that offers HTTP/1.1 delivers.
    let http1 = tls_client(h.sim.ca_pem(), &[b"http/1.1"])
        .http1_only()
        .build()
        .unwrap();
    let response = push(&http1, &endpoint, &vapid, None, 100).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let recorded = h.get("/deliveries?provider=webpush").await;
    assert_eq!(recorded["count"], 1, "{recorded}");
}
