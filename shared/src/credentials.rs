//! Provider credentials: validated on the way in, kept only in Secrets Manager.
//!
//! A key is "usable" when it signs: the `.p8` must sign an ES256 token (so it is
//! a P-256 PKCS#8 key) and the service account's key an RS256 one. That is the
//! exact operation the providers' clients perform later.
//!
//! Private keys are [`SecretString`]s: no `Debug`, log field or error can
//! print them. Ids that name a credential (`team_id`, `key_id`,
//! `client_email`) are public: anything cached per credential is keyed by
//! [`ApnsKey::fingerprint`] / [`ServiceAccount::fingerprint`], which cover
//! the tenant and the private key too.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::config::ProviderEndpoints;
use crate::error::{Error, Result};

/// The token endpoints Google names in service-account files. Without a
/// configured override (the simulator's, in local runs) no other URL is
/// ever contacted for an access token.
pub const GOOGLE_TOKEN_URIS: [&str; 3] = [
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
];

/// One tenant's provider credentials: the content of its secret.
#[derive(Clone, Default, Debug, Serialize, Deserialize)]
pub struct TenantCredentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fcm: Option<ServiceAccount>,
    /// The user verification secret (`POST /tenants/{id}/user-verification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<UserVerificationSecret>,
    /// The tenant's VAPID key pair for standard Web Push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_push: Option<crate::web_push_protocol::VapidKey>,
}

/// The key of the tenant's `user_signature` HMACs, and when it was made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserVerificationSecret {
    pub secret: String,
    pub created_at: String,
}

impl std::fmt::Debug for UserVerificationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserVerificationSecret")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// An APNs token-auth key (`.p8`) and who it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApnsKey {
    pub team_id: String,
    pub key_id: String,
    #[serde(serialize_with = "expose")]
    pub private_key: SecretString,
}

/// The fields of a Google service-account JSON that FCM HTTP v1 needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    #[serde(serialize_with = "expose")]
    pub private_key: SecretString,
    pub token_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
}

/// Serializes a secret: only the tenant's own Secrets Manager secret is
/// written this way.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// SHA-256 over length-prefixed parts: no two lists of parts collide.
fn fingerprint(parts: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

impl ApnsKey {
    /// What a provider token signed with this key is cached under: the
    /// tenant and the whole key, so two tenants that claim the same
    /// (public) team and key ids never share a token.
    pub fn fingerprint(&self, tenant_id: &str) -> [u8; 32] {
        fingerprint(&[
            "apns",
            tenant_id,
            &self.team_id,
            &self.key_id,
            self.private_key.expose_secret(),
        ])
    }
}

impl ServiceAccount {
    /// What an access token of this account is cached under (see
    /// [`ApnsKey::fingerprint`]).
    pub fn fingerprint(&self, tenant_id: &str) -> [u8; 32] {
        fingerprint(&[
            "fcm",
            tenant_id,
            &self.project_id,
            &self.client_email,
            &self.token_uri,
            self.private_key_id.as_deref().unwrap_or_default(),
            self.private_key.expose_secret(),
        ])
    }

    /// The URL to ask for access tokens: the configured override
    /// (`ProviderEndpoints::oauth_token_url`), else the account's
    /// `token_uri` if it is one of Google's. `None`: the account names a
    /// host this deployment must not contact.
    pub fn token_url<'a>(&'a self, override_url: Option<&'a str>) -> Option<&'a str> {
        match override_url {
            Some(url) => Some(url),
            None => GOOGLE_TOKEN_URIS
                .contains(&self.token_uri.as_str())
                .then_some(self.token_uri.as_str()),
        }
    }
}

/// Apple team and key ids are ten upper-case letters and digits.
fn is_apple_id(value: &str) -> bool {
    value.len() == 10
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Bundle ids are reverse-DNS: letters, digits, `.` and `-`.
pub fn validate_bundle_id(bundle_id: &str) -> Result<()> {
    let valid = !bundle_id.is_empty()
        && bundle_id.len() <= 155
        && bundle_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !bundle_id.starts_with('.')
        && !bundle_id.ends_with('.');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            "`bundle_id` must be a reverse-DNS bundle identifier such as com.example.app",
        ))
    }
}

