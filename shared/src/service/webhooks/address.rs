//! Which addresses a webhook may be delivered to: public unicast ones only.
//! A receiver's URL is a tenant's input, and the dispatcher runs inside the
//! deployment's network: without these rules a tenant could make it POST to
//! the instance metadata service, to loopback services or to private hosts.
//! Checked on every delivery against the address actually connected to, so
//! a name that resolves elsewhere later (DNS rebinding) gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address, the only kind a webhook may be
/// delivered to. IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms are
/// judged by the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Whether `ip` may be connected to: public, or 127.0.0.1 itself when the
/// local stack allows loopback receivers.
pub fn is_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network"
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, the metadata service
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast 224/4, reserved 240/4, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let octets = ip.octets();
    let embedded =
        |at: usize| Ipv4Addr::new(octets[at], octets[at + 1], octets[at + 2], octets[at + 3]);
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
    if segments[..5] == [0; 5] && (segments[5] == 0xffff || segments[5] == 0) {
        // :: and ::1 have the compatible form's shape: both refused here.
        return segments[5] == 0xffff && is_public_v4(embedded(12));
    }
    // NAT64, well-known prefix 64:ff9b::/96.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(12));
    }
    // 6to4 2002::/16 carries an IPv4 address in bits 16 to 48.
    if segments[0] == 0x2002 {
        return is_public_v4(embedded(2));
    }
    // Only global unicast 2000::/3 is public; within it, refuse
    // documentation, Teredo and the other IETF assignments, whose
    // addresses lead elsewhere or nowhere.
    let global_unicast = segments[0] & 0xe000 == 0x2000;
    let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
    let ietf_assignments = segments[0] == 0x2001 && segments[1] < 0x0200; // 2001::/23
    let documentation_3fff = segments[0] == 0x3fff && segments[1] < 0x1000; // 3fff::/20
    global_unicast && !documentation && !ietf_assignments && !documentation_3fff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        match text.parse() {
            Ok(ip) => ip,
            Err(err) => panic!("{text}: {err}"),
        }
    }

    #[test]
    fn public_ipv4_addresses_are_allowed() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "169.253.255.255",
            "11.0.0.1",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn private_loopback_link_local_and_special_ipv4_ranges_are_refused() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254", // instance metadata
            "169.254.170.2",   // ECS task metadata
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_refused_and_global_unicast_allowed() {
        for public in [
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "2001:4860::8888",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
        for refused in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "2001::1",      // Teredo
            "2001:2::1",    // benchmarking
            "3fff::1",      // documentation
            "100::1",       // discard
            "64:ff9b:1::1", // local-use NAT64
            "4000::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn ipv4_carried_in_ipv6_is_judged_by_the_ipv4_address() {
        for refused in [
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::8.8.8.8", // compatible form: deprecated, refused whatever it carries
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe", // 169.254.169.254
            "2002:7f00:1::1",     // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::1",  // 6to4 of 169.254.169.254
            "2002:c0a8:101::1",   // 6to4 of 192.168.1.1
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
        for public in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn loopback_is_allowed_only_as_127_0_0_1_and_only_when_switched_on() {
        assert!(!is_allowed(ip("127.0.0.1"), false));
        assert!(is_allowed(ip("127.0.0.1"), true));
        assert!(!is_allowed(ip("127.0.0.2"), true));
        assert!(!is_allowed(ip("::1"), true));
        assert!(!is_allowed(ip("169.254.169.254"), true));
        assert!(is_allowed(ip("8.8.8.8"), false));
    }
}
