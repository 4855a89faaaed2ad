//! Authorisation: which credential may do what, per the contract's table.
//!
//! `X-API-Key` wins when both headers are sent. A key of tenant A on tenant
//! B's path is refused with 403 whether B exists or not, and the answer says
//! nothing about B. A tenant outside a user's orgs is reported as not found.
//!
//! An [`Authenticator`] holds what authorisation needs, the store and the
//! user-token verifier, and nothing else of `App` (which hands one out).

use lambda_http::Request;

use crate::auth::{api_key, UserClaims, UserTokenVerifier};
use crate::error::{Error, Result};
use crate::http::{header, single_header};
use crate::ids::is_tenant_id;
use crate::limits::{note_activity_sample, ActivitySample, RateLimiter, TenantLimiter};
use crate::model::{ApiKeyGrant, EffectiveLimits};
use crate::model::{Scope, Tenant};
use crate::store::Store;

pub const API_KEY_HEADER: &str = "x-api-key";

/// Who made an authorised request.
#[derive(Debug, Clone)]
pub enum Caller {
    User(UserClaims),
    ApiKey(ApiKeyGrant),
}

impl Caller {
    /// Who to record as the actor: the user's `sub` or the key's id.
    pub fn actor(&self) -> &str {
        match self {
            Caller::User(claims) => &claims.sub,
            Caller::ApiKey(grant) => &grant.key_id,
        }
    }

    /// An API key that may register devices but not manage them (scope
    /// `register` without `devices`): the kind shipped inside an app, so
    /// possibly in a hostile user's hands.
    pub fn is_registration_only(&self) -> bool {
        match self {
            Caller::User(_) => false,
            Caller::ApiKey(grant) => !grant.allows(Scope::Devices),
        }
    }
}

/// An authorised request on one tenant, which has been read already.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    pub tenant: Tenant,
    pub caller: Caller,
}

/// What an endpoint under `/tenants/{tenant_id}` requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Tenant and key management: user tokens only.
    Management,
    /// Device or send endpoints: a user token, or an API key with this scope
    /// (or one that includes it: `devices` includes `register`).
    Scope(Scope),
}

enum Presented<'r> {
    ApiKey(&'r str),
    Bearer(&'r str),
}

fn presented(req: &Request) -> Result<Presented<'_>> {
    // A credential sent twice is no usable credential: 401, as every
    // endpoint documents for credentials it cannot use.
    if let Some(key) = single_header(req, API_KEY_HEADER, "X-API-Key", Error::Unauthorized)? {
        return Ok(Presented::ApiKey(key));
    }
    bearer_token(req).map(Presented::Bearer)
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(req: &Request) -> Result<&str> {
    let value = single_header(req, "authorization", "Authorization", Error::Unauthorized)?
        .ok_or_else(|| {
            Error::Unauthorized(
            "missing credentials: send an `X-API-Key` header or `Authorization: Bearer <token>`"
                .to_owned(),
        )
        })?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            Error::Unauthorized("the Authorization header must be `Bearer <token>`".to_owned())
        })
}

fn invalid_key() -> Error {
    Error::Unauthorized("the API key in `X-API-Key` is not valid".to_owned())
}

/// An API key used on a path that is not its tenant's.
fn foreign_tenant() -> Error {
    Error::Forbidden("this API key is not allowed on this tenant".to_owned())
}

fn user_only() -> Error {
    Error::Forbidden(
        "this endpoint needs a user token (`Authorization: Bearer`); API keys are not accepted"
            .to_owned(),
    )
}

/// Authorisation: what it needs of `App`, borrowed (see the module docs).
#[derive(Clone, Copy)]
pub struct Authenticator<'a> {
    store: &'a Store,
    user_tokens: &'a UserTokenVerifier,
    /// The container's limiters and the deployment's defaults; without
    /// them, keys and tenants are not rate limited.
    rate_limits: Option<RateLimits<'a>>,
}

/// What rate limiting needs: the container's limiters of keys and tenants,
/// the default rate of a key created without one, and the tenants'
/// default limits.
#[derive(Clone, Copy)]
pub struct RateLimits<'a> {
    pub keys: &'a RateLimiter,
    pub tenants: &'a TenantLimiter,
    pub key_default: u32,
    pub tenant_defaults: EffectiveLimits,
}

impl<'a> Authenticator<'a> {
    pub fn new(store: &'a Store, user_tokens: &'a UserTokenVerifier) -> Self {
        Self {
            store,
            user_tokens,
            rate_limits: None,
        }
    }

    /// Counts and limits each request of an API key, and of its tenant.
    pub fn with_rate_limits(self, limits: RateLimits<'a>) -> Self {
        Self {
            rate_limits: Some(limits),
            ..self
        }
    }

    /// A request authenticated with `grant`: counted against the key's rate
    /// before anything else is done, 429 `rate_limited` when over it.
    async fn meter(&self, grant: &ApiKeyGrant) -> Result<()> {
        let Some(limits) = self.rate_limits else {
            return Ok(());
        };
        let limit = grant.rate_limit.unwrap_or(limits.key_default);
        let sampled = limits.keys.admit(self.store, &grant.key_id, limit).await?;
        if let Some((hour_requests, at)) = sampled {
            note_activity_sample(ActivitySample {
                tenant_id: grant.tenant_id.clone(),
                key_id: grant.key_id.clone(),
                hour_requests,
                at,
            });
        }
        Ok(())
    }

