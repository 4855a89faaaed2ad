//! The tenant's VAPID key (RFC 8292): a P-256 key pair whose public half the
//! web app passes as `applicationServerKey`, and whose private half signs the
//! `Authorization: vapid t=<jwt>, k=<key>` of every push. The private key
//! lives only in the tenant's secret, as PKCS#8 PEM.

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::subscription::encode_base64url;
use crate::error::{Error, Result};

/// RFC 8292 §2: a JWT must not be valid for more than 24 hours.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;
/// A contact URI is short; a long one is more likely a mistake.
const MAX_SUBJECT_CHARS: usize = 256;

/// What the tenant's secret holds for Web Push.
#[derive(Clone, Serialize, Deserialize)]
pub struct VapidKey {
    /// The `sub` claim: `mailto:` or `https:` contact of the sender.
    pub subject: String,
    /// PKCS#8 PEM of the P-256 private key.
    #[serde(serialize_with = "expose")]
    pub private_key: SecretString,
    /// Base64url of the uncompressed public point (65 bytes).
    pub public_key: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("subject", &self.subject)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// `mailto:` with an address, or an `https:` URL (RFC 8292 §2.1).
pub fn validate_subject(subject: &str) -> Result<()> {
    let plain = subject.chars().count() <= MAX_SUBJECT_CHARS
        && !subject.chars().any(|c| c.is_control() || c.is_whitespace());
    let valid = plain
        && match (
            subject.strip_prefix("mailto:"),
            subject.strip_prefix("https://"),
        ) {
            (Some(address), _) => address
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')),
            (_, Some(rest)) => rest.split('/').next().is_some_and(|host| !host.is_empty()),
            _ => false,
        };
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            "`web_push.subject` must be a `mailto:` address or an `https:` URL where the push service can reach you (RFC 8292)",
        ))
    }
}

fn pem_of(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

fn der_of(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

fn unusable() -> Error {
    Error::invalid_credentials(
        "`web_push.private_key` must be a P-256 private key in PKCS#8 PEM (a PEM block labelled PRIVATE KEY)",
    )
}

impl VapidKey {
    /// A new key pair for `subject`.
    pub fn generate(subject: &str) -> Result<Self> {
        validate_subject(subject)?;
        let document = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .map_err(|_| Error::internal("generating a VAPID key", "key generation failed"))?;
        Self::from_pem(subject, &pem_of(document.as_ref()))
            .map_err(|_| Error::internal("generating a VAPID key", "generated key unusable"))
    }

    /// An uploaded key: it must be PKCS#8 P-256 and sign an ES256 token.
    pub fn from_pem(subject: &str, pem: &str) -> Result<Self> {
        validate_subject(subject)?;
        let der = der_of(pem).ok_or_else(unusable)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|_| unusable())?;
        let key = Self {
            subject: subject.to_owned(),
            private_key: SecretString::from(pem_of(&der)),
            public_key: encode_base64url(pair.public_key().as_ref()),
        };
        key.sign("https://probe.invalid", 60)
            .map_err(|_| unusable())?;
        Ok(key)
    }

    /// What a VAPID header is cached under: the tenant and the whole key.
    pub fn fingerprint(&self, tenant_id: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [
            "webpush",
            tenant_id,
            &self.subject,
            self.private_key.expose_secret(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    }

    /// `vapid t=<ES256 JWT for audience, expiring at exp>, k=<public key>`.
    pub fn sign(&self, audience: &str, exp: u64) -> std::result::Result<String, &'static str> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: u64,
            sub: &'a str,
        }
        const UNUSABLE: &str = "web push key of tenant cannot sign VAPID tokens";
        let key = EncodingKey::from_ec_pem(self.private_key.expose_secret().as_bytes())
            .map_err(|_| UNUSABLE)?;
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &Claims {
                aud: audience,
                exp,
                sub: &self.subject,
            },
            &key,
        )
        .map_err(|_| UNUSABLE)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_push_protocol::subscription::{decode_base64url, is_p256_point};

    #[test]
    fn a_generated_key_has_a_65_byte_public_point_and_signs() {
        let key = VapidKey::generate("mailto:ops@example.com").unwrap();
        let point = decode_base64url(&key.public_key).unwrap();
        assert!(is_p256_point(&point));
        let header = key.sign("https://fcm.googleapis.com", 1).unwrap();
        assert!(header.starts_with("vapid t=ey"), "{header}");
        assert!(header.ends_with(&format!(", k={}", key.public_key)));
        let again = VapidKey::from_pem(
            "https://example.com/contact",
            key.private_key.expose_secret(),
        )
        .unwrap();
        assert_eq!(again.public_key, key.public_key);
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn subjects_are_mailto_or_https() {
        for good in ["mailto:ops@acme.com", "https://acme.com/push"] {
            assert!(validate_subject(good).is_ok(), "{good}");
        }
        for bad in [
            "ops@acme.com",
            "http://acme.com",
            "mailto:",
            "mailto:x y@a.b",
            "https://",
        ] {
            let err = validate_subject(bad).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("`web_push.subject`")),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_pkcs8_p256_keys_are_accepted() {
        let p384 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        for bad in [
            pem_of(p384.as_ref()),
            "not a key".to_owned(),
            pem_of(b"junk"),
        ] {
            let err = VapidKey::from_pem("mailto:a@b.co", &bad)
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("`web_push.private_key`")));
        }
    }
}