pub fn validate_apns_key(team_id: &str, key_id: &str, private_key: &str) -> Result<ApnsKey> {
    if !is_apple_id(team_id) {
        return Err(Error::invalid_credentials(
            "`team_id` must be the 10-character Apple Developer Team ID",
        ));
    }
    if !is_apple_id(key_id) {
        return Err(Error::invalid_credentials(
            "`key_id` must be the 10-character APNs key ID",
        ));
    }
    let unusable = || {
        Error::invalid_credentials(
            "`private_key` must be the contents of an APNs .p8 file: a P-256 private key in PKCS#8 PEM",
        )
    };
    let key = EncodingKey::from_ec_pem(private_key.as_bytes()).map_err(|_| unusable())?;
    sign_probe(Algorithm::ES256, &key).map_err(|_| unusable())?;
    Ok(ApnsKey {
        team_id: team_id.to_owned(),
        key_id: key_id.to_owned(),
        private_key: SecretString::from(private_key),
    })
}

/// Google Cloud project ids: 6 to 30 lowercase letters, digits and
/// hyphens, starting with a letter, not ending with a hyphen. They are
/// interpolated into the FCM URL path, so nothing else may pass.
pub fn is_project_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    (6..=30).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A service account's address: `name@project.iam.gserviceaccount.com`
/// (or the `appspot`/`developer` forms), in Google's character set.
pub fn is_service_account_email(value: &str) -> bool {
    let Some((name, domain)) = value.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let Some(project) = domain.strip_suffix("gserviceaccount.com") else {
        return false;
    };
    value.len() <= 254
        && name.len() <= 64
        && plain(name)
        && project.ends_with('.')
        && project.trim_end_matches('.').split('.').all(plain)
}

/// Accepts the service-account JSON as an object or as a string holding it.
/// Its `token_uri` must be one of Google's, unless the deployment
/// configures a token URL of its own (the simulator's): a tenant must not
/// be able to make the push functions connect wherever it likes.
pub fn parse_service_account(
    value: &serde_json::Value,
    providers: &ProviderEndpoints,
) -> Result<ServiceAccount> {
    let fields = service_account_object(value)?;
    let project_id = required_text(&fields, "project_id")?;
    if !is_project_id(&project_id) {
        return Err(Error::invalid_credentials(
            "`fcm_service_account.project_id` must be a Google Cloud project id: 6 to 30 lowercase letters, digits and hyphens, starting with a letter",
        ));
    }
    let client_email = required_text(&fields, "client_email")?;
    if !is_service_account_email(&client_email) {
        return Err(Error::invalid_credentials(
            "`fcm_service_account.client_email` must be a service account address such as name@project.iam.gserviceaccount.com",
        ));
    }
    let private_key = SecretString::from(required_text(&fields, "private_key")?);
    let token_uri = required_text(&fields, "token_uri")?;
    check_token_uri(&token_uri, providers)?;
    let private_key_id = private_key_id(&fields)?;
    check_rsa_key(&private_key)?;
    Ok(ServiceAccount {
        project_id,
        client_email,
        private_key,
        token_uri,
        private_key_id,
    })
}

/// The service account's fields, from an object or a string holding one.
fn service_account_object(
    value: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let object = match value {
        serde_json::Value::String(text) => serde_json::from_str(text).map_err(|_| {
            Error::invalid_credentials("`fcm_service_account` is a string but not JSON")
        })?,
        other => other.clone(),
    };
    match object {
        serde_json::Value::Object(fields) => Ok(fields),
        _ => Err(Error::invalid_credentials(
            "`fcm_service_account` must be a Google service-account JSON object",
        )),
    }
}

/// A field that must be a non-blank string.
fn required_text(
    fields: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<String> {
    fields
        .get(name)
        .and_then(serde_json::Value::as_str)
        .filter(|value| !value.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::invalid_credentials(format!(
                "`fcm_service_account.{name}` is required and must be a string"
            ))
        })
}

/// Google's token endpoint, or any HTTP(S) URL when the deployment
/// configures its own.
fn check_token_uri(token_uri: &str, providers: &ProviderEndpoints) -> Result<()> {
    let allowed = match &providers.oauth_token_url {
        // Replaced by the configured URL at send time: never contacted.
        Some(_) => token_uri.starts_with("https://") || token_uri.starts_with("http://"),
        None => GOOGLE_TOKEN_URIS.contains(&token_uri),
    };
    if !allowed {
        return Err(Error::invalid_credentials(format!(
            "`fcm_service_account.token_uri` must be Google's token endpoint ({})",
            GOOGLE_TOKEN_URIS[0]
        )));
    }
    Ok(())
}

