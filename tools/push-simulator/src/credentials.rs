//! Provider credentials: making fresh ones, deriving public keys from
//! registered private keys, and the registry of what the simulator trusts
//! (plus the tokens it has already verified or issued, so the hot path is a
//! map look-up rather than a signature check).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::anyhow;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use serde_json::{json, Value};

/// Apple's two listeners; here told apart by path (`/sandbox/3/device/…`
/// is `api.sandbox.push.apple.com`, `/3/device/…` is `api.push.apple.com`).
/// Here beside the keys because a key may be restricted to one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Environment {
    Production,
    Sandbox,
}

/// A registered APNs auth key (`.p8`), by key id.
#[derive(Debug)]
pub(crate) struct ApnsKey {
    pub key_id: String,
    pub team_id: String,
    /// Empty: any topic is allowed.
    pub bundle_ids: Vec<String>,
    /// Uncompressed P-256 point.
    pub public_key: Vec<u8>,
    /// A key restricted to Sandbox or Production; `None`: both.
    pub environment: Option<Environment>,
    /// The one other key of the team that may share a connection with it.
    pub related_key_id: Option<String>,
}

/// A registered Google service account, by client email.
#[derive(Debug)]
pub(crate) struct FcmAccount {
    pub client_email: String,
    pub project_id: String,
    pub private_key_id: String,
    pub token_uri: String,
    /// DER `RSAPublicKey`.
    pub public_key: Vec<u8>,
}

/// An APNs provider token whose signature has been checked.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedProviderToken {
    pub key: Arc<ApnsKey>,
    pub issued_at: i64,
}

/// An access token this simulator issued at `/token`.
#[derive(Debug, Clone)]
pub(crate) struct AccessGrant {
    pub account: Arc<FcmAccount>,
    pub expires_at: i64,
}

/// Caches are cleared wholesale past this size: cheap, and a benchmark
/// re-verifies a handful of tokens at most.
const CACHE_LIMIT: usize = 100_000;

pub(crate) struct Registry {
    /// Tells this registry's entries in the per-thread memo from another
    /// simulator's in the same process.
    id: u64,
    apns_keys: RwLock<HashMap<String, Arc<ApnsKey>>>,
    fcm_accounts: RwLock<HashMap<String, Arc<FcmAccount>>>,
    provider_tokens: RwLock<HashMap<Box<str>, VerifiedProviderToken>>,
    /// Bumped whenever verified provider tokens are forgotten, which
    /// invalidates every thread's memo.
    provider_generation: AtomicU64,
    access_tokens: RwLock<HashMap<Box<str>, AccessGrant>>,
}

impl Default for Registry {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            apns_keys: RwLock::default(),
            fcm_accounts: RwLock::default(),
            provider_tokens: RwLock::default(),
            provider_generation: AtomicU64::new(0),
            access_tokens: RwLock::default(),
        }
    }
}

/// The provider token a worker thread verified last. A sender reuses one
/// token for up to an hour, so nearly every request hits this memo and
/// skips the shared map: hashing a 250-byte token and taking a read lock
/// whose counter every worker thread writes (profiled: 5% of the APNs hot
/// path under h2load).
struct ProviderTokenMemo {
    registry: u64,
    generation: u64,
    token: Box<str>,
    verified: VerifiedProviderToken,
}

thread_local! {
    static LAST_PROVIDER_TOKEN: RefCell<Option<ProviderTokenMemo>> = const { RefCell::new(None) };
}

impl Registry {
    pub fn add_apns_key(&self, key: ApnsKey) {
        write(&self.apns_keys).insert(key.key_id.clone(), Arc::new(key));
        // A replaced key must not keep vouching for tokens it signed.
        let mut tokens = write(&self.provider_tokens);
        tokens.clear();
        self.provider_generation.fetch_add(1, Ordering::Release);
    }

    pub fn add_fcm_account(&self, account: FcmAccount) {
        let email = account.client_email.clone();
        write(&self.fcm_accounts).insert(email.clone(), Arc::new(account));
        write(&self.access_tokens).retain(|_, grant| grant.account.client_email != email);
    }

    pub fn apns_key(&self, key_id: &str) -> Option<Arc<ApnsKey>> {
        read(&self.apns_keys).get(key_id).cloned()
    }

