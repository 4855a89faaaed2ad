//! Provider credentials: validated on the way in, kept only in Secrets Manager.
//!
//! A key is "usable" when it signs: the `.p8` must sign an ES256 token (so it is
//! a P-256 PKCS#8 key) and the service account's key an RS256 one. That is the
//! exact operation the providers' clients perform later.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One tenant's provider credentials: the content of its secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCredentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fcm: Option<ServiceAccount>,
    /// The user verification secret (`POST /tenants/{id}/user-verification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<UserVerificationSecret>,
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApnsKey {
    pub team_id: String,
    pub key_id: String,
    pub private_key: String,
}

/// The fields of a Google service-account JSON that FCM HTTP v1 needs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    pub token_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
}

// Debug never prints key material: these structs travel near log statements.
impl std::fmt::Debug for TenantCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantCredentials")
            .field("apns", &self.apns)
            .field("fcm", &self.fcm)
            .field("user_verification", &self.user_verification)
            .finish()
    }
}

impl std::fmt::Debug for ApnsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
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
        private_key: private_key.to_owned(),
    })
}

/// Accepts the service-account JSON as an object or as a string holding it.
pub fn parse_service_account(value: &serde_json::Value) -> Result<ServiceAccount> {
    let object = match value {
        serde_json::Value::String(text) => serde_json::from_str(text).map_err(|_| {
            Error::invalid_credentials("`fcm_service_account` is a string but not JSON")
        })?,
        other => other.clone(),
    };
    let serde_json::Value::Object(fields) = &object else {
        return Err(Error::invalid_credentials(
            "`fcm_service_account` must be a Google service-account JSON object",
        ));
    };
    let text = |name: &str| -> Result<String> {
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
    };
    let account = ServiceAccount {
        project_id: text("project_id")?,
        client_email: text("client_email")?,
        private_key: text("private_key")?,
        token_uri: text("token_uri")?,
        private_key_id: fields
            .get("private_key_id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    };
    if !account.client_email.contains('@') {
        return Err(Error::invalid_credentials(
            "`fcm_service_account.client_email` must be an email address",
        ));
    }
    if !(account.token_uri.starts_with("https://") || account.token_uri.starts_with("http://")) {
        return Err(Error::invalid_credentials(
            "`fcm_service_account.token_uri` must be an http(s) URL",
        ));
    }
    let unusable = || {
        Error::invalid_credentials(
            "`fcm_service_account.private_key` must be an RSA private key in PEM",
        )
    };
    let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|_| unusable())?;
    sign_probe(Algorithm::RS256, &key).map_err(|_| unusable())?;
    Ok(account)
}

fn sign_probe(algorithm: Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<String> {
    #[derive(Serialize)]
    struct Probe {
        probe: bool,
    }
    jsonwebtoken::encode(&Header::new(algorithm), &Probe { probe: true }, key)
}
