//! Sends held back per FCM project after a `QUOTA_EXCEEDED`: "when clients
//! observe 429 errors, they should voluntarily rate-limit egress"
//! (Firebase, "Best practices when sending FCM messages at scale"). Until
//! the pause ends, a send of that project is reported transient without a
//! request, instead of adding to the "retry amplification" FCM warns about.
//! Per project: one tenant's quota never holds back another's sends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Projects paused at once. When every one is still paused, a new pause is
/// not recorded (its sends are answered 429 one by one instead): no tenant
/// can evict another's pause.
const MAX_PROJECTS: usize = 1024;

#[derive(Default)]
pub(crate) struct Pauses {
    until: Mutex<HashMap<String, Instant>>,
}

impl Pauses {
    /// What is left of `project`'s pause, if any.
    pub fn left(&self, project: &str, now: Instant) -> Option<Duration> {
        let until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let end = *until.get(project)?;
        (end > now).then(|| end - now)
    }

    /// Holds `project`'s sends back for `wait` (a longer pause stays).
    pub fn pause(&self, project: &str, wait: Duration, now: Instant) {
        let Some(end) = now.checked_add(wait) else {
            return;
        };
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if !until.contains_key(project) && until.len() >= MAX_PROJECTS {
            until.retain(|_, end| *end > now);
            if until.len() >= MAX_PROJECTS {
                return;
            }
        }
        let entry = until.entry(project.to_owned()).or_insert(end);
        *entry = (*entry).max(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_one_project_until_it_ends_and_a_full_map_evicts_only_ended_ones() {
        let pauses = Pauses::default();
        let now = Instant::now();
        pauses.pause("p", Duration::from_secs(60), now);
        assert_eq!(pauses.left("p", now), Some(Duration::from_secs(60)));
        assert_eq!(pauses.left("q", now), None);
        assert_eq!(pauses.left("p", now + Duration::from_secs(60)), None);
        for n in 0..MAX_PROJECTS {
            pauses.pause(&format!("x{n}"), Duration::from_secs(60), now);
        }
        pauses.pause("late", Duration::from_secs(60), now);
        assert_eq!(
            pauses.left("late", now),
            None,
            "live pauses are not evicted"
        );
        assert!(pauses.left("x0", now).is_some());
        pauses.pause(
            "later",
            Duration::from_secs(60),
            now + Duration::from_secs(61),
        );
        assert!(pauses
            .left("later", now + Duration::from_secs(61))
            .is_some());
    }
}
