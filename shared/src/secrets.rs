//! Secrets Manager: the user-token signing secret and one secret per tenant
//! holding its provider credentials.

use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::Client;

use crate::credentials::TenantCredentials;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Secrets {
    client: Client,
    tenant_prefix: String,
}

impl Secrets {
    pub fn new(client: Client, tenant_prefix: impl Into<String>) -> Self {
        Self {
            client,
            tenant_prefix: tenant_prefix.into(),
        }
    }

    pub fn tenant_secret_name(&self, tenant_id: &str) -> String {
        format!("{}{tenant_id}", self.tenant_prefix)
    }

    #[tracing::instrument(skip(self))]
    pub async fn secret_string(&self, secret_id: &str) -> Result<String> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|err| Error::from_sdk("reading secret", err))?;
        output
            .secret_string
            .filter(|value| !value.is_empty())
            .ok_or_else(|| Error::internal("reading secret", "secret has no string value"))
    }

    /// The tenant's credentials; empty when it never had any.
    #[tracing::instrument(skip(self))]
    pub async fn tenant_credentials(&self, tenant_id: &str) -> Result<TenantCredentials> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(self.tenant_secret_name(tenant_id))
            .send()
            .await;
        let text = match result {
            Ok(output) => output.secret_string.unwrap_or_default(),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                return Ok(TenantCredentials::default())
            }
            Err(err) => return Err(Error::from_sdk("reading tenant credentials", err)),
        };
        serde_json::from_str(&text)
            .map_err(|err| Error::internal("decoding tenant credentials", err))
    }

    /// Stores a new tenant's credentials: its id is fresh, so the secret is
    /// created, never overwritten.
    #[tracing::instrument(skip(self, credentials))]
    pub async fn create_tenant_credentials(
        &self,
        tenant_id: &str,
        credentials: &TenantCredentials,
    ) -> Result<()> {
        let text = encode_credentials(credentials)?;
        self.create_tenant_secret(tenant_id, text).await
    }

    /// Replaces the tenant's credentials, creating its secret when the
    /// tenant had none. Only under a claim of the tenant
    /// (`service::tenants::change_tenant`): Secrets Manager has no
    /// conditional write, and a creation could otherwise outlive a deletion.
    #[tracing::instrument(skip(self, credentials))]
    pub async fn save_tenant_credentials(
        &self,
        tenant_id: &str,
        credentials: &TenantCredentials,
    ) -> Result<()> {
        let text = encode_credentials(credentials)?;
        let put = self
            .client
            .put_secret_value()
            .secret_id(self.tenant_secret_name(tenant_id))
            .secret_string(&text)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                self.create_tenant_secret(tenant_id, text).await
            }
            Err(err) => Err(Error::from_sdk("writing tenant credentials", err)),
        }
    }

    async fn create_tenant_secret(&self, tenant_id: &str, text: String) -> Result<()> {
        self.client
            .create_secret()
            .name(self.tenant_secret_name(tenant_id))
            .description("Notify tenant provider credentials (APNs key, FCM service account)")
            .secret_string(text)
            .send()
            .await
            .map_err(|err| Error::from_sdk("creating tenant secret", err))?;
        Ok(())
    }

    /// Removes the tenant's secret at once (no recovery window: a deleted
    /// tenant's keys must not linger).
    #[tracing::instrument(skip(self))]
    pub async fn delete_tenant_credentials(&self, tenant_id: &str) -> Result<()> {
        let result = self
            .client
            .delete_secret()
            .secret_id(self.tenant_secret_name(tenant_id))
            .force_delete_without_recovery(true)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteSecretError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::from_sdk("deleting tenant secret", err)),
        }
    }
}

fn encode_credentials(credentials: &TenantCredentials) -> Result<String> {
    serde_json::to_string(credentials)
        .map_err(|err| Error::internal("encoding tenant credentials", err))
}
