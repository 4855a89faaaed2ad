//! Devices: one push token of one user of a tenant.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{sqs_text, Platform, PushProvider, TokenType};
use crate::web_push_protocol::{WebPushKeys, WebPushSubscription};

/// `user_id` is the tenant's own identifier for its user: any text of 1 to
/// 256 characters without control characters.
pub const MAX_USER_ID_CHARS: usize = 256;
pub const MAX_APP_VERSION_CHARS: usize = 64;
/// Devices one user may have, all platforms together. Bounds the work and
/// memory of a send to one user (a worker holds a user's devices at once, a
/// send answers one result per device, an idempotency record stores that
/// answer): registering a new token beyond it is refused with 409
/// `too_many_devices`.
pub const MAX_DEVICES_PER_USER: usize = 100;
/// Live Activity and push-to-start tokens one user may have live, counted
/// apart from [`MAX_DEVICES_PER_USER`] (409 `too_many_activity_tokens`).
pub const MAX_ACTIVITY_TOKENS_PER_USER: usize = 100;
/// A Live Activity token lives at most this long after its registration:
/// Apple ends an activity after 8 hours and keeps it on the Lock Screen up
/// to 4 more.
pub const ACTIVITY_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;
/// How long an ended activity without a `dismissal_date` stays: Apple
/// removes it from the Lock Screen within 4 hours.
pub const ENDED_ACTIVITY_LINGER_SECS: i64 = 4 * 3600;

/// The device object of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub token: String,
    pub user_id: String,
    pub platform: Platform,
    /// Devices stored before token types existed are `device` tokens.
    #[serde(default)]
    pub token_type: TokenType,
    pub app_version: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// A `webpush` device's subscription keys (`p256dh`, `auth`), which its
    /// pushes are encrypted to; absent for every other platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_push_keys: Option<WebPushKeys>,
}

/// `POST /tenants/{tenant_id}/devices` as sent. `platform` is read as text
/// so an unknown one gets the contract's sentence naming `platform`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDeviceRequest {
    pub user_id: String,
    /// Required, except for `webpush` devices, whose token is their
    /// subscription's endpoint.
    #[serde(default)]
    pub token: Option<String>,
    pub platform: String,
    /// A `webpush` device: the browser's `PushSubscription.toJSON()`.
    #[serde(default)]
    pub subscription: Option<WebPushSubscription>,
    /// The mushu CLI sends `null` when it has none.
    #[serde(default)]
    pub app_version: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `user_id` under the tenant's user
    /// verification secret: required from `register`-scope keys while the
    /// tenant has user verification on, ignored otherwise.
    #[serde(default)]
    pub user_signature: Option<String>,
    /// `device` (default), or the kind of Apple token: `liveactivity`,
    /// `push_to_start` (iOS only), `voip`, `location`, `complication`,
    /// `fileprovider`, `pushtotalk`, `widgets`.
    #[serde(default)]
    pub token_type: Option<String>,
}

/// Whether a registration may take a token away from another user of the
/// tenant. Backend keys and users may; an app's `register` key only for a
/// user it proved (user verification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMoves {
    Allowed,
    Refused,
}

/// A validated registration: the token normalised for its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRegistration {
    pub user_id: String,
    pub token: String,
    pub platform: Platform,
    pub token_type: TokenType,
    pub app_version: Option<String>,
    pub web_push_keys: Option<WebPushKeys>,
}

impl RegisterDeviceRequest {
    /// The contract's rules: a known platform, a token in its format, a
    /// plain user id and a short app version.
    pub fn validate(self) -> Result<DeviceRegistration> {
        validate_user_id(&self.user_id)?;
        let platform: Platform = self.platform.parse()?;
        let (token, web_push_keys) = match (platform, self.subscription) {
            (Platform::Webpush, Some(subscription)) => {
                if self
                    .token
                    .as_ref()
                    .is_some_and(|token| *token != subscription.endpoint)
                {
                    return Err(Error::invalid_token_format(
                        "`token` of a `webpush` device must be left out or equal `subscription.endpoint`",
                    ));
                }
                if !crate::model::platform::is_web_push_endpoint(&subscription.endpoint) {
                    return Err(Error::invalid_token_format(
                        "`subscription.endpoint` must be an https URL of a push service (at most 2048 characters)",
                    ));
                }
                subscription.keys.validate()?;
                (subscription.endpoint, Some(subscription.keys))
            }
            (Platform::Webpush, None) => {
                return Err(Error::invalid_request(
                    "`subscription` is required for platform `webpush`: the browser's PushSubscription.toJSON()",
                ))
            }
            (_, Some(_)) => {
                return Err(Error::invalid_request(
                    "`subscription` is only for platform `webpush`",
                ))
            }
            (_, None) => {
                let token = self
                    .token
                    .ok_or_else(|| {
                        Error::invalid_request(
                            "missing field `token` (every platform but `webpush` needs one)",
                        )
                    })?;
                (platform.normalize_token(&token)?, None)
            }
        };
        let token_type = match self.token_type.as_deref() {
            None => TokenType::Device,
            Some(value) => TokenType::parse(value)?,
        };
        if token_type.is_activity() && platform != Platform::Ios {
            return Err(Error::invalid_request(format!(
                "`token_type` `{token_type}` is for platform `ios` only (Live Activities)"
            )));
        }
        if token_type.is_apple_only() && platform.provider() != PushProvider::Apns {
            return Err(Error::invalid_request(format!(
                "`token_type` `{token_type}` is for Apple platforms only (`ios`, `watchos`, `macos`)"
            )));
        }
        if let Some(version) = &self.app_version {
            if version.chars().count() > MAX_APP_VERSION_CHARS
                || version.chars().any(char::is_control)
            {
                return Err(Error::invalid_request(format!(
                    "`app_version` must be at most {MAX_APP_VERSION_CHARS} characters without control characters"
                )));
            }
        }
        Ok(DeviceRegistration {
            user_id: self.user_id,
            token,
            platform,
            token_type,
            app_version: self.app_version,
            web_push_keys,
        })
    }
}

