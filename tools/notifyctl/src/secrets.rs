//! The user-token signing secret: created, rotated, read to mint tokens.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::Client;
use rand::distr::{Alphanumeric, SampleString};

/// Length of a generated signing secret, as in `template.yaml`.
pub const SIGNING_SECRET_LENGTH: usize = 64;

/// `SIGNING_SECRET_LENGTH` random characters of `[A-Za-z0-9]` from the
/// thread-local CSPRNG.
pub fn random_signing_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), SIGNING_SECRET_LENGTH)
}

/// Creates `secret_id` with a random value unless it exists; an existing
/// secret is left unchanged.
#[tracing::instrument(skip(client))]
pub async fn ensure_signing_secret(client: &Client, secret_id: &str) -> Result<()> {
    let created = client
        .create_secret()
        .name(secret_id)
        .description("HS256 secret that signs Notify user tokens.")
        .secret_string(random_signing_secret())
        .send()
        .await;
    match created {
        Ok(_) => {
            tracing::info!(secret_id, "signing secret created");
            Ok(())
        }
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateSecretError::ResourceExistsException(_))
            ) =>
        {
            tracing::info!(secret_id, "signing secret already exists; left unchanged");
            Ok(())
        }
        Err(err) => {
            Err(anyhow!(err)).with_context(|| format!("creating signing secret {secret_id}"))
        }
    }
}

/// Stores a new random value as the current version. Functions re-read the
/// secret at most five minutes after they last loaded it, so tokens signed
/// with the old value stop verifying within five minutes.
#[tracing::instrument(skip(client))]
pub async fn rotate_signing_secret(client: &Client, secret_id: &str) -> Result<()> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(random_signing_secret())
        .send()
        .await
        .map_err(|err| anyhow!(err))
        .with_context(|| format!("writing a new value to {secret_id}"))?;
    tracing::info!(secret_id, "signing secret rotated");
    Ok(())
}

/// The current value, as the functions read it.
pub async fn read_signing_secret(client: &Client, secret_id: &str) -> Result<String> {
    let value = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|err| anyhow!(err))
        .with_context(|| format!("reading signing secret {secret_id}"))?
        .secret_string
        .unwrap_or_default();
    if value.is_empty() {
        bail!("signing secret {secret_id} has no string value");
    }
    Ok(value)
}
