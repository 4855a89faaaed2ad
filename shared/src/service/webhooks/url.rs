//! A receiver's URL: parsed once, checked at creation (the 400s naming
//! `url`) and again before every delivery (the rules may have changed, and
//! an item is not trusted more than a request).

use std::net::{IpAddr, Ipv4Addr};

use http::Uri;

use super::address::is_allowed;
use crate::error::{Error, Result};

pub const MAX_URL_CHARS: usize = 2048;

/// A receiver's URL, as the sender connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverUrl {
    pub https: bool,
    /// A DNS name, or an IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Path and query, `/` at least.
    pub path_and_query: String,
    /// The `Host` header: the host, and the port when not the default.
    pub authority: String,
}

impl ReceiverUrl {
    /// Parses and checks `url` by the rules a webhook's URL must meet:
    /// `https` (or `http://127.0.0.1` when `allow_loopback`), at most
    /// [`MAX_URL_CHARS`], no user information, no fragment, and a host that
    /// is a DNS name or a public IP literal.
    pub fn parse(url: &str, allow_loopback: bool) -> Result<Self> {
        let invalid = |why: &str| Error::invalid_request(format!("`url` {why}"));
        if url.chars().count() > MAX_URL_CHARS {
            return Err(invalid(&format!(
                "must be at most {MAX_URL_CHARS} characters"
            )));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
            return Err(invalid(
                "must not contain white space, control characters or a fragment",
            ));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| invalid("must be an absolute https URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if allow_loopback => false,
            _ => return Err(invalid("must use https")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("must be an absolute https URL"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("must not carry user information"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        check_host(&host, https, allow_loopback).map_err(invalid)?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            https,
            port,
            path_and_query: uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .filter(|pq| !pq.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
            authority: authority.as_str().to_owned(),
            host,
        })
    }

    /// The host as an IP literal, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// A DNS name, or an IP literal the sender may connect to. Plain `http`
/// only to 127.0.0.1 itself.
fn check_host(host: &str, https: bool, allow_loopback: bool) -> Result<(), &'static str> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !is_allowed(ip, allow_loopback) {
            return Err(
                "must not point at a private, loopback, link-local or otherwise non-public address",
            );
        }
        if !https && ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            return Err("must use https");
        }
        return Ok(());
    }
    if !https {
        return Err("must use https");
    }
    let valid_name = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    // All digits and dots is an IPv4 form `parse` did not take (`127.1`,
    // `2130706433`): some resolvers would still read it as an address.
    let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !valid_name || numeric {
        return Err("must name a valid host");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, allow_loopback: bool) -> String {
        match ReceiverUrl::parse(url, allow_loopback) {
            Ok(parsed) => panic!("{url} was accepted: {parsed:?}"),
            Err(err) => {
                assert_eq!(err.code(), "invalid_request");
                err.to_string()
            }
        }
    }

    #[test]
    fn an_https_url_is_split_into_what_the_sender_needs() {
        let parsed = ReceiverUrl::parse("https://Hooks.Example.com/in?x=1", false).ok();
        assert_eq!(
            parsed,
            Some(ReceiverUrl {
                https: true,
                host: "hooks.example.com".to_owned(),
                port: 443,
                path_and_query: "/in?x=1".to_owned(),
                authority: "Hooks.Example.com".to_owned(),
            })
        );
        let port = ReceiverUrl::parse("https://example.com:8443", false).ok();
        assert_eq!(
            port.map(|p| (p.port, p.path_and_query)),
            Some((8443, "/".to_owned()))
        );
        let v6 = ReceiverUrl::parse("https://[2606:4700:4700::1111]/x", false).ok();
        assert_eq!(v6.and_then(|p| p.ip()), "2606:4700:4700::1111".parse().ok());
    }

    #[test]
    fn anything_but_https_is_refused_naming_url() {
        for url in [
            "http://example.com/x",
            "ftp://example.com",
            "example.com/x",
            "/x",
            "",
        ] {
            assert!(refused(url, false).starts_with("`url` must"), "{url}");
        }
        assert!(refused("http://example.com/x", true).contains("https"));
        assert!(refused("http://127.0.0.1:9/x", false).contains("https"));
    }

    #[test]
    fn non_public_ip_literals_are_refused() {
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest/meta-data",
            "https://192.168.1.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://0.0.0.0/",
        ] {
            assert!(refused(url, false).contains("non-public"), "{url}");
        }
        assert!(refused("https://127.1/", false).contains("valid host"));
        assert!(refused("https://2130706433/", false).contains("valid host"));
    }

    #[test]
    fn only_127_0_0_1_over_http_is_allowed_and_only_with_the_switch() {
        let local = ReceiverUrl::parse("http://127.0.0.1:8080/hook", true).ok();
        assert_eq!(local.map(|p| (p.https, p.port)), Some((false, 8080)));
        assert!(refused("http://127.0.0.2:8080/hook", true).contains("non-public"));
        assert!(refused("http://localhost:8080/hook", true).contains("https"));
    }

    #[test]
    fn user_information_fragments_and_overlong_urls_are_refused() {
        assert!(refused("https://user:pw@example.com/", false).contains("user information"));
        assert!(refused("https://example.com/#frag", false).contains("fragment"));
        assert!(refused("https://exa mple.com/", false).contains("white space"));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(refused(&long, false).contains("2048"));
        assert!(refused("https://-bad-.example.com/", false).contains("valid host"));
        assert!(refused("https://exa_mple.com/", false).contains("valid host"));
    }
}
