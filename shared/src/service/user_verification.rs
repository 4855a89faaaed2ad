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
/// [`change_tenant`]: serialised with PATCHes, and never left behind by a
/// deletion that races it.
pub async fn create_user_verification(
    app: &App,
    tenant: Tenant,
) -> Result<CreatedUserVerification> {
    let tenant_id = tenant.tenant_id.clone();
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let created_at = now_rfc3339();
    // Secret first: the marker never announces a secret that is not there.
    let stored = UserVerificationSecret {
        secret: secret.clone(),
        created_at: created_at.clone(),
    };
    change_tenant(app, tenant, |credentials| {
        credentials.user_verification = Some(stored);
        true
    })
    .await?;
    app.store
        .put_user_verification(&tenant_id, &created_at)
        .await?;
    tracing::info!(tenant_id = %tenant_id, "user verification secret created");
    Ok(CreatedUserVerification { secret, created_at })
}

/// Turns user verification off and forgets the secret; 404 when it was off.
pub async fn delete_user_verification(
    app: &App,
    tenant: Tenant,
) -> Result<DeletedUserVerification> {
    let tenant_id = tenant.tenant_id.clone();
    // Marker first: registrations stop asking for signatures before the
    // secret they are checked with goes.
    let was_on = app.store.delete_user_verification(&tenant_id).await?;
    let mut had_secret = false;
    change_tenant(app, tenant, |credentials| {
        had_secret = credentials.user_verification.take().is_some();
        had_secret
    })
    .await?;
    if !was_on && !had_secret {
        return Err(Error::NotFound(
            "user verification is not on for this tenant".to_owned(),
        ));
    }
    tracing::info!(tenant_id = %tenant_id, "user verification turned off");
    Ok(DeletedUserVerification { deleted: true })
}

/// For a registration by a `register`-only key: whether the request proved
/// its user. With verification off there is nothing to prove it with
/// (`false`); with it on, `user_signature` must be right (403
/// `user_signature_invalid` otherwise).
pub async fn verify_user(
    app: &App,
    tenant_id: &str,
    user_id: &str,
    user_signature: Option<&str>,
) -> Result<bool> {
    if app.store.user_verification(tenant_id).await?.is_none() {
        return Ok(false);
    }
    let credentials = app.secrets.tenant_credentials(tenant_id).await?;
    let Some(secret) = credentials.user_verification else {
        // Fail closed: the marker says on, so a signature is required.
        return Err(Error::internal(
            "checking user signature",
            "user verification is on but the tenant's secret holds none",
        ));
    };
    let expected = hex::encode(hmac_sha256(secret.secret.as_bytes(), user_id.as_bytes()));
    let valid =
        user_signature.is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()));
    if !valid {
        tracing::info!(
            tenant_id = %tenant_id,
            present = user_signature.is_some(),
            "user signature refused"
        );
        return Err(Error::Refused {
            code: "user_signature_invalid",
            detail: "`user_signature` is missing or wrong: this tenant requires the lowercase hex \
                     HMAC-SHA256 of `user_id` under its user verification secret"
                .to_owned(),
        });
    }
    Ok(true)
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
