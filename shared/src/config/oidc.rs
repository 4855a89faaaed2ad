//! User tokens from one OpenID Connect issuer (`NOTIFY_OIDC_*`): the
//! settings, and the rule every URL the verifier fetches from must meet.

use std::net::IpAddr;

use http::Uri;

use super::ConfigError;

/// The claim holding a user's org ids when `NOTIFY_OIDC_ORGS_CLAIM` is unset.
pub const DEFAULT_ORGS_CLAIM: &str = "orgs";

/// The identity provider whose RS256 and ES256 tokens are accepted beside
/// the deployment's HS256 ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// `NOTIFY_OIDC_ISSUER`: a token's `iss` must equal it exactly.
    pub issuer: String,
    /// `NOTIFY_OIDC_AUDIENCE`: in a token's `aud`, or equal to the
    /// `client_id` of a token without `aud` (Cognito access tokens).
    pub audience: String,
    /// `NOTIFY_OIDC_ORGS_CLAIM`: the top-level claim holding the user's
    /// org ids, verbatim (`cognito:groups`, `https://example.com/orgs`).
    pub orgs_claim: String,
    /// `NOTIFY_OIDC_JWKS_URL`: where the keys are; unset, the issuer's
    /// discovery document names it.
    pub jwks_url: Option<FetchUrl>,
}

impl OidcSettings {
    /// `None` when `NOTIFY_OIDC_ISSUER` is unset (or blank): OIDC is off.
    pub(super) fn from_env(
        optional: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = optional("NOTIFY_OIDC_ISSUER") else {
            return Ok(None);
        };
        let issuer = issuer.trim().to_owned();
        FetchUrl::parse(&issuer).map_err(|_| ConfigError::Invalid {
            name: "NOTIFY_OIDC_ISSUER",
            expected: "an https URL (http only for a loopback host)",
        })?;
        let audience = optional("NOTIFY_OIDC_AUDIENCE")
            .map(|audience| audience.trim().to_owned())
            .ok_or(ConfigError::Missing("NOTIFY_OIDC_AUDIENCE"))?;
        let jwks_url = optional("NOTIFY_OIDC_JWKS_URL")
            .map(|url| FetchUrl::parse(url.trim()))
            .transpose()
            .map_err(|_| ConfigError::Invalid {
                name: "NOTIFY_OIDC_JWKS_URL",
                expected: "an https URL (http only for a loopback host)",
            })?;
        Ok(Some(Self {
            issuer,
            audience,
            orgs_claim: optional("NOTIFY_OIDC_ORGS_CLAIM")
                .map(|claim| claim.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_ORGS_CLAIM.to_owned()),
            jwks_url,
        }))
    }

    /// Where the discovery document is: `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> Result<FetchUrl, UrlRefused> {
        FetchUrl::parse(&format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        ))
    }
}

/// A URL the verifier may GET: `https`, or `http` to a loopback host
/// (127.0.0.0/8, ::1, `localhost`), which only local runs use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchUrl {
    pub https: bool,
    /// A DNS name or an IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Path and query, `/` at least.
    pub path_and_query: String,
    /// The `Host` header.
    pub authority: String,
}

/// Why a URL is not one the verifier fetches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("not an absolute URL without user information")]
    Malformed,
    #[error("neither https nor http to a loopback host")]
    Scheme,
}

