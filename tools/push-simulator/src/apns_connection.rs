//! What APNs remembers about each connection ("Establishing a token-based
//! connection to APNs"): the first authenticated push binds it to a team,
//! a key (and that key's one related key), an environment and the team's
//! topics as of that push; a new provider token is taken at most once per
//! 20 minutes, and after `TooManyProviderTokenUpdates` the connection is
//! unusable until that much time has passed (an Apple engineer, Developer
//! Forums thread 675879).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::credentials::{ApnsKey, Environment, Registry};

/// Apple's answer when a push breaks its connection's binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub reason: &'static str,
}

const fn refusal(status: StatusCode, reason: &'static str) -> Refusal {
    Refusal { status, reason }
}

const OTHER_TEAM: Refusal = refusal(StatusCode::FORBIDDEN, "InvalidProviderToken");
const UNRELATED_KEY: Refusal = refusal(StatusCode::FORBIDDEN, "UnrelatedKeyIdInToken");
const BAD_ENVIRONMENT: Refusal = refusal(StatusCode::FORBIDDEN, "BadEnvironmentKeyIdInToken");
const NEW_TOPIC: Refusal = refusal(StatusCode::BAD_REQUEST, "TopicDisallowed");
const TOO_MANY_UPDATES: Refusal =
    refusal(StatusCode::TOO_MANY_REQUESTS, "TooManyProviderTokenUpdates");

struct Binding {
    team_id: String,
    key_id: String,
    related_key_id: Option<String>,
    environment: Environment,
    /// The team's bundle ids at the first push; `None`: any (a key of the
    /// team may push to any topic).
    topics: Option<Vec<String>>,
    /// The provider token in use and since when.
    token: Box<[u8]>,
    token_since: Instant,
    /// After `TooManyProviderTokenUpdates`: every push is refused until then.
    unusable_until: Option<Instant>,
}

/// What one push brings to its connection.
pub(crate) struct Push<'a> {
    pub connection: u64,
    pub environment: Environment,
    pub key: &'a ApnsKey,
    /// The JWT, as sent.
    pub token: &'a [u8],
    /// The topic without its push-type suffix.
    pub bundle_id: &'a str,
    pub now: Instant,
}

const SHARDS: usize = 16;

/// The bindings of the open connections, sharded by connection id so that
/// the workers seldom wait on one another.
pub(crate) struct Bindings {
    shards: [Mutex<HashMap<u64, Binding>>; SHARDS],
    token_update_window: Duration,
}