    /// The bundle ids of every key of `team_id` (what a connection is bound
    /// to at its first push); `None` when one of them may push to any topic.
    pub fn team_topics(&self, team_id: &str) -> Option<Vec<String>> {
        let keys = read(&self.apns_keys);
        let mut topics = Vec::new();
        for key in keys.values().filter(|key| key.team_id == team_id) {
            if key.bundle_ids.is_empty() {
                return None;
            }
            topics.extend(key.bundle_ids.iter().cloned());
        }
        Some(topics)
    }

    pub fn fcm_account(&self, client_email: &str) -> Option<Arc<FcmAccount>> {
        read(&self.fcm_accounts).get(client_email).cloned()
    }

    /// The token this thread verified last, if it is `token` (raw header
    /// bytes: equal bytes are as valid as the text they were checked as).
    pub fn memoized_provider_token(&self, token: &[u8]) -> Option<VerifiedProviderToken> {
        let generation = self.provider_generation.load(Ordering::Acquire);
        LAST_PROVIDER_TOKEN.with_borrow(|last| {
            last.as_ref()
                .filter(|m| {
                    m.registry == self.id
                        && m.generation == generation
                        && m.token.as_bytes() == token
                })
                .map(|m| m.verified.clone())
        })
    }

    pub fn verified_provider_token(&self, token: &str) -> Option<VerifiedProviderToken> {
        let generation = self.provider_generation.load(Ordering::Acquire);
        let memo = self.memoized_provider_token(token.as_bytes());
        if memo.is_some() {
            return memo;
        }
        let found = read(&self.provider_tokens).get(token).cloned();
        if let Some(verified) = &found {
            LAST_PROVIDER_TOKEN.set(Some(ProviderTokenMemo {
                registry: self.id,
                generation,
                token: token.into(),
                verified: verified.clone(),
            }));
        }
        found
    }

    pub fn remember_provider_token(&self, token: &str, verified: VerifiedProviderToken) {
        let mut tokens = write(&self.provider_tokens);
        if tokens.len() >= CACHE_LIMIT {
            tokens.clear();
        }
        tokens.insert(token.into(), verified);
    }

    pub fn access_grant(&self, token: &str) -> Option<AccessGrant> {
        read(&self.access_tokens).get(token).cloned()
    }

    pub fn issue_access_token(&self, grant: AccessGrant, now: i64) -> String {
        let token = format!("ya29.sim-{}", random_string(ALPHANUMERIC, 96));
        let mut tokens = write(&self.access_tokens);
        if tokens.len() >= CACHE_LIMIT {
            tokens.retain(|_, g| g.expires_at > now);
        }
        tokens.insert(token.as_str().into(), grant);
        token
    }

    /// Registered credentials without secrets, for `GET /admin/credentials`.
    pub fn summary(&self) -> Value {
        let apns: Vec<Value> = read(&self.apns_keys)
            .values()
            .map(|k| json!({"key_id": k.key_id, "team_id": k.team_id, "bundle_ids": k.bundle_ids}))
            .collect();
        let fcm: Vec<Value> = read(&self.fcm_accounts)
            .values()
            .map(|a| {
                json!({"client_email": a.client_email, "project_id": a.project_id,
                       "private_key_id": a.private_key_id, "token_uri": a.token_uri})
            })
            .collect();
        json!({"apns_keys": apns, "fcm_accounts": fcm})
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// A fresh APNs auth key: the registered key and the `.p8` PEM.
pub(crate) fn generate_apns_key(
    team_id: Option<String>,
    bundle_ids: Vec<String>,
) -> anyhow::Result<(ApnsKey, String)> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| anyhow!("P-256 key generation failed"))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| anyhow!("P-256 key serialization failed"))?;
    let key = ApnsKey {
        key_id: random_string(UPPER_ALPHANUMERIC, 10),
        team_id: team_id.unwrap_or_else(|| random_string(UPPER_ALPHANUMERIC, 10)),
        bundle_ids,
        public_key: pair.public_key().as_ref().to_vec(),
        environment: None,
        related_key_id: None,
    };
    Ok((key, pem_encode("PRIVATE KEY", pkcs8.as_ref())))
}

/// The public point of a P-256 private key in PKCS#8 or SEC1 PEM.
pub(crate) fn apns_public_key(pem: &str) -> Result<Vec<u8>, String> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "private_key is not a PEM private key".to_owned())?;
    let pair = match &der {
        PrivateKeyDer::Pkcs8(d) => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, d.secret_pkcs8_der())
        }
        PrivateKeyDer::Sec1(d) => EcdsaKeyPair::from_private_key_der(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            d.secret_sec1_der(),
        ),
        _ => return Err("private_key is not an EC key".to_owned()),
    }
    .map_err(|_| "private_key is not a P-256 key".to_owned())?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// A fresh service account: the registered account and its JSON file.
