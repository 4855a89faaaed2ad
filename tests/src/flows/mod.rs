//! The request sequences the integration tests repeat: the device, send,
//! topic and tenant endpoints called in-process as a client calls them, so
//! that a test names what it does and a change to an endpoint's shape is
//! made once.

use serde_json::{json, Value};

use crate::calls::Call;

mod devices;
mod keys;
mod tenants;
mod topics;

pub use devices::*;
pub use keys::*;
pub use tenants::*;
pub use topics::*;

/// Who makes a request.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    User(&'a str),
    Key(&'a str),
}

impl As<'_> {
    pub fn on(self, call: Call) -> Call {
        match self {
            As::User(token) => call.bearer(token),
            As::Key(key) => call.api_key(key),
        }
    }
}

/// A device body: `user_id`, `token` and `platform`.
pub fn device(user_id: &str, token: &str, platform: &str) -> Value {
    json!({"user_id": user_id, "token": token, "platform": platform})
}

/// A device body carrying the user's signature (user verification).
pub fn signed_device(user_id: &str, token: &str, signature: &str) -> Value {
    let mut body = device(user_id, token, "ios");
    body["user_signature"] = json!(signature);
    body
}

/// Panics unless the answer is `status` with the error `code`; its detail.
pub fn assert_error(answer: (u16, &Value), status: u16, code: &str) -> String {
    let (got, body) = answer;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// Panics unless the error's detail mentions `needle`.
pub fn assert_detail_names(body: &Value, needle: &str) {
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "{needle} not in {body}");
}