/// The optional `private_key_id`: a short alphanumeric (hex) id.
fn private_key_id(fields: &serde_json::Map<String, serde_json::Value>) -> Result<Option<String>> {
    match fields.get("private_key_id") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(id))
            if id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(Some(id.clone()))
        }
        Some(_) => Err(Error::invalid_credentials(
            "`fcm_service_account.private_key_id` must be the key's hexadecimal id",
        )),
    }
}

/// The private key is an RSA key in PEM that can sign.
fn check_rsa_key(private_key: &SecretString) -> Result<()> {
    let unusable = || {
        Error::invalid_credentials(
            "`fcm_service_account.private_key` must be an RSA private key in PEM",
        )
    };
    let key = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
        .map_err(|_| unusable())?;
    sign_probe(Algorithm::RS256, &key).map_err(|_| unusable())?;
    Ok(())
}

fn sign_probe(algorithm: Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<String> {
    #[derive(Serialize)]
    struct Probe {
        probe: bool,
    }
    jsonwebtoken::encode(&Header::new(algorithm), &Probe { probe: true }, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_follow_googles_format() {
        for good in ["my-app-123", "notify-sim-abc123", "abcdef"] {
            assert!(is_project_id(good), "{good}");
        }
        for bad in [
            "p",
            "1project",
            "project-",
            "Project-1",
            "a/../../v1",
            "proj?x=1",
            &"a".repeat(31),
        ] {
            assert!(!is_project_id(bad), "{bad}");
        }
    }

    #[test]
    fn client_emails_are_service_account_addresses() {
        for good in [
            "firebase-adminsdk-ab12c@my-app-123.iam.gserviceaccount.com",
            "my-app-123@appspot.gserviceaccount.com",
            "123456-compute@developer.gserviceaccount.com",
        ] {
            assert!(is_service_account_email(good), "{good}");
        }
        for bad in [
            "a@b",
            "user@gmail.com",
            "x@evil.com#.gserviceaccount.com",
            "@my-app.iam.gserviceaccount.com",
            "a@gserviceaccount.com",
            "a b@p.iam.gserviceaccount.com",
        ] {
            assert!(!is_service_account_email(bad), "{bad}");
        }
    }

    #[test]
    fn fingerprints_differ_by_tenant_and_by_private_key() {
        let key = |tenant: &str, private: &str| {
            ApnsKey {
                team_id: "ABCDE12345".to_owned(),
                key_id: "KEY1234567".to_owned(),
                private_key: SecretString::from(private),
            }
            .fingerprint(tenant)
        };
        assert_eq!(key("tnt_a", "k1"), key("tnt_a", "k1"));
        assert_ne!(key("tnt_a", "k1"), key("tnt_b", "k1"));
        assert_ne!(key("tnt_a", "k1"), key("tnt_a", "k2"));
    }

    #[test]
    fn debug_never_prints_a_private_key() {
        let key = ApnsKey {
            team_id: "ABCDE12345".to_owned(),
            key_id: "KEY1234567".to_owned(),
            private_key: SecretString::from("-----BEGIN PRIVATE KEY-----secret"),
        };
        let printed = format!(
            "{:?}",
            TenantCredentials {
                apns: Some(key),
                fcm: None,
                user_verification: Some(UserVerificationSecret {
                    secret: "verification-secret".to_owned(),
                    created_at: "2026-12-03T08:00:00Z".to_owned(),
                }),
                web_push: None,
            }
        );
        assert!(printed.contains("ABCDE12345"), "{printed}");
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn only_googles_token_endpoint_is_used_without_an_override() {
        let account = |token_uri: &str| ServiceAccount {
            project_id: "my-app-123".to_owned(),
            client_email: "a@my-app-123.iam.gserviceaccount.com".to_owned(),
            private_key: SecretString::from("k"),
            token_uri: token_uri.to_owned(),
            private_key_id: None,
        };
        let google = account(GOOGLE_TOKEN_URIS[0]);
        assert_eq!(google.token_url(None), Some(GOOGLE_TOKEN_URIS[0]));
        assert_eq!(account("http://169.254.169.254/").token_url(None), None);
        let local = Some("http://127.0.0.1:9100/token");
        assert_eq!(account("http://169.254.169.254/").token_url(local), local);
    }
}
