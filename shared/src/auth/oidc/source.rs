//! Where the keys come from: the configured `NOTIFY_OIDC_JWKS_URL`, or the
//! `jwks_uri` of the issuer's discovery document, whose `issuer` must be
//! the configured one (a document describing another issuer is not ours).

use std::time::Duration;

use serde::Deserialize;

use super::fetch::{get_body, get_json, FetchFailed, FETCH_TIMEOUT};
use super::keys::KeySet;
use crate::config::{FetchUrl, OidcSettings};

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Reads the provider's current keys.
pub struct KeySource {
    settings: OidcSettings,
    timeout: Duration,
}

impl KeySource {
    pub fn new(settings: OidcSettings) -> Self {
        Self {
            settings,
            timeout: FETCH_TIMEOUT,
        }
    }

    #[cfg(test)]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The JWKS, read now (after discovery when no JWKS URL is configured).
    pub async fn fetch(&self) -> Result<KeySet, FetchFailed> {
        let url = match &self.settings.jwks_url {
            Some(url) => url.clone(),
            None => self.discover().await?,
        };
        let body = get_body(&url, self.timeout).await?;
        KeySet::from_jwks(&body).map_err(|err| FetchFailed(format!("not a JWKS: {err}")))
    }

    async fn discover(&self) -> Result<FetchUrl, FetchFailed> {
        let url = self
            .settings
            .discovery_url()
            .map_err(|err| FetchFailed(format!("discovery URL: {err}")))?;
        let document: Discovery = get_json(&url, self.timeout).await?;
        if document.issuer != self.settings.issuer {
            return Err(FetchFailed(
                "the discovery document names another issuer than NOTIFY_OIDC_ISSUER".to_owned(),
            ));
        }
        FetchUrl::parse(&document.jwks_uri)
            .map_err(|err| FetchFailed(format!("the discovery document's `jwks_uri`: {err}")))
    }
}