    /// A request of one of `tenant`'s keys: counted against the tenant's
    /// `requests_per_second`, 429 `rate_limited` when over it.
    async fn meter_tenant(&self, tenant: &Tenant) -> Result<()> {
        let Some(limits) = self.rate_limits else {
            return Ok(());
        };
        let limit = tenant
            .limits
            .effective(limits.tenant_defaults)
            .requests_per_second;
        // Its keys together cannot exceed it: their own exact limits bound
        // the tenant, and the request costs no lease.
        if tenant.key_rates.is_some_and(|sum| sum <= u64::from(limit)) {
            return Ok(());
        }
        limits
            .tenants
            .admit(self.store, &tenant.tenant_id, limit)
            .await
    }

    /// For `GET /auth/validate`: only a user token will do; an API key is not a
    /// user credential (401, not 403).
    pub async fn authenticate_user_token(&self, req: &Request) -> Result<UserClaims> {
        if header(req, API_KEY_HEADER).is_some() {
            return Err(Error::Unauthorized(
                "API keys are not user credentials: send `Authorization: Bearer <token>`"
                    .to_owned(),
            ));
        }
        self.user_tokens.verify(bearer_token(req)?).await
    }

    /// For endpoints that only users may call (`/tenants` and their keys).
    /// A valid API key gets 403; an invalid one 401.
    pub async fn require_user(&self, req: &Request) -> Result<UserClaims> {
        match presented(req)? {
            Presented::Bearer(token) => self.user_tokens.verify(token).await,
            Presented::ApiKey(key) => {
                let parsed = api_key::parse(key).ok_or_else(invalid_key)?;
                match self.store.find_api_key(&parsed.hash).await? {
                    Some(grant) => {
                        self.meter(&grant).await?;
                        Err(user_only())
                    }
                    None => Err(invalid_key()),
                }
            }
        }
    }

    /// Authorises a request on `/tenants/{tenant_id}/...` and reads the tenant.
    pub async fn authorize_tenant(
        &self,
        req: &Request,
        tenant_id: &str,
        requirement: Requirement,
    ) -> Result<TenantAccess> {
        match presented(req)? {
            Presented::Bearer(token) => {
                let claims = self.user_tokens.verify(token).await?;
                let not_found = || Error::NotFound("tenant not found".to_owned());
                if !is_tenant_id(tenant_id) {
                    return Err(not_found());
                }
                let tenant = self
                    .store
                    .get_tenant(tenant_id)
                    .await?
                    .ok_or_else(not_found)?;
                if !claims.belongs_to(&tenant.org_id) {
                    return Err(not_found());
                }
                Ok(TenantAccess {
                    tenant,
                    caller: Caller::User(claims),
                })
            }
            Presented::ApiKey(key) => self.authorize_key(key, tenant_id, requirement).await,
        }
    }

    /// The API-key half of [`Self::authorize_tenant`].
    async fn authorize_key(
        &self,
        key: &str,
        tenant_id: &str,
        requirement: Requirement,
    ) -> Result<TenantAccess> {
        // Shape and checksum first: a malformed key costs no database read.
        let parsed = api_key::parse(key).ok_or_else(invalid_key)?;
        // A path that is no tenant id (over-long, `#`...) is no key's
        // tenant: 403 for a valid key, 401 for an unknown one, and the
        // path never becomes part of a DynamoDB key.
        if !is_tenant_id(tenant_id) {
            return match self.store.find_api_key(&parsed.hash).await? {
                Some(grant) => {
                    self.meter(&grant).await?;
                    Err(foreign_tenant())
                }
                None => Err(invalid_key()),
            };
        }
        let (grant, tenant) = self
            .store
            .authenticate_api_key(&parsed.hash, tenant_id)
            .await?;
        let grant = grant.ok_or_else(invalid_key)?;
        // Before anything else: a key over its rate gets nothing done.
        self.meter(&grant).await?;
        if grant.tenant_id != tenant_id {
            return Err(Error::Forbidden(
                "this API key is not allowed on this tenant".to_owned(),
            ));
        }
        // The key's own tenant is gone: the key died with it.
        let tenant = tenant.ok_or_else(invalid_key)?;
        self.meter_tenant(&tenant).await?;
        // The key authenticated: that is a use, whatever it was refused for next.
        self.store
            .record_api_key_use(&grant, chrono::Utc::now())
            .await;
        match requirement {
            Requirement::Management => return Err(user_only()),
            Requirement::Scope(scope) if !grant.allows(scope) => {
                return Err(Error::Forbidden(format!(
                    "this API key lacks the {} scope",
                    scope
                        .granted_by()
                        .iter()
                        .map(|granted| format!("`{}`", granted.as_str()))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )))
            }
            Requirement::Scope(_) => {}
        }
        Ok(TenantAccess {
            tenant,
            caller: Caller::ApiKey(grant),
        })
    }
}
