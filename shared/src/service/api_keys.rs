//! API keys: minted for one tenant, shown once, stored as a hash.

use secrecy::ExposeSecret;

use crate::app::App;
use crate::auth::api_key;
use crate::clock::now_rfc3339;
use crate::config::KeyRateLimits;
use crate::error::{Error, Result};
use crate::ids::{has_id_shape, new_key_id};
use crate::model::{ApiKey, ApiKeyList, CreateApiKeyRequest, CreatedApiKey, Scope};
use crate::service::usage;
use crate::store::HourUsage;
use futures::StreamExt;

const MAX_NAME_CHARS: usize = 100;
/// Keys whose usage a listing reads at once.
const USAGE_READS_AT_ONCE: usize = 8;

pub async fn create_api_key(
    app: &App,
    tenant_id: &str,
    request: CreateApiKeyRequest,
) -> Result<CreatedApiKey> {
    // The limit applies to the name as sent; surrounding white space is
    // then trimmed and what remains must not be empty.
    let sent_length = request.name.chars().count();
    let name = request.name.trim().to_owned();
    if name.is_empty() || sent_length > MAX_NAME_CHARS {
        return Err(Error::invalid_request(format!(
            "`name` must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_request(
            "`name` must not contain control characters",
        ));
    }
    let scopes = scopes_of(request.scopes)?;
    let rate_limit = rate_limit_of(request.rate_limit, app.config.key_rate_limits)?;
    let material = api_key::generate();
    let key = ApiKey {
        key_id: new_key_id(),
        name,
        prefix: material.display_prefix.clone(),
        scopes,
        rate_limit: Some(rate_limit),
        created_at: now_rfc3339(),
        last_used_at: None,
        requests_24h: None,
        unusual_activity: None,
    };
    app.store
        .insert_api_key(
            tenant_id,
            &key,
            &material.hash,
            app.config.key_rate_limits.max,
        )
        .await?;
    tracing::info!(tenant_id, key_id = %key.key_id, "API key created");
    Ok(CreatedApiKey {
        key_id: key.key_id,
        key: material.plain.expose_secret().to_owned(),
        name: key.name,
        prefix: key.prefix,
        scopes: key.scopes,
        rate_limit,
        created_at: key.created_at,
    })
}

/// The key's requests per second: the deployment's default unless asked,
/// and never over the deployment's maximum.
fn rate_limit_of(requested: Option<u32>, limits: KeyRateLimits) -> Result<u32> {
    match requested {
        None => Ok(limits.default),
        Some(rate) if (1..=limits.max).contains(&rate) => Ok(rate),
        Some(_) => Err(Error::invalid_request(format!(
            "`rate_limit` must be 1 to {} requests per second",
            limits.max
        ))),
    }
}

/// The requested scopes in canonical order, repeats dropped; the default
/// when none were asked for. An empty list is refused: a key that can do
/// nothing is a mistake.
fn scopes_of(requested: Option<Vec<Scope>>) -> Result<Vec<Scope>> {
    let Some(requested) = requested else {
        return Ok(Scope::DEFAULT.to_vec());
    };
    let scopes: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|scope| requested.contains(scope))
        .collect();
    if scopes.is_empty() {
        return Err(Error::invalid_request(
            "`scopes` must name at least one of \"register\", \"devices\", \"send\"",
        ));
    }
    Ok(scopes)
}

pub async fn list_api_keys(app: &App, tenant_id: &str) -> Result<ApiKeyList> {
    let mut keys = app.store.list_api_keys(tenant_id).await?;
    let now = app.rate_limiter.now();
    // Each key's last 8 days of hour items, a few keys at a time.
    // Owned ids: a stream over borrowed keys makes the handler's future
    // not `Send` for every lifetime, which the Lambda runtime needs.
    let ids: Vec<String> = keys.iter().map(|key| key.key_id.clone()).collect();
    let since = usage::activity_since(now);
    let histories: Vec<Result<Vec<HourUsage>>> = futures::stream::iter(ids)
        .map(|key_id| async move { app.store.key_usage_since(&key_id, since).await })
        .buffered(USAGE_READS_AT_ONCE)
        .collect()
        .await;
    for (key, history) in keys.iter_mut().zip(histories) {
        let (requests_24h, unusual) = usage::activity(&history?, now);
        key.rate_limit = key.rate_limit.or(Some(app.config.key_rate_limits.default));
        key.requests_24h = Some(requests_24h);
        key.unusual_activity = Some(unusual);
    }
    keys.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.key_id.cmp(&b.key_id))
    });
    Ok(ApiKeyList { keys })
}

pub async fn delete_api_key(app: &App, tenant_id: &str, key_id: &str) -> Result<()> {
    let not_found = || Error::NotFound(format!("API key `{key_id}` not found"));
    if !has_id_shape(key_id, "key_") {
        return Err(not_found());
    }
    if !app
        .store
        .delete_api_key(tenant_id, key_id, app.config.key_rate_limits.max)
        .await?
    {
        return Err(not_found());
    }
    tracing::info!(tenant_id, key_id, "API key deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_devices_and_send_and_come_back_in_canonical_order() {
        assert_eq!(
            scopes_of(None).ok(),
            Some(vec![Scope::Devices, Scope::Send])
        );
        assert_eq!(
            scopes_of(Some(vec![Scope::Send, Scope::Register, Scope::Send])).ok(),
            Some(vec![Scope::Register, Scope::Send])
        );
        assert_eq!(
            scopes_of(Some(vec![Scope::Register])).ok(),
            Some(vec![Scope::Register])
        );
    }

    #[test]
    fn a_rate_limit_defaults_to_the_deployment_s_and_stays_within_its_maximum() {
        let limits = KeyRateLimits {
            default: 50,
            max: 200,
        };
        assert_eq!(rate_limit_of(None, limits).ok(), Some(50));
        assert_eq!(rate_limit_of(Some(1), limits).ok(), Some(1));
        assert_eq!(rate_limit_of(Some(200), limits).ok(), Some(200));
        for refused in [0, 201] {
            let err = rate_limit_of(Some(refused), limits).err();
            assert!(
                matches!(&err, Some(e) if e.code() == "invalid_request" && e.to_string().contains("`rate_limit` must be 1 to 200")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn an_empty_scope_list_is_refused_naming_scopes() {
        let err = scopes_of(Some(Vec::new())).err();
        assert!(
            matches!(&err, Some(e) if e.code() == "invalid_request" && e.to_string().contains("`scopes`") && e.to_string().contains("register")),
            "{err:?}"
        );
    }
}