/// 1 to 256 characters, none of them control characters, and all of them
/// characters SQS can carry (a bulk send's user ids travel in queue
/// messages: U+FFFE and U+FFFF are not control characters, but SQS refuses
/// them).
pub fn validate_user_id(user_id: &str) -> Result<()> {
    let length = user_id.chars().count();
    if length == 0
        || length > MAX_USER_ID_CHARS
        || user_id.chars().any(char::is_control)
        || !sqs_text::is_sqs_text(user_id)
    {
        return Err(Error::invalid_request(format!(
            "`user_id` must be 1 to {MAX_USER_ID_CHARS} characters without control characters, \
             U+FFFE or U+FFFF"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceList {
    pub devices: Vec<Device>,
}

/// `DELETE /tenants/{tenant_id}/devices/{token}` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceDeleted {
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(user_id: &str, token: &str, platform: &str) -> RegisterDeviceRequest {
        RegisterDeviceRequest {
            user_id: user_id.to_owned(),
            token: Some(token.to_owned()),
            platform: platform.to_owned(),
            subscription: None,
            app_version: None,
            user_signature: None,
            token_type: None,
        }
    }

    fn detail(request: RegisterDeviceRequest) -> (String, String) {
        match request.validate() {
            Ok(registration) => panic!("accepted: {registration:?}"),
            Err(err) => (err.code().to_owned(), err.to_string()),
        }
    }

    #[test]
    fn apns_tokens_are_normalised_to_lowercase() {
        let registration = request("u1", &"AB".repeat(32), "ios").validate().ok();
        assert_eq!(
            registration.map(|r| (r.token, r.platform)),
            Some(("ab".repeat(32), Platform::Ios))
        );
    }

    #[test]
    fn unknown_platforms_and_bad_tokens_name_their_field() {
        let (code, text) = detail(request("u1", &"a".repeat(64), "blackberry"));
        assert_eq!(code, "invalid_request");
        assert!(text.contains("`platform`"), "{text}");
        let (code, text) = detail(request("u1", "short", "android"));
        assert_eq!(code, "invalid_token_format");
        assert!(text.contains("`token`"), "{text}");
    }

    #[test]
    fn user_ids_are_1_to_256_characters_without_control_characters() {
        let token = "a".repeat(64);
        assert!(request(&"é".repeat(256), &token, "ios").validate().is_ok());
        for bad in [String::new(), "x".repeat(257), "a\nb".to_owned()] {
            let (_, text) = detail(request(&bad, &token, "ios"));
            assert!(text.contains("`user_id`"), "{text}");
        }
    }

    #[test]
    fn user_signature_is_an_optional_field_and_others_are_still_refused() {
        let signed: std::result::Result<RegisterDeviceRequest, _> = serde_json::from_str(
            r#"{"user_id": "u", "token": "t", "platform": "ios", "user_signature": "ab"}"#,
        );
        assert_eq!(
            signed.ok().and_then(|request| request.user_signature),
            Some("ab".to_owned())
        );
        let unknown: std::result::Result<RegisterDeviceRequest, _> = serde_json::from_str(
            r#"{"user_id": "u", "token": "t", "platform": "ios", "signature": "ab"}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn token_types_are_for_ios_and_default_to_device() {
        let registration = request("u", &"a".repeat(64), "ios").validate().ok();
        assert_eq!(registration.map(|r| r.token_type), Some(TokenType::Device));
        let mut activity = request("u", &"a".repeat(64), "ios");
        activity.token_type = Some("push_to_start".to_owned());
        assert_eq!(
            activity.validate().ok().map(|r| r.token_type),
            Some(TokenType::PushToStart)
        );
        let mut watch = request("u", &"a".repeat(64), "watchos");
        watch.token_type = Some("liveactivity".to_owned());
        assert!(detail(watch).1.contains("`token_type`"));
        let mut unknown = request("u", &"a".repeat(64), "ios");
        unknown.token_type = Some("widget".to_owned());
        assert!(detail(unknown).1.contains("`token_type`"));
        let mut voip = request("u", &"a".repeat(64), "macos");
        voip.token_type = Some("voip".to_owned());
        assert_eq!(
            voip.validate().ok().map(|r| r.token_type),
            Some(TokenType::Voip)
        );
        let mut android = request("u", &"f".repeat(140), "android");
        android.token_type = Some("voip".to_owned());
        assert!(detail(android).1.contains("`token_type`"));
    }

    #[test]
    fn app_versions_are_optional_and_short() {
        let mut ok = request("u", &"a".repeat(64), "ios");
        ok.app_version = Some("1.2.0".to_owned());
        assert!(ok.validate().is_ok());
        let mut long = request("u", &"a".repeat(64), "ios");
        long.app_version = Some("1".repeat(65));
        assert!(detail(long).1.contains("`app_version`"));
    }
}
