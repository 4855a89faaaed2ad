//! FCM's send quota (the `quota` fault): each project (or only the one
//! named) may make `requests` sends per window; past that, every send is answered 429
//! `QUOTA_EXCEEDED` until the window ends, and counted, so a test can see
//! whether a client kept hammering while throttled ("Firebase: FCM
//! throttling and quotas": 600,000 messages a minute per project; the
//! ErrorCode page: back off for at least a minute).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Projects tracked at once; the oldest window is dropped beyond this.
const MAX_PROJECTS: usize = 1024;

#[derive(Debug, Serialize)]
pub(crate) struct Quota {
    requests: u64,
    window_secs: u64,
    retry_after_secs: Option<u64>,
    /// Only this project is limited; all when absent.
    project_id: Option<String>,
    /// Sends refused while a project's quota was spent, by project.
    throttled: BTreeMap<String, u64>,
    #[serde(skip)]
    windows: BTreeMap<String, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u64,
}

impl Quota {
    pub fn new(
        requests: u64,
        window_secs: u64,
        retry_after_secs: Option<u64>,
        project_id: Option<String>,
    ) -> Self {
        Self {
            requests,
            window_secs,
            retry_after_secs,
            project_id,
            throttled: BTreeMap::new(),
            windows: BTreeMap::new(),
        }
    }

    /// `Some(Retry-After)` when this send of `project` is over quota.
    pub fn take(&mut self, project: &str, now: Instant) -> Option<Option<u64>> {
        if self
            .project_id
            .as_deref()
            .is_some_and(|only| only != project)
        {
            return None;
        }
        let length = Duration::from_secs(self.window_secs);
        if !self.windows.contains_key(project) && self.windows.len() >= MAX_PROJECTS {
            let oldest = self
                .windows
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(p, _)| p.clone());
            if let Some(oldest) = oldest {
                self.windows.remove(&oldest);
            }
        }
        let window = self.windows.entry(project.to_owned()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.saturating_duration_since(window.started) >= length {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        if window.used < self.requests {
            window.used += 1;
            return None;
        }
        if self.throttled.len() < MAX_PROJECTS || self.throttled.contains_key(project) {
            *self.throttled.entry(project.to_owned()).or_default() += 1;
        }
        Some(self.retry_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_quota_refuses_and_counts_until_its_window_ends_per_project() {
        let mut quota = Quota::new(2, 60, None, None);
        let start = Instant::now();
        assert_eq!(quota.take("p", start), None);
        assert_eq!(quota.take("p", start), None);
        assert_eq!(quota.take("p", start), Some(None));
        assert_eq!(quota.take("q", start), None, "another project has its own");
        assert_eq!(quota.take("p", start + Duration::from_secs(59)), Some(None));
        assert_eq!(quota.throttled.get("p"), Some(&2));
        assert_eq!(quota.take("p", start + Duration::from_secs(60)), None);
        let mut only = Quota::new(0, 60, None, Some("p".to_owned()));
        assert_eq!(only.take("q", start), None);
        assert_eq!(only.take("p", start), Some(None));
    }
}
