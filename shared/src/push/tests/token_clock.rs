//! H1: provider-token ages on the wall clock. A frozen Lambda's monotonic
//! clock may stand still while the providers' clocks run; a test moves a
//! manual [`Clock`] as the wall clock would have moved during a freeze.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::harness::{android, quick_config, start_clocked};
use crate::clock::{now_unix_secs, Clock};
use crate::model::{Alert, Notification, Platform};
use crate::push::{Target, TenantPush};
use crate::web_push_protocol::subscription::encode_base64url;
use crate::web_push_protocol::{VapidKey, WebPushHosts, WebPushKeys};

fn hello() -> Notification {
    Notification {
        alert: Some(Alert {
            body: Some("hi".to_owned()),
            ..Alert::default()
        }),
        ..Notification::default()
    }
}

#[tokio::test]
async fn an_fcm_access_token_is_renewed_when_the_wall_clock_says_so_after_a_freeze() {
    let clock = Clock::manual(now_unix_secs());
    let h = start_clocked(quick_config(), |_| {}, clock.clone()).await;
    let first = h
        .providers
        .deliver_notification(&h.tenant, &hello(), &[android(1)])
        .await
        .unwrap();
    assert!(first[0].outcome.is_delivered(), "{first:?}");
    // 56 minutes frozen: the token (an hour's life, renewed 5 minutes
    // early) is due.
    clock.advance(Duration::from_secs(56 * 60));
    let second = h
        .providers
        .deliver_notification(&h.tenant, &hello(), &[android(2)])
        .await
        .unwrap();
    assert!(second[0].outcome.is_delivered(), "{second:?}");
    assert_eq!(h.providers.fcm.tokens.fetched.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_vapid_header_is_renewed_when_the_wall_clock_says_so_after_a_freeze() {
    let clock = Clock::manual(now_unix_secs());
    let h = start_clocked(
        quick_config(),
        |endpoints| {
            endpoints.web_push_hosts = WebPushHosts::parse(&endpoints.apns_sandbox).unwrap();
        },
        clock.clone(),
    )
    .await;
    let key = VapidKey::generate("mailto:ops@example.com").unwrap();
    let tenant = TenantPush {
        web_push: Some(key),
        ..h.tenant.clone()
    };
    let private =
        aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::ECDH_P256).unwrap();
    let browser = Target {
        token: format!("{}/wp/frozen", h.sim.tls_url()),
        platform: Platform::Webpush,
        web_push_keys: Some(WebPushKeys {
            p256dh: encode_base64url(private.compute_public_key().unwrap().as_ref()),
            auth: encode_base64url(&[3; 16]),
        }),
    };
    for advance in [0, 60, 11 * 3600] {
        clock.advance(Duration::from_secs(advance));
        let results = h
            .providers
            .deliver_notification(&tenant, &hello(), std::slice::from_ref(&browser))
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
    assert_eq!(authorizations[0], authorizations[1], "reused a minute on");
    // 11 hours on, under an hour of its 12 is left: signed anew.
    assert_ne!(authorizations[1], authorizations[2]);
}
