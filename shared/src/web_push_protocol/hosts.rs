//! The push services a deployment sends Web Push to. A subscription's
//! endpoint is user input: only URLs on this list are accepted at
//! registration and contacted at delivery, so a tenant cannot make the push
//! functions connect to arbitrary hosts (cloud metadata, internal services).

use std::fmt;

use http::Uri;

/// The browsers' push services: Chrome (FCM), Firefox (Mozilla autopush),
/// Safari (Apple: its page allows `*.push.apple.com`, today's endpoints are
/// on `web.push.apple.com`) and Edge (Windows Push Notification Services,
/// whose subdomains "are subject to change").
pub const BROWSER_PUSH_SERVICES: [&str; 4] = [
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
];

/// An endpoint URL longer than this is refused: real ones are a few hundred
/// characters.
pub const MAX_ENDPOINT_CHARS: usize = 2048;

/// One allowed origin. A bare host (or `*.domain`) allows `https` on port
/// 443 only; an entry with a scheme and port (`http://127.0.0.1:9130`,
/// the simulator) allows exactly that origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    https: bool,
    /// Lowercase; for a wildcard, the suffix after `*.`.
    host: String,
    wildcard: bool,
    port: u16,
}

/// The configured allow-list (`NOTIFY_WEB_PUSH_HOSTS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPushHosts {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid web push host entry {entry:?}: {reason}")]
pub struct InvalidHostEntry {
    pub entry: String,
    pub reason: &'static str,
}

impl Default for WebPushHosts {
    fn default() -> Self {
        Self::parse("default").unwrap_or(Self {
            entries: Vec::new(),
        })
    }
}

