//! Every request body the API parses, from arbitrary bytes: parsing and
//! validation must answer a value or a 4xx, never panic and never a 5xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notify_shared::http::request::parse_json;
use notify_shared::model::{
    BulkNotificationRequest, CreateApiKeyRequest, CreateTenantRequest, RegisterDeviceRequest,
    UpdateTenantRequest,
};
use notify_shared::push::EncodedNotification;
use notify_shared::service::bulk::recipients;
use notify_shared::service::sending::SendNotificationRequest;
use notify_shared::Error;

fn client_error(err: &Error) {
    let status = err.status().as_u16();
    assert!((400..500).contains(&status), "{status}: {err}");
}

fn check<T>(result: Result<T, Error>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            client_error(&err);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(send) = check(parse_json::<SendNotificationRequest>(data)) {
        check(EncodedNotification::new(&send.notification));
    }
    if let Some(bulk) = check(parse_json::<BulkNotificationRequest>(data)) {
        check(EncodedNotification::new(&bulk.notification));
        check(recipients(bulk.target.user_ids));
    }
    if let Some(device) = check(parse_json::<RegisterDeviceRequest>(data)) {
        check(device.validate());
    }
    check(parse_json::<CreateTenantRequest>(data));
    check(parse_json::<UpdateTenantRequest>(data));
    check(parse_json::<CreateApiKeyRequest>(data));
});
