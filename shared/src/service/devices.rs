//! Devices: registering, listing and unregistering a user's push tokens.

use crate::app::App;
use crate::auth::TenantAccess;
use crate::error::{Error, Result};
use crate::model::device::{validate_user_id, TokenMoves};
use crate::model::platform::{is_apns_token, is_fcm_token, is_web_push_endpoint};
use crate::model::{Device, DeviceList, Platform, RegisterDeviceRequest};
use crate::service::user_verification;
use crate::store::ReadConsistency;

/// Registers (or updates) a device. A `register`-only key is an app's key,
/// possibly in a hostile user's hands: it registers only while the tenant
/// has user verification on, for the user its `user_signature` proves; a
/// proved user may then take a token over (the phone changed hands).
pub async fn register_device(
    app: &App,
    access: &TenantAccess,
    request: RegisterDeviceRequest,
) -> Result<Device> {
    let tenant_id = access.tenant.tenant_id.as_str();
    let user_signature = request.user_signature.clone();
    let registration = request.validate()?;
    if registration.platform == Platform::Webpush
        && app
            .config
            .providers
            .web_push_hosts
            .allowed_origin(&registration.token)
            .is_none()
    {
        return Err(Error::invalid_token_format(format!(
            "`subscription.endpoint` must be on a push service this deployment sends to ({})",
            app.config.providers.web_push_hosts
        )));
    }
    if access.caller.is_registration_only() {
        user_verification::verify_user(
            app,
            &access.tenant,
            &registration.user_id,
            user_signature.as_deref(),
        )
        .await?;
    }
    app.store
        .register_device(
            tenant_id,
            &registration,
            TokenMoves::Allowed,
            Some(
                access
                    .tenant
                    .limits
                    .effective(app.config.tenant_limits)
                    .devices,
            ),
        )
        .await
}

/// `user_id` is the required query parameter.
fn required_user_id(user_id: Option<&str>) -> Result<&str> {
    let user_id = user_id
        .ok_or_else(|| Error::invalid_request("the `user_id` query parameter is required"))?;
    validate_user_id(user_id)?;
    Ok(user_id)
}

/// The user's devices, oldest registration first.
pub async fn list_devices(app: &App, tenant_id: &str, user_id: Option<&str>) -> Result<DeviceList> {
    let user_id = required_user_id(user_id)?;
    let mut devices = app
        .store
        .list_devices(tenant_id, user_id, ReadConsistency::Strong)
        .await?;
    devices.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.token.cmp(&b.token))
    });
    Ok(DeviceList { devices })
}

/// Where an unregistration names its token.
#[derive(Debug, Clone, Copy)]
pub enum TokenIn<'a> {
    /// `DELETE .../devices/{token}`: an APNs or FCM token, already decoded
    /// once by [`crate::http::path_param`].
    Path(&'a str),
    /// `DELETE .../devices?token=...`: any token, Web Push endpoints
    /// included, decoded once by `lambda_http` from the query string.
    Query(&'a str),
}

/// The token an unregistration names, checked before it names a key:
/// anything else (`sha256:<hex>`) could alias the hashed key of a long one.
/// A Web Push endpoint never travels in the path: API Gateway decodes its
/// `%2F` before routing and answers its own 404, so the path form refuses
/// it everywhere, the local stack included, and names the query form.
pub fn checked_token(token: TokenIn<'_>) -> Result<&str> {
    match token {
        TokenIn::Path(token) if is_apns_token(token) || is_fcm_token(token) => Ok(token),
        TokenIn::Path(token) if is_web_push_endpoint(token) => Err(Error::invalid_token_format(
            "a Web Push endpoint cannot travel in the path (API Gateway decodes its `%2F` \
             before routing): send `DELETE /tenants/{tenant_id}/devices?token=<URL-encoded endpoint>&user_id=...`",
        )),
        TokenIn::Query(token)
            if is_apns_token(token) || is_fcm_token(token) || is_web_push_endpoint(token) =>
        {
            Ok(token)
        }
        TokenIn::Path(_) | TokenIn::Query(_) => Err(Error::invalid_token_format(
            "`token` is neither an APNs device token (64 to 200 hexadecimal characters), \
             an FCM registration token (100 to 4096 characters of A-Z, a-z, 0-9, `_`, `:` and `-`) \
             nor a Web Push subscription endpoint (in the `token` query parameter)",
        )),
    }
}

/// Unregisters the user's device; 400 `invalid_token_format` for a token
/// no platform accepts, 404 when the token is not registered to this user.
/// An APNs token may come in either case (they are stored lowercase).
pub async fn unregister_device(
    app: &App,
    tenant_id: &str,
    user_id: Option<&str>,
    token: TokenIn<'_>,
) -> Result<()> {
    let user_id = required_user_id(user_id)?;
    let token = checked_token(token)?;
    let not_found = || Error::NotFound("device not registered for this user".to_owned());
    if app
        .store
        .unregister_device(tenant_id, user_id, token)
        .await?
    {
        return Ok(());
    }
    let lowercase = token.to_ascii_lowercase();
    if lowercase != token
        && is_apns_token(token)
        && app
            .store
            .unregister_device(tenant_id, user_id, &lowercase)
            .await?
    {
        return Ok(());
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_id_query_parameter_is_required_and_checked() {
        let missing = required_user_id(None).err().map(|err| err.to_string());
        assert!(missing.is_some_and(|text| text.contains("`user_id`")));
        assert!(required_user_id(Some("")).is_err());
        assert_eq!(required_user_id(Some("user-123")).ok(), Some("user-123"));
    }

    #[test]
    fn path_tokens_must_be_apns_or_fcm_tokens_and_endpoints_go_by_query() {
        let apns = "AB".repeat(32);
        assert_eq!(
            checked_token(TokenIn::Path(&apns)).ok(),
            Some(apns.as_str())
        );
        let fcm = "f".repeat(4096);
        assert!(checked_token(TokenIn::Path(&fcm)).is_ok());
        let endpoint = "https://fcm.googleapis.com/fcm/send/abc:APA91b";
        assert_eq!(checked_token(TokenIn::Query(endpoint)).ok(), Some(endpoint));
        let refused = checked_token(TokenIn::Path(endpoint)).err();
        assert!(
            matches!(&refused, Some(e) if e.code() == "invalid_token_format" && e.to_string().contains("?token=")),
            "{refused:?}"
        );
        let alias = format!("sha256:{}", "0".repeat(64));
        for bad in [alias.as_str(), "", "short", &"a".repeat(4097)] {
            for token in [TokenIn::Path(bad), TokenIn::Query(bad)] {
                let err = checked_token(token).err();
                assert!(
                    matches!(&err, Some(e) if e.code() == "invalid_token_format" && e.to_string().contains("`token`")),
                    "{bad} accepted"
                );
            }
        }
    }
}