/// A URL's origin, as the allow-list and the VAPID `aud` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointOrigin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl EndpointOrigin {
    /// `https://host[:port]`, the VAPID audience (the port only when not
    /// the scheme's default).
    pub fn audience(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The origin of an absolute `http(s)` URL without user info or fragment;
/// `None` for anything else.
pub fn endpoint_origin(url: &str) -> Option<EndpointOrigin> {
    if url.chars().count() > MAX_ENDPOINT_CHARS
        || url.contains('#')
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    let uri: Uri = url.parse().ok()?;
    let https = match uri.scheme_str()? {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let port = match authority.port_u16() {
        Some(port) => port,
        None if authority.as_str().ends_with(':') => return None,
        None if https => 443,
        None => 80,
    };
    Some(EndpointOrigin { https, host, port })
}

fn parse_entry(raw: &str) -> Result<Entry, InvalidHostEntry> {
    let invalid = |reason| InvalidHostEntry {
        entry: raw.to_owned(),
        reason,
    };
    if let Some(domain) = raw.strip_prefix("*.") {
        if !is_dns_name(domain) || !domain.contains('.') {
            return Err(invalid(
                "a wildcard must be `*.` and a domain of two labels or more",
            ));
        }
        return Ok(Entry {
            https: true,
            host: domain.to_ascii_lowercase(),
            wildcard: true,
            port: 443,
        });
    }
    if raw.contains("://") {
        let origin = endpoint_origin(raw).ok_or_else(|| invalid("not an http(s) origin"))?;
        let path = raw
            .split_once("://")
            .map(|(_, rest)| rest.split_once('/').map(|(_, path)| path).unwrap_or(""))
            .unwrap_or("");
        if !path.is_empty() {
            return Err(invalid("an origin has no path"));
        }
        return Ok(Entry {
            https: origin.https,
            host: origin.host,
            wildcard: false,
            port: origin.port,
        });
    }
    if !is_dns_name(raw) {
        return Err(invalid(
            "a bare entry must be a DNS host name (https, port 443)",
        ));
    }
    Ok(Entry {
        https: true,
        host: raw.to_ascii_lowercase(),
        wildcard: false,
        port: 443,
    })
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // A bare numeric entry would be an IP address: those need a scheme.
        && !name.split('.').all(|label| label.bytes().all(|b| b.is_ascii_digit()))
}

impl WebPushHosts {
    /// Comma-separated entries; `default` stands for
    /// [`BROWSER_PUSH_SERVICES`]. An empty list allows nothing.
    pub fn parse(list: &str) -> Result<Self, InvalidHostEntry> {
        let mut entries = Vec::new();
        for raw in list.split(',').map(str::trim) {
            if raw.is_empty() {
                continue;
            }
            if raw == "default" {
                for host in BROWSER_PUSH_SERVICES {
                    entries.push(parse_entry(host)?);
                }
                continue;
            }
            entries.push(parse_entry(raw)?);
        }
        Ok(Self { entries })
    }

    /// Adds the entries of `list` (tests and local runs add the simulator).
    pub fn with(mut self, list: &str) -> Result<Self, InvalidHostEntry> {
        self.entries.extend(Self::parse(list)?.entries);
        Ok(self)
    }

    /// The endpoint's origin when it is on the list.
    pub fn allowed_origin(&self, endpoint: &str) -> Option<EndpointOrigin> {
        let origin = endpoint_origin(endpoint)?;
        self.entries
            .iter()
            .any(|entry| {
                entry.https == origin.https
                    && entry.port == origin.port
                    && if entry.wildcard {
                        origin
                            .host
                            .strip_suffix(entry.host.as_str())
                            .and_then(|label| label.strip_suffix('.'))
                            .is_some_and(|label| !label.is_empty())
                    } else {
                        entry.host == origin.host
                    }
            })
            .then_some(origin)
    }
}

impl fmt::Display for WebPushHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .entries
            .iter()
            .map(|entry| {
                let host = if entry.wildcard {
                    format!("*.{}", entry.host)
                } else {
                    entry.host.clone()
                };
                if entry.https && entry.port == 443 {
                    host
                } else {
                    let scheme = if entry.https { "https" } else { "http" };
                    format!("{scheme}://{host}:{}", entry.port)
                }
            })
            .collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_push_services_are_allowed_by_default() {
        let hosts = WebPushHosts::default();
        for good in [
            "https://fcm.googleapis.com/fcm/send/abc:APA91b",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://web.push.apple.com/QGuQyavXutnMHNmAbc",
            "https://api.push.apple.com/QGuQyavXutnMHNmAbc",
            "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB",
            "https://FCM.googleapis.com/fcm/send/x",
        ] {
            assert!(hosts.allowed_origin(good).is_some(), "{good}");
        }
        for bad in [
            "http://fcm.googleapis.com/fcm/send/x",
            "https://fcm.googleapis.com:8443/fcm/send/x",
            "https://169.254.169.254/latest/meta-data",
            "https://evil.com/fcm.googleapis.com",
            "https://fcm.googleapis.com.evil.com/x",
            "https://notify.windows.com/x",
            "https://push.apple.com/x",
            "https://evilpush.apple.com/x",
            "https://evilnotify.windows.com/x",
            "https://user@fcm.googleapis.com/x",
            "https://fcm.googleapis.com/x#frag",
            "ftp://fcm.googleapis.com/x",
            "fcm.googleapis.com/x",
            "",
        ] {
            assert!(hosts.allowed_origin(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn entries_with_a_scheme_allow_exactly_that_origin() {
        let hosts = WebPushHosts::parse("http://127.0.0.1:9130").unwrap();
        assert!(hosts.allowed_origin("http://127.0.0.1:9130/wp/1").is_some());
        assert!(hosts
            .allowed_origin("https://127.0.0.1:9130/wp/1")
            .is_none());
        assert!(hosts.allowed_origin("http://127.0.0.1:9131/wp/1").is_none());
        assert!(hosts
            .allowed_origin("https://fcm.googleapis.com/x")
            .is_none());
    }

    #[test]
    fn malformed_entries_are_refused_at_start() {
        for bad in ["*.com", "http://x/path", "10.0.0.1", "a b", "*.", "ftp://x"] {
            assert!(WebPushHosts::parse(bad).is_err(), "{bad}");
        }
        assert!(WebPushHosts::parse("default, https://localhost:9473").is_ok());
    }

    #[test]
    fn the_audience_is_the_origin() {
        let origin = endpoint_origin("https://web.push.apple.com/abc").unwrap();
        assert_eq!(origin.audience(), "https://web.push.apple.com");
        let origin = endpoint_origin("http://127.0.0.1:9130/wp/1").unwrap();
        assert_eq!(origin.audience(), "http://127.0.0.1:9130");
    }
}
