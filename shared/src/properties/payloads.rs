//! Payload building: a notification that is accepted fits the providers'
//! limits, and every field of the request lands where each provider reads it.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::model::{Alert, Notification, Priority};
use crate::push::EncodedNotification;

const FCM_TOKEN: &str = "fcm1:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx";

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[a-zA-Z0-9 .,!?'\"\\\\é😀-]{{0,{max}}}"))
            .unwrap_or_else(|err| panic!("regex: {err}")),
        proptest::string::string_regex(&format!(".{{0,{max}}}"))
            .unwrap_or_else(|err| panic!("regex: {err}")),
    ]
}

fn data_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text(200).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

prop_compose! {
    fn notifications()(
        alert in proptest::option::of((
            proptest::option::of(text(1500)),
            proptest::option::of(text(300)),
            proptest::option::of(text(3000)),
        )),
        badge in proptest::option::of(any::<u32>()),
        sound in proptest::option::of(text(40)),
        content_available in any::<bool>(),
        data in proptest::option::of(
            proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_.]{0,15}", data_value(), 0..6)
        ),
        category in proptest::option::of(text(40)),
        thread_id in proptest::option::of(text(40)),
        collapse_id in proptest::option::of(text(70)),
        priority in proptest::option::of(prop_oneof![Just(Priority::High), Just(Priority::Normal)]),
        ttl_seconds in proptest::option::of(any::<u32>()),
        mutable_content in any::<bool>(),
    ) -> Notification {
        Notification {
            alert: alert.map(|(title, subtitle, body)| Alert { title, subtitle, body }),
            badge,
            sound,
            content_available,
            data: data.map(|map| map.into_iter().collect::<Map<String, Value>>()),
            category,
            thread_id,
            collapse_id,
            priority,
            ttl_seconds,
            mutable_content,
            push_type: None,
            live_activity: None,
        }
    }
}

/// FCM data values are strings; other JSON values travel as JSON text.
fn fcm_text(value: &Value) -> Value {
    match value {
        Value::String(text) => json!(text),
        other => json!(other.to_string()),
    }
}

proptest! {
    #[test]
    fn an_accepted_notification_fits_both_providers_and_every_field_lands_in_place(
        n in notifications()
    ) {
        let encoded = match EncodedNotification::new(&n) {
            Ok(encoded) => encoded,
            Err(err) => {
                // Refused as the caller's fault, naming why, never a 500.
                prop_assert!(matches!(err.status().as_u16(), 400 | 413), "{err}");
                return Ok(());
            }
        };
        let apns = encoded.apns_payload();
        prop_assert!(apns.len() <= 4096, "APNs payload of {} bytes", apns.len());
        let apns: Value = serde_json::from_slice(apns).unwrap_or(Value::Null);
        let aps = &apns["aps"];
        let alert = n.alert.clone().unwrap_or_default();
        let fcm: Value = serde_json::from_slice(&encoded.fcm_body(FCM_TOKEN)).unwrap_or(Value::Null);
        let message = &fcm["message"];
        prop_assert_eq!(&message["token"], &json!(FCM_TOKEN));

        // A body alone may travel as Apple's short form, `"alert": "<body>"`.
        let apns_alert = match &aps["alert"] {
            Value::String(body) => json!({"body": body}),
            other => other.clone(),
        };
        for (field, value) in [("title", &alert.title), ("subtitle", &alert.subtitle), ("body", &alert.body)] {
            match value {
                Some(text) => prop_assert_eq!(&apns_alert[field], &json!(text)),
                None => prop_assert!(apns_alert.get(field).is_none()),
            }
        }
        for (field, value) in [("title", &alert.title), ("body", &alert.body)] {
            match value {
                Some(text) => prop_assert_eq!(&message["notification"][field], &json!(text)),
                None => prop_assert!(message["notification"].get(field).is_none()),
            }
        }
        prop_assert_eq!(&aps["badge"], &n.badge.map_or(Value::Null, Value::from));
        prop_assert_eq!(&aps["sound"], &n.sound.clone().map_or(Value::Null, Value::from));
        prop_assert_eq!(&aps["category"], &n.category.clone().map_or(Value::Null, Value::from));
        prop_assert_eq!(&aps["thread-id"], &n.thread_id.clone().map_or(Value::Null, Value::from));
        // A background push (a send with nothing visible) must wake the app.
        let background = crate::model::push_type::effective_push_type(&n) == crate::model::PushType::Background;
        prop_assert_eq!(&aps["content-available"], &if n.content_available || background { json!(1) } else { Value::Null });
        prop_assert_eq!(&aps["mutable-content"], &if n.mutable_content { json!(1) } else { Value::Null });

        let android = &message["android"];
        let high = match n.priority {
            Some(priority) => priority == Priority::High,
            None => n.is_visible(),
        };
        prop_assert_eq!(&android["priority"], &json!(if high { "HIGH" } else { "NORMAL" }));
        let ttl = n.ttl_seconds.map(|ttl| ttl.min(28 * 24 * 3600));
        prop_assert_eq!(&android["ttl"], &ttl.map_or(Value::Null, |t| json!(format!("{t}s"))));
        prop_assert_eq!(&message["webpush"]["headers"]["TTL"], &ttl.map_or(Value::Null, |t| json!(t.to_string())));
        prop_assert_eq!(&android["collapse_key"], &n.collapse_id.clone().map_or(Value::Null, Value::from));

        let mut fcm_bytes = alert.title.as_deref().map_or(0, str::len)
            + alert.body.as_deref().map_or(0, str::len);
        for (key, value) in n.data_entries() {
            prop_assert_eq!(&apns[key.as_str()], value);
            let text = fcm_text(value);
            prop_assert_eq!(&message["data"][key.as_str()], &text);
            fcm_bytes += key.len() + text.as_str().map_or(0, str::len);
        }
        prop_assert!(fcm_bytes <= 4096, "FCM data of {fcm_bytes} bytes");
    }
}