impl FetchUrl {
    pub fn parse(url: &str) -> Result<Self, UrlRefused> {
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlRefused::Malformed);
        }
        let uri: Uri = url.parse().map_err(|_| UrlRefused::Malformed)?;
        let authority = uri.authority().ok_or(UrlRefused::Malformed)?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return Err(UrlRefused::Malformed);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if is_loopback(&host) => false,
            _ => return Err(UrlRefused::Scheme),
        };
        Ok(Self {
            https,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path_and_query: uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .filter(|pq| !pq.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
            authority: authority.as_str().to_owned(),
            host,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<OidcSettings>, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        OidcSettings::from_env(|name| vars.get(name).filter(|v| !v.trim().is_empty()).cloned())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn oidc_is_off_without_an_issuer_and_a_blank_one_counts_as_unset() {
        assert_eq!(settings(&[]), Ok(None));
        assert_eq!(settings(&[("NOTIFY_OIDC_ISSUER", "")]), Ok(None));
    }

    #[test]
    fn an_issuer_with_an_audience_gives_the_default_orgs_claim() {
        let read = settings(&[
            ("NOTIFY_OIDC_ISSUER", "https://auth.example.com"),
            ("NOTIFY_OIDC_AUDIENCE", "notify"),
        ]);
        assert_eq!(
            read,
            Ok(Some(OidcSettings {
                issuer: "https://auth.example.com".to_owned(),
                audience: "notify".to_owned(),
                orgs_claim: "orgs".to_owned(),
                jwks_url: None,
            }))
        );
    }

    #[test]
    fn an_issuer_without_an_audience_stops_the_cold_start() {
        let read = settings(&[("NOTIFY_OIDC_ISSUER", "https://auth.example.com")]);
        assert_eq!(
            read,
            Err("environment variable NOTIFY_OIDC_AUDIENCE must be set".to_owned())
        );
    }

    #[test]
    fn an_http_issuer_is_refused_unless_its_host_is_loopback() {
        for bad in [
            "http://auth.example.com",
            "http://10.0.0.1",
            "ftp://auth.example.com",
            "auth.example.com",
            "https://user@auth.example.com",
        ] {
            let read = settings(&[("NOTIFY_OIDC_ISSUER", bad), ("NOTIFY_OIDC_AUDIENCE", "a")]);
            assert_eq!(
                read,
                Err(
                    "environment variable NOTIFY_OIDC_ISSUER must be an https URL \
                     (http only for a loopback host)"
                        .to_owned()
                ),
                "{bad}"
            );
        }
        for good in [
            "http://127.0.0.1:5000/pool",
            "http://127.8.0.1",
            "http://[::1]:8080",
            "http://localhost:9000",
        ] {
            let read = settings(&[("NOTIFY_OIDC_ISSUER", good), ("NOTIFY_OIDC_AUDIENCE", "a")]);
            assert!(matches!(read, Ok(Some(_))), "{good}: {read:?}");
        }
    }

    #[test]
    fn a_jwks_url_obeys_the_same_rule_and_the_orgs_claim_is_taken_verbatim() {
        let base = [
            ("NOTIFY_OIDC_ISSUER", "https://cognito-idp.example.com/pool"),
            ("NOTIFY_OIDC_AUDIENCE", "client"),
            ("NOTIFY_OIDC_ORGS_CLAIM", "cognito:groups"),
        ];
        let mut vars = base.to_vec();
        vars.push(("NOTIFY_OIDC_JWKS_URL", "http://keys.example.com/jwks.json"));
        assert!(settings(&vars)
            .err()
            .is_some_and(|err| err.contains("NOTIFY_OIDC_JWKS_URL")));
        vars.pop();
        vars.push((
            "NOTIFY_OIDC_JWKS_URL",
            "http://127.0.0.1:5611/pool/jwks.json",
        ));
        let read = settings(&vars).ok().flatten();
        assert_eq!(
            read.as_ref().map(|s| s.orgs_claim.as_str()),
            Some("cognito:groups")
        );
        let url = read.and_then(|s| s.jwks_url);
        assert_eq!(
            url.map(|u| (u.https, u.host, u.port, u.path_and_query)),
            Some((
                false,
                "127.0.0.1".to_owned(),
                5611,
                "/pool/jwks.json".to_owned()
            ))
        );
    }

    #[test]
    fn the_discovery_document_is_under_the_issuer() {
        let settings = OidcSettings {
            issuer: "https://auth.example.com/tenant/".to_owned(),
            audience: "a".to_owned(),
            orgs_claim: DEFAULT_ORGS_CLAIM.to_owned(),
            jwks_url: None,
        };
        assert_eq!(
            settings.discovery_url().map(|url| url.path_and_query),
            Ok("/tenant/.well-known/openid-configuration".to_owned())
        );
    }
}