pub(crate) fn generate_service_account(
    project_id: &str,
    token_uri: &str,
) -> anyhow::Result<(FcmAccount, Value)> {
    let pair =
        RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow!("RSA key generation failed"))?;
    let pkcs8: Pkcs8V1Der = pair
        .as_der()
        .map_err(|_| anyhow!("RSA key serialization failed"))?;
    let account = FcmAccount {
        client_email: format!(
            "firebase-adminsdk-{}@{project_id}.iam.gserviceaccount.com",
            random_string(LOWER_ALPHANUMERIC, 5)
        ),
        project_id: project_id.to_owned(),
        private_key_id: random_string(b"0123456789abcdef", 40),
        token_uri: token_uri.to_owned(),
        public_key: pair.public_key().as_ref().to_vec(),
    };
    let file = json!({
        "type": "service_account",
        "project_id": account.project_id,
        "private_key_id": account.private_key_id,
        "private_key": pem_encode("PRIVATE KEY", pkcs8.as_ref()),
        "client_email": account.client_email,
        "client_id": format!("1{}", random_string(b"0123456789", 20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": account.token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            account.client_email.replace('@', "%40")
        ),
        "universe_domain": "googleapis.com",
    });
    Ok((account, file))
}

/// The DER `RSAPublicKey` of an RSA private key in PKCS#8 or PKCS#1 PEM.
pub(crate) fn rsa_public_key(pem: &str) -> Result<Vec<u8>, String> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "private_key is not a PEM private key".to_owned())?;
    let pair = match &der {
        PrivateKeyDer::Pkcs8(d) => RsaKeyPair::from_pkcs8(d.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(d) => RsaKeyPair::from_der(d.secret_pkcs1_der()),
        _ => return Err("private_key is not an RSA key".to_owned()),
    }
    .map_err(|_| "private_key is not a usable RSA key".to_owned())?;
    Ok(pair.public_key().as_ref().to_vec())
}

pub(crate) fn random_project_id() -> String {
    format!("notify-sim-{}", random_string(LOWER_ALPHANUMERIC, 6))
}

const UPPER_ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER_ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_apns_key_pem_yields_the_same_public_key() {
        let (key, pem) = generate_apns_key(None, vec![]).unwrap();
        assert_eq!(key.key_id.len(), 10);
        assert!(key
            .key_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(apns_public_key(&pem).unwrap(), key.public_key);
    }

    fn verified(registry: &Registry, key_id: &str) -> VerifiedProviderToken {
        VerifiedProviderToken {
            key: registry.apns_key(key_id).unwrap(),
            issued_at: 1,
        }
    }

    #[test]
    fn a_replaced_key_stops_vouching_for_a_token_this_thread_memoised() {
        let registry = Registry::default();
        let (key, _) = generate_apns_key(None, vec![]).unwrap();
        let key_id = key.key_id.clone();
        registry.add_apns_key(key);
        registry.remember_provider_token("token-a", verified(&registry, &key_id));
        // Twice: the second answer comes from this thread's memo.
        assert!(registry.verified_provider_token("token-a").is_some());
        assert!(registry.verified_provider_token("token-a").is_some());

        let (mut replacement, _) = generate_apns_key(None, vec![]).unwrap();
        replacement.key_id = key_id;
        registry.add_apns_key(replacement);
        assert!(registry.verified_provider_token("token-a").is_none());
        assert!(registry.verified_provider_token("token-b").is_none());
    }

    #[test]
    fn a_memoised_token_of_one_simulator_is_unknown_to_another() {
        let first = Registry::default();
        let second = Registry::default();
        let (key, _) = generate_apns_key(None, vec![]).unwrap();
        let key_id = key.key_id.clone();
        first.add_apns_key(key);
        first.remember_provider_token("token-a", verified(&first, &key_id));
        assert!(first.verified_provider_token("token-a").is_some());
        assert!(second.verified_provider_token("token-a").is_none());
        assert!(first.verified_provider_token("token-a").is_some());
    }

    #[test]
    fn generated_service_account_pem_yields_the_same_public_key() {
        let (account, file) = generate_service_account("proj", "http://x/token").unwrap();
        let pem = file["private_key"].as_str().unwrap();
        assert_eq!(rsa_public_key(pem).unwrap(), account.public_key);
        assert!(apns_public_key(pem).is_err());
        assert!(account
            .client_email
            .ends_with("@proj.iam.gserviceaccount.com"));
    }
}
