//! Web Push through the engine: the allow-list checked again at send time,
//! and VAPID headers cached per tenant key and origin.

use serde_json::Value;

use super::harness::{quick_config, start_with};
use crate::model::{Alert, Notification, Platform};
use crate::push::{Target, TenantPush};
use crate::web_push_protocol::subscription::encode_base64url;
use crate::web_push_protocol::{VapidKey, WebPushHosts, WebPushKeys};

fn subscriber_keys() -> WebPushKeys {
    let private =
        aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::ECDH_P256).unwrap();
    WebPushKeys {
        p256dh: encode_base64url(private.compute_public_key().unwrap().as_ref()),
        auth: encode_base64url(&[3; 16]),
    }
}

fn browser(endpoint: String) -> Target {
    Target {
        token: endpoint,
        platform: Platform::Webpush,
        web_push_keys: Some(subscriber_keys()),
    }
}

fn hello() -> Notification {
    Notification {
        alert: Some(Alert {
            body: Some("hi".to_owned()),
            ..Alert::default()
        }),
        ..Notification::default()
    }
}

fn with_vapid(tenant: &TenantPush, tenant_id: &str, key: &VapidKey) -> TenantPush {
    TenantPush {
        tenant_id: tenant_id.to_owned(),
        web_push: Some(key.clone()),
        ..tenant.clone()
    }
}

#[tokio::test]
async fn an_endpoint_off_the_allow_list_is_never_contacted_even_if_stored() {
    // The default list: the simulator is not on it.
    let h = start_with(quick_config(), |_| {}).await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let tenant = with_vapid(&h.tenant, "tnt_a", &key);
    let target = browser(format!("{}/wp/stored-before", h.sim.tls_url()));
    let results = h
        .providers
        .deliver_notification(&tenant, &hello(), &[target])
        .await
        .unwrap();
    assert!(
        results[0]
            .outcome
            .error()
            .unwrap_or_default()
            .contains("allow-list"),
        "{results:?}"
    );
    let recorded: Value = h.get("/deliveries?provider=webpush").await;
    assert_eq!(recorded["count"], 0, "{recorded}");
}

#[tokio::test]
async fn vapid_headers_are_reused_per_tenant_and_origin_and_never_across_tenants() {
    let h = start_with(quick_config(), |endpoints| {
        endpoints.web_push_hosts = WebPushHosts::parse(&endpoints.apns_sandbox).unwrap();
    })
    .await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let endpoint = format!("{}/wp/cache", h.sim.tls_url());
    for tenant_id in ["tnt_a", "tnt_a", "tnt_b"] {
        let tenant = with_vapid(&h.tenant, tenant_id, &key);
        let results = h
            .providers
            .deliver_notification(&tenant, &hello(), &[browser(endpoint.clone())])
            .await
            .unwrap();
        assert!(results[0].outcome.is_delivered(), "{results:?}");
    }
    let recorded: Value = h.get("/deliveries?provider=webpush").await;
    let authorizations: Vec<&str> = recorded["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["headers"]["authorization"].as_str().unwrap())
        .collect();
    assert_eq!(authorizations.len(), 3);
    assert_eq!(
        authorizations[0], authorizations[1],
        "one tenant reuses its token"
    );
    // Same key material, another tenant: signed anew (ECDSA signatures differ).
    assert_ne!(authorizations[0], authorizations[2]);
}
