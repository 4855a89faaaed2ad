//! Devices: registering, listing and unregistering a user's push tokens.

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::device::validate_user_id;
use crate::model::platform::is_apns_token;
use crate::model::{Device, DeviceList, RegisterDeviceRequest};

pub async fn register_device(
    app: &App,
    tenant_id: &str,
    request: RegisterDeviceRequest,
) -> Result<Device> {
    let registration = request.validate()?;
    app.store.register_device(tenant_id, &registration).await
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
    let mut devices = app.store.list_devices(tenant_id, user_id).await?;
    devices.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.token.cmp(&b.token))
    });
    Ok(DeviceList { devices })
}

/// Unregisters the user's device; 404 when the token is not registered to
/// this user. An APNs token may come in either case (they are stored
/// lowercase).
pub async fn unregister_device(
    app: &App,
    tenant_id: &str,
    user_id: Option<&str>,
    token: &str,
) -> Result<()> {
    let user_id = required_user_id(user_id)?;
    let not_found = || Error::NotFound("device not registered for this user".to_owned());
    if token.is_empty() || token.len() > 4096 {
        return Err(not_found());
    }
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
}
