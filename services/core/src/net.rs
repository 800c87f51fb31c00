//! The policy for endpoints that tenants point the service at (webhooks, their LLM, their
//! SMTP server): absolute URLs without credentials, and no loopback, private, link-local
//! or otherwise non-public address unless the operator allows them. The form is checked
//! here; the addresses a name resolves to are checked again at connect time by whoever
//! connects (`check_addresses`), so a name cannot be pointed inside after it was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("expected an absolute {0} URL without credentials")]
    Malformed(String),
    #[error("plain http is allowed only when the operator allows private endpoints; use https")]
    PlainHttp,
    #[error("the address {0} is loopback, private or otherwise not public, which is not allowed")]
    Private(String),
    #[error("the host could not be resolved: {0}")]
    Unresolvable(String),
}

/// Checks the form of an endpoint URL: one of `schemes`, a host, no credentials, at most
/// 2,000 characters, plain `http` only when private endpoints are allowed, and an IP host
/// public unless allowed. Names still need [`check_addresses`] once resolved.
pub fn check_url(raw: &str, schemes: &[&str], allow_private: bool) -> Result<url::Url, UrlError> {
    let expected = || UrlError::Malformed(schemes.join(" or "));
    let url = url::Url::parse(raw.trim()).map_err(|_| expected())?;
    if !schemes.contains(&url.scheme()) || url.host().is_none() || raw.len() > 2000 {
        return Err(expected());
    }
    // Credentials belong in an SMTP URL, never in a web one (they would be logged and shown).
    let web = matches!(url.scheme(), "http" | "https");
    if web && (!url.username().is_empty() || url.password().is_some()) {
        return Err(expected());
    }
    if url.scheme() == "http" && !allow_private {
        return Err(UrlError::PlainHttp);
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        // Schemes other than http(s) keep their host as written: an address is a name here.
        Some(url::Host::Domain(name)) => name.trim_start_matches('[').trim_end_matches(']').parse().ok(),
        None => None,
    };
    if let Some(ip) = literal {
        check_addresses(&[ip], allow_private)?;
    }
    Ok(url)
}

/// Refuses any non-public address unless allowed.
pub fn check_addresses(addresses: &[IpAddr], allow_private: bool) -> Result<(), UrlError> {
    if allow_private {
        return Ok(());
    }
    match addresses.iter().find(|ip| !is_public(**ip)) {
        Some(ip) => Err(UrlError::Private(ip.to_string())),
        None => Ok(()),
    }
}

/// Whether an address is reachable on the public internet (not loopback, private,
/// link-local, shared, documentation, multicast, unspecified or reserved), also when an
/// IPv4 address hides inside an IPv6 one (mapped, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    let embedded_v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside some networks)
        || first == 0x2001 && segments[1] == 0x0db8 // documentation
        || first == 0x0064 && segments[1] == 0xff9b && segments[2] == 0x0001 // local-use NAT64
        || (first == 0x0064 && segments[1] == 0xff9b && !is_public_v4(embedded_v4(segments[6], segments[7]))) // NAT64
        || (first == 0x2002 && !is_public_v4(embedded_v4(segments[1], segments[2]))) // 6to4
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &[&str] = &["https", "http"];

    #[test]
    fn private_and_odd_urls_are_refused() {
        assert!(check_url("https://hooks.example.com/in", WEB, false).is_ok());
        assert_eq!(check_url("http://hooks.example.com/in", WEB, false), Err(UrlError::PlainHttp));
        assert!(check_url("http://127.0.0.1:9000/in", WEB, true).is_ok(), "allowed by the operator");
        for bad in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[64:ff9b::7f00:1]/x",
            "https://[64:ff9b::a9fe:a9fe]/x",
            "https://[64:ff9b:1::1]/x",
            "https://[2002:7f00:1::]/x",
            "https://[2002:c0a8:101::1]/x",
            "https://[fec0::1]/x",
        ] {
            assert!(matches!(check_url(bad, WEB, false), Err(UrlError::Private(_))), "{bad}");
        }
        for malformed in ["ftp://example.com", "https://user:pass@example.com/", "not a url", "https://"] {
            assert!(matches!(check_url(malformed, WEB, false), Err(UrlError::Malformed(_))), "{malformed}");
        }
        assert!(matches!(check_url("smtp://mail.example.com", WEB, false), Err(UrlError::Malformed(_))));
        assert!(check_url("smtps://me:secret@mail.example.com:465", &["smtp", "smtps"], false).is_ok());
        assert!(matches!(check_url("smtp://127.0.0.1:1", &["smtp", "smtps"], false), Err(UrlError::Private(_))));
    }

    #[test]
    fn public_addresses_pass_in_every_form() {
        for ip in ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
