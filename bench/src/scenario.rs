//! What the benchmark sends: a typical alert to many devices.

use notify_shared::model::{Alert, Notification, Platform};
use notify_shared::push::Target;
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
