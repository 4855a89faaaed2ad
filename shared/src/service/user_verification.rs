//! User verification: a per-tenant secret with which the tenant's backend
//! signs its users' ids, so that an app's `register` key (extractable from
//! the app) can only register devices for the user the backend vouched for.
//!
//! `user_signature` is the lowercase hex HMAC-SHA256 (RFC 2104) of the
//! `user_id`'s UTF-8 bytes, keyed with the secret's text as handed out (64
//! hex characters, used as they are, not decoded).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::credentials::UserVerificationSecret;
use crate::error::{Error, Result};
use crate::model::Tenant;
use crate::service::tenants::change_tenant;

/// The creation answer: the only time the secret is shown.
#[derive(Clone, Serialize)]
pub struct CreatedUserVerification {
    pub secret: String,
    pub created_at: String,
}

impl std::fmt::Debug for CreatedUserVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedUserVerification")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The `DELETE` answer.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedUserVerification {
    pub deleted: bool,
}

/// Creates the tenant's verification secret, or replaces it (signatures made
/// with the old one stop working at once), and answers it this once. The
/// secret is written as every change of the tenant's secret is, through
/// [`change_tenant`]: serialised with PATCHes and with turning verification
/// off, and never left behind by a deletion that races it. The tenant's
/// `user_verification` flag is derived from the secret in the same change,
/// so the flag never announces a secret that is not there.
pub async fn create_user_verification(
    app: &App,
    tenant: Tenant,
) -> Result<CreatedUserVerification> {
    let tenant_id = tenant.tenant_id.clone();
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let created_at = now_rfc3339();
    let stored = UserVerificationSecret {
        secret: secret.clone(),
        created_at: created_at.clone(),
    };
    change_tenant(app, tenant, |credentials| {
        credentials.user_verification = Some(stored);
        true
    })
    .await?;
    tracing::info!(tenant_id = %tenant_id, "user verification secret created");
    Ok(CreatedUserVerification { secret, created_at })
}

/// Turns user verification off and forgets the secret; 404 when it was off.
/// One change of the tenant, like turning it on: of a concurrent on and
/// off, one waits (409 `tenant_changed`), so flag and secret agree.
pub async fn delete_user_verification(
    app: &App,
    tenant: Tenant,
) -> Result<DeletedUserVerification> {
    let tenant_id = tenant.tenant_id.clone();
    let mut had_secret = false;
    change_tenant(app, tenant, |credentials| {
        had_secret = credentials.user_verification.take().is_some();
        had_secret
    })
    .await?;
    if !had_secret {
        return Err(Error::NotFound(
            "user verification is not on for this tenant".to_owned(),
        ));
    }
    tracing::info!(tenant_id = %tenant_id, "user verification turned off");
    Ok(DeletedUserVerification { deleted: true })
}

/// 403 `user_verification_required`: a `register` key of a tenant without
/// user verification, which anyone who extracts it from the app could use
/// to put their own device under any user id.
fn verification_required(tenant_id: &str) -> Error {
    Error::Refused {
        code: "user_verification_required",
        detail: format!(
            "a `register` key registers devices only while its tenant has user verification on \
             (otherwise anyone who extracts the key could receive any user's pushes): turn it on \
             with POST /tenants/{tenant_id}/user-verification (user token) and send each user's \
             `user_signature`, or register with a `devices` key from your backend"
        ),
    }
}

fn signature_invalid() -> Error {
    Error::Refused {
        code: "user_signature_invalid",
        detail: "`user_signature` is missing or wrong: this tenant requires the lowercase hex \
                 HMAC-SHA256 of `user_id` under its user verification secret"
            .to_owned(),
    }
}

/// Whether `text` can be a signature at all: 64 lowercase hex characters.
fn is_signature_shaped(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// For a registration by a `register`-only key: the request must prove its
/// user. The tenant must have user verification on (403
/// `user_verification_required` otherwise) and `user_signature` must be
/// right (403 `user_signature_invalid`). A missing or malformed signature
/// is refused before any read; the secret is read through a per-container
/// cache keyed by the tenant's revision, which every rotation raises.
pub async fn verify_user(
    app: &App,
    tenant: &Tenant,
    user_id: &str,
    user_signature: Option<&str>,
) -> Result<()> {
    let tenant_id = tenant.tenant_id.as_str();
    if !tenant.user_verification {
        return Err(verification_required(tenant_id));
    }
    let Some(given) = user_signature.filter(|given| is_signature_shaped(given)) else {
        tracing::info!(tenant_id = %tenant_id, present = user_signature.is_some(), "user signature refused");
        return Err(signature_invalid());
    };
    let Some(secret) = app
        .secrets
        .user_verification_secret(tenant_id, tenant.revision)
        .await?
    else {
        // The flag says on but the secret holds none: a change that turned
        // it off died before committing the tenant. Off, then (fail
        // closed); turning it on again heals it.
        tracing::warn!(tenant_id = %tenant_id, "user verification flag without a secret");
        return Err(verification_required(tenant_id));
    };
    let expected = hex::encode(hmac_sha256(secret.secret.as_bytes(), user_id.as_bytes()));
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        tracing::info!(tenant_id = %tenant_id, present = true, "user signature refused");
        return Err(signature_invalid());
    }
    Ok(())
}

/// HMAC-SHA256 as RFC 2104 defines it, over `sha2`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0_u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|byte| byte ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|byte| byte ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equality whose time depends on the lengths only, not on where the first
/// difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha256_hashes_keys_longer_than_a_block_as_rfc_4231_test_case_6() {
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn only_identical_bytes_compare_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn the_created_secret_is_never_printed() {
        let created = CreatedUserVerification {
            secret: "f00d".repeat(16),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
        };
        assert!(!format!("{created:?}").contains("f00d"));
        let stored = UserVerificationSecret {
            secret: "f00d".repeat(16),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
        };
        assert!(!format!("{stored:?}").contains("f00d"));
    }
}