impl Bindings {
    pub fn new(token_update_window: Duration) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::default()),
            token_update_window,
        }
    }

    fn shard(&self, connection: u64) -> MutexGuard<'_, HashMap<u64, Binding>> {
        self.shards[(connection % SHARDS as u64) as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Binds the connection at its first push, or checks the push against
    /// the binding.
    pub fn admit(&self, registry: &Registry, push: &Push<'_>) -> Result<(), Refusal> {
        if push
            .key
            .environment
            .is_some_and(|own| own != push.environment)
        {
            return Err(BAD_ENVIRONMENT);
        }
        let mut shard = self.shard(push.connection);
        let Some(binding) = shard.get_mut(&push.connection) else {
            shard.insert(
                push.connection,
                Binding {
                    team_id: push.key.team_id.clone(),
                    key_id: push.key.key_id.clone(),
                    related_key_id: push.key.related_key_id.clone(),
                    environment: push.environment,
                    topics: registry.team_topics(&push.key.team_id),
                    token: push.token.into(),
                    token_since: push.now,
                    unusable_until: None,
                },
            );
            return Ok(());
        };
        if let Some(until) = binding.unusable_until {
            if push.now < until {
                return Err(TOO_MANY_UPDATES);
            }
            binding.unusable_until = None;
        }
        // One connection, one listener: only a client that rewrites the
        // path could mix them, and it is answered as a key of the wrong
        // environment would be.
        if push.environment != binding.environment {
            return Err(BAD_ENVIRONMENT);
        }
        if push.key.team_id != binding.team_id {
            return Err(OTHER_TEAM);
        }
        let related = push.key.key_id == binding.key_id
            || binding.related_key_id.as_deref() == Some(push.key.key_id.as_str())
            || push.key.related_key_id.as_deref() == Some(binding.key_id.as_str());
        if !related {
            return Err(UNRELATED_KEY);
        }
        if binding
            .topics
            .as_ref()
            .is_some_and(|topics| !topics.iter().any(|t| t == push.bundle_id))
        {
            return Err(NEW_TOPIC);
        }
        if *binding.token != *push.token {
            let since = push.now.saturating_duration_since(binding.token_since);
            if since < self.token_update_window {
                binding.unusable_until = Some(binding.token_since + self.token_update_window);
                return Err(TOO_MANY_UPDATES);
            }
            binding.token = push.token.into();
            binding.token_since = push.now;
        }
        Ok(())
    }

    /// The connection closed.
    pub fn forget(&self, connection: u64) {
        self.shard(connection).remove(&connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(team: &str, id: &str, related: Option<&str>, env: Option<Environment>) -> ApnsKey {
        ApnsKey {
            key_id: id.into(),
            team_id: team.into(),
            bundle_ids: vec!["com.example.app".into()],
            public_key: vec![],
            environment: env,
            related_key_id: related.map(str::to_owned),
        }
    }

    fn push<'a>(key: &'a ApnsKey, token: &'a [u8], now: Instant) -> Push<'a> {
        Push {
            connection: 7,
            environment: Environment::Sandbox,
            key,
            token,
            bundle_id: "com.example.app",
            now,
        }
    }

    /// A registry that knows `keys` (their team's topics come from it).
    fn registry(keys: &[&ApnsKey]) -> Registry {
        let registry = Registry::default();
        for known in keys {
            registry.add_apns_key(key(&known.team_id, &known.key_id, None, None));
        }
        registry
    }

    fn reason(result: Result<(), Refusal>) -> Option<&'static str> {
        result.err().map(|r| r.reason)
    }

    #[test]
    fn a_related_key_shares_a_connection_and_an_unrelated_one_does_not() {
        let bindings = Bindings::new(Duration::from_secs(1200));
        let now = Instant::now();
        let first = key("TEAM000001", "KEYAAAAAAA", Some("KEYBBBBBBB"), None);
        let related = key("TEAM000001", "KEYBBBBBBB", None, None);
        let unrelated = key("TEAM000001", "KEYCCCCCCC", None, None);
        let registry = registry(&[&first, &related, &unrelated]);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&first, b"t1", now))),
            None
        );
        assert_eq!(
            reason(bindings.admit(&registry, &push(&unrelated, b"t1", now))),
            Some("UnrelatedKeyIdInToken")
        );
        let later = now + Duration::from_secs(1201);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&related, b"t2", later))),
            None
        );
    }

    #[test]
    fn a_second_new_token_within_the_window_leaves_the_connection_unusable_until_it_ends() {
        let bindings = Bindings::new(Duration::from_secs(1200));
        let now = Instant::now();
        let k = key("TEAM000001", "KEYAAAAAAA", None, None);
        let registry = registry(&[&k]);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&k, b"t1", now))),
            None
        );
        let soon = now + Duration::from_secs(60);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&k, b"t2", soon))),
            Some("TooManyProviderTokenUpdates")
        );
        // Even the first token is refused now.
        assert_eq!(
            reason(bindings.admit(&registry, &push(&k, b"t1", soon))),
            Some("TooManyProviderTokenUpdates")
        );
        let after = now + Duration::from_secs(1200);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&k, b"t2", after))),
            None
        );
    }

    #[test]
    fn another_team_and_a_topic_the_team_lacked_at_the_first_push_are_refused() {
        let bindings = Bindings::new(Duration::from_secs(1200));
        let now = Instant::now();
        let ours = key("TEAM000001", "KEYAAAAAAA", None, None);
        let theirs = key("TEAM000002", "KEYBBBBBBB", None, None);
        let registry = registry(&[&ours, &theirs]);
        assert_eq!(
            reason(bindings.admit(&registry, &push(&ours, b"t1", now))),
            None
        );
        assert_eq!(
            reason(bindings.admit(&registry, &push(&theirs, b"t2", now))),
            Some("InvalidProviderToken")
        );
        let mut new_app = push(&ours, b"t1", now);
        new_app.bundle_id = "com.example.added";
        assert_eq!(
            reason(bindings.admit(&registry, &new_app)),
            Some("TopicDisallowed")
        );
    }

    #[test]
    fn a_key_of_the_other_environment_is_refused() {
        let registry = Registry::default();
        let bindings = Bindings::new(Duration::from_secs(1200));
        let production = key(
            "TEAM000001",
            "KEYAAAAAAA",
            None,
            Some(Environment::Production),
        );
        assert_eq!(
            reason(bindings.admit(&registry, &push(&production, b"t1", Instant::now()))),
            Some("BadEnvironmentKeyIdInToken")
        );
    }
}
