//! A tenant's limits: set by the deployment's operator (`notifyctl
//! tenant-limits`, and the deployment-wide defaults), never by the tenant's
//! own users.
//!
//! Stored on the tenant item as overrides only (an absent limit follows the
//! deployment's default, so a changed default reaches every tenant that did
//! not get its own); shown in the tenant object with every limit filled in.

use serde::{Deserialize, Serialize};

/// Each limit `None` where the deployment's default applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLimits {
    /// Requests per second of all the tenant's API keys together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// Device pushes attempted per UTC day, single and bulk sends together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes_per_day: Option<u32>,
    /// Devices registered (activity tokens not included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<u32>,
}

/// The deployment's defaults (`NOTIFY_TENANT_*`, the template's
/// `TenantRequestsPerSecond`, `TenantPushesPerDay` and `TenantDevices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    pub requests_per_second: u32,
    pub pushes_per_day: u32,
    pub devices: u32,
}

impl Default for EffectiveLimits {
    fn default() -> Self {
        Self {
            requests_per_second: 1_000,
            pushes_per_day: 10_000_000,
            devices: 10_000_000,
        }
    }
}

impl TenantLimits {
    /// Each limit, the deployment's `defaults` where the tenant has none.
    pub fn effective(&self, defaults: EffectiveLimits) -> EffectiveLimits {
        EffectiveLimits {
            requests_per_second: self
                .requests_per_second
                .unwrap_or(defaults.requests_per_second),
            pushes_per_day: self.pushes_per_day.unwrap_or(defaults.pushes_per_day),
            devices: self.devices.unwrap_or(defaults.devices),
        }
    }

    /// As the tenant object shows them: every limit filled in.
    pub fn shown(&self, defaults: EffectiveLimits) -> Self {
        let effective = self.effective(defaults);
        Self {
            requests_per_second: Some(effective.requests_per_second),
            pushes_per_day: Some(effective.pushes_per_day),
            devices: Some(effective.devices),
        }
    }

    /// `other`'s limits where it sets one, this one's elsewhere.
    pub fn overridden_by(&self, other: TenantLimits) -> Self {
        Self {
            requests_per_second: other.requests_per_second.or(self.requests_per_second),
            pushes_per_day: other.pushes_per_day.or(self.pushes_per_day),
            devices: other.devices.or(self.devices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_s_own_limit_wins_and_the_rest_follow_the_deployment() {
        let defaults = EffectiveLimits::default();
        let own = TenantLimits {
            devices: Some(500),
            ..TenantLimits::default()
        };
        let effective = own.effective(defaults);
        assert_eq!(effective.devices, 500);
        assert_eq!(effective.pushes_per_day, defaults.pushes_per_day);
        assert_eq!(
            serde_json::to_value(own).ok(),
            Some(serde_json::json!({"devices": 500})),
            "only overrides are stored"
        );
        assert_eq!(
            serde_json::to_value(own.shown(defaults)).ok(),
            Some(serde_json::json!({
                "requests_per_second": 1000, "pushes_per_day": 10_000_000, "devices": 500
            }))
        );
        let raised = own.overridden_by(TenantLimits {
            pushes_per_day: Some(7),
            ..TenantLimits::default()
        });
        assert_eq!(
            (raised.devices, raised.pushes_per_day),
            (Some(500), Some(7))
        );
    }
}
