//! What the benchmark sends: a typical alert to many devices.

use aws_lc_rs::agreement::{PrivateKey, ECDH_P256};
use notify_shared::model::{Alert, Notification, Platform};
use notify_shared::push::Target;
use notify_shared::web_push_protocol::subscription::encode_base64url;
use notify_shared::web_push_protocol::WebPushKeys;
use serde_json::json;

pub const BUNDLE_ID: &str = "com.notify.bench";

pub fn notification() -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Your order has shipped".into()),
            subtitle: None,
            body: Some("Order #12345 will arrive on Tuesday.".into()),
        }),
        badge: Some(1),
        sound: Some("default".into()),
        data: json!({"order_id": "12345", "screen": "orders"})
            .as_object()
            .cloned(),
        ..Notification::default()
    }
}

pub fn apns_token(n: usize) -> String {
    format!("{n:064x}")
}

/// Shaped like a real registration token (163 characters).
pub fn fcm_token(n: usize) -> String {
    format!("d{n:021}:APA91b{}", "Hk7_Qm-2xZ".repeat(14))
}

pub fn targets(platform: Platform, count: usize) -> Vec<Target> {
    (0..count)
        .map(|n| Target {
            token: match platform {
                Platform::Android | Platform::Web => fcm_token(n),
                _ => apns_token(n),
            },
            platform,
            web_push_keys: None,
        })
        .collect()
}

/// A subscription's endpoint on the simulator's Web Push service (`origin`
/// is its TLS listener); `bench/webpush-node/send.mjs` makes the same.
pub fn web_push_endpoint(origin: &str, n: usize) -> String {
    format!("{origin}/wp/bench-{n:07}")
}

/// `count` browser subscriptions, each with its own P-256 key and auth
/// secret, as browsers make them (generated here, before any timing).
pub fn web_push_targets(origin: &str, count: usize) -> anyhow::Result<Vec<Target>> {
    (0..count)
        .map(|n| {
            let browser = PrivateKey::generate(&ECDH_P256)
                .map_err(|_| anyhow::anyhow!("generating a subscription key"))?;
            let p256dh = browser
                .compute_public_key()
                .map_err(|_| anyhow::anyhow!("subscription public key"))?;
            let mut auth = [0_u8; 16];
            aws_lc_rs::rand::fill(&mut auth)
                .map_err(|_| anyhow::anyhow!("subscription auth secret"))?;
            Ok(Target {
                token: web_push_endpoint(origin, n),
                platform: Platform::Webpush,
                web_push_keys: Some(WebPushKeys {
                    p256dh: encode_base64url(p256dh.as_ref()),
                    auth: encode_base64url(&auth),
                }),
            })
        })
        .collect()
}
