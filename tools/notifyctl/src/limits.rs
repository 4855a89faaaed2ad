//! `notifyctl tenant-limits`: the operator sets a tenant's limits (its
//! users cannot), or shows the ones set.

use anyhow::{anyhow, bail, Result};
use notify_shared::model::TenantLimits;
use notify_shared::store::Store;
use serde::Serialize;

/// One limit as given on the command line: a positive number, or
/// `default` to follow the deployment's default again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSetting {
    Set(u32),
    Default,
}

/// clap's value parser for a [`LimitSetting`].
pub fn parse_limit(text: &str) -> Result<LimitSetting> {
    if text.eq_ignore_ascii_case("default") {
        return Ok(LimitSetting::Default);
    }
    match text.trim().parse::<u32>() {
        Ok(value) if value > 0 => Ok(LimitSetting::Set(value)),
        _ => bail!("expected a positive whole number up to 4294967295, or `default`"),
    }
}

/// What the command changes; `None` leaves a limit as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitChanges {
    pub requests_per_second: Option<LimitSetting>,
    pub pushes_per_day: Option<LimitSetting>,
    pub devices: Option<LimitSetting>,
}

impl LimitChanges {
    pub fn is_empty(&self) -> bool {
        self.requests_per_second.is_none()
            && self.pushes_per_day.is_none()
            && self.devices.is_none()
    }

    fn apply(&self, limits: TenantLimits) -> TenantLimits {
        let apply = |current: Option<u32>, change: Option<LimitSetting>| match change {
            None => current,
            Some(LimitSetting::Set(value)) => Some(value),
            Some(LimitSetting::Default) => None,
        };
        TenantLimits {
            requests_per_second: apply(limits.requests_per_second, self.requests_per_second),
            pushes_per_day: apply(limits.pushes_per_day, self.pushes_per_day),
            devices: apply(limits.devices, self.devices),
        }
    }
}

/// What the command prints: the tenant's own limits (absent ones follow
/// the deployment's defaults).
#[derive(Debug, Serialize)]
pub struct TenantLimitsReport {
    pub tenant_id: String,
    pub limits: TenantLimits,
}

/// Applies `changes` to the tenant's limits (none: only reads them).
pub async fn tenant_limits(
    store: &Store,
    tenant_id: &str,
    changes: LimitChanges,
) -> Result<TenantLimitsReport> {
    let missing = || anyhow!("no live tenant `{tenant_id}`");
    let tenant = store.get_tenant(tenant_id).await?.ok_or_else(missing)?;
    if changes.is_empty() {
        return Ok(TenantLimitsReport {
            tenant_id: tenant.tenant_id,
            limits: tenant.limits,
        });
    }
    let limits = changes.apply(tenant.limits);
    let now = chrono::Utc::now().timestamp();
    let tenant = store
        .set_tenant_limits(tenant_id, limits, now)
        .await?
        .ok_or_else(missing)?;
    Ok(TenantLimitsReport {
        tenant_id: tenant.tenant_id,
        limits: tenant.limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_a_positive_number_or_default() {
        assert_eq!(parse_limit("500").ok(), Some(LimitSetting::Set(500)));
        assert_eq!(parse_limit("default").ok(), Some(LimitSetting::Default));
        for bad in ["0", "-1", "1.5", "lots", "4294967296"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn changes_set_or_clear_only_the_limits_named() {
        let current = TenantLimits {
            requests_per_second: Some(10),
            pushes_per_day: Some(20),
            devices: None,
        };
        let changes = LimitChanges {
            pushes_per_day: Some(LimitSetting::Default),
            devices: Some(LimitSetting::Set(5)),
            ..LimitChanges::default()
        };
        assert_eq!(
            changes.apply(current),
            TenantLimits {
                requests_per_second: Some(10),
                pushes_per_day: None,
                devices: Some(5),
            }
        );
    }
}
