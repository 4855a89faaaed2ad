//! Usage of an API key in hour or day buckets, as the usage endpoints show it.

use serde::{Deserialize, Serialize};

/// One bucket's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageBucket {
    /// The bucket's start, RFC 3339 UTC.
    pub start: String,
    /// Requests authenticated with the key.
    pub requests: u32,
    /// Its 4xx answers (429s included).
    pub rejected: u32,
    /// Its 429 answers.
    pub throttled: u32,
    /// Device pushes attempted for it, single and bulk.
    pub pushes: u32,
    pub pushes_failed: u32,
}

/// `GET /tenants/{tenant_id}/api-keys/{key_id}/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsage {
    pub key_id: String,
    /// `hour` (the last 48 hours) or `day` (the last 90 days).
    pub period: String,
    /// Oldest first, the current hour or day last; every bucket of the
    /// period, those without requests at zero.
    pub buckets: Vec<UsageBucket>,
}

/// `GET /tenants/{tenant_id}/usage`: the totals of the tenant's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUsage {
    pub tenant_id: String,
    pub period: String,
    pub buckets: Vec<UsageBucket>,
}
