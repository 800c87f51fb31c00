//! Webhooks out, in the Standard Webhooks 1.0 format: `webhook-id`, `webhook-timestamp`
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under a
//! `whsec_<base64>` secret; endpoint URLs checked against server-side request forgery
//! (loopback, private, link-local and other non-public addresses are refused unless the
//! operator allows them, and so is plain http). Posting them is `http`'s job (feature).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// Prefix of signing secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `v1,<base64>` signature of one message under one secret; `None` for a malformed secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per secret, space-separated (during a
/// rotation both the new and the previous secret sign).
pub fn signature_header(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().filter_map(|secret| sign(secret, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("`url` must be an absolute http(s) URL without credentials: {0}")]
    Malformed(String),
    #[error("`url` must use https (plain http is allowed only when the operator allows private endpoints)")]
    PlainHttp,
    #[error("`url` points at a loopback, private or otherwise non-public address ({0}), which is not allowed")]
    Private(String),
    #[error("`url`'s host could not be resolved: {0}")]
    Unresolvable(String),
}

/// Checks the form of an endpoint URL (scheme, host, no credentials, plain http only when
/// allowed, an IP host public unless allowed); names still need [`check_addresses`] once resolved.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, UrlError> {
    let url = url::Url::parse(raw.trim()).map_err(|error| UrlError::Malformed(error.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(UrlError::Malformed("expected http:// or https:// and a host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() || raw.len() > 2000 {
        return Err(UrlError::Malformed("credentials in URLs and URLs over 2000 characters are not accepted".into()));
    }
    if url.scheme() == "http" && !allow_private {
        return Err(UrlError::PlainHttp);
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
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
/// link-local, shared, documentation, multicast, unspecified or reserved).
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
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

#[cfg(feature = "http")]
pub use http::{Outcome, Sender};

#[cfg(feature = "http")]
mod http {
    use std::{net::SocketAddr, sync::Arc, time::Duration};

    use reqwest::dns::{Addrs, Name, Resolve, Resolving};

    use super::{UrlError, check_addresses, check_url};

    /// Resolves names with the system resolver and refuses non-public answers (unless
    /// allowed), so a name cannot be pointed at an internal address after it was checked.
    struct PublicResolver {
        allow_private: bool,
    }

    impl Resolve for PublicResolver {
        fn resolve(&self, name: Name) -> Resolving {
            let allow_private = self.allow_private;
            Box::pin(async move {
                let host = name.as_str().to_owned();
                let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
                if addresses.is_empty() {
                    return Err(Box::new(UrlError::Unresolvable(host)) as Box<dyn std::error::Error + Send + Sync>);
                }
                let ips: Vec<_> = addresses.iter().map(SocketAddr::ip).collect();
                check_addresses(&ips, allow_private).map_err(Box::new)?;
                Ok(Box::new(addresses.into_iter()) as Addrs)
            })
        }
    }

    /// What an endpoint answered.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Outcome {
        /// It answered with this status and the start of this body.
        Answered { status: u16, body: String },
        /// No answer: refused URL, connection failure, timeout.
        Failed(String),
    }

    /// Posts webhooks: one connection pool, a timeout for the whole exchange, no redirects.
    #[derive(Clone)]
    pub struct Sender {
        client: reqwest::Client,
        allow_private: bool,
    }

    /// The start of an answer kept for the delivery log.
    const SNIPPET_CHARS: usize = 500;

    impl Sender {
        pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, String> {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(PublicResolver { allow_private }))
                .user_agent(concat!("copilot-webhooks/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| error.to_string())?;
            Ok(Self { client, allow_private })
        }

        /// Posts `body` to `url` with the Standard Webhooks headers.
        pub async fn post(&self, url: &str, id: &str, timestamp: i64, signature: &str, body: Vec<u8>) -> Outcome {
            if let Err(error) = check_url(url, self.allow_private) {
                return Outcome::Failed(error.to_string());
            }
            let request = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body);
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    // NUL cannot be stored in a PostgreSQL text column.
                    let snippet = text.chars().filter(|c| *c != '\0').take(SNIPPET_CHARS).collect();
                    Outcome::Answered { status, body: snippet }
                }
                Err(error) => {
                    let mut detail = error.to_string();
                    let mut source = std::error::Error::source(&error);
                    while let Some(cause) = source {
                        detail = format!("{detail}: {cause}");
                        source = cause.source();
                    }
                    Outcome::Failed(detail)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_test_vector_passes() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn two_secrets_give_two_signatures() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with(SECRET_PREFIX) && a != b);
        let header = signature_header(&[a.clone(), b.clone()], "id", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            vec![sign(&a, "id", 1, b"{}").unwrap_or_default(), sign(&b, "id", 1, b"{}").unwrap_or_default()]
        );
    }

    #[test]
    fn private_and_odd_urls_are_refused() {
        assert!(check_url("https://hooks.example.com/in", false).is_ok());
        assert_eq!(check_url("http://hooks.example.com/in", false), Err(UrlError::PlainHttp));
        assert!(check_url("http://127.0.0.1:9000/in", true).is_ok(), "allowed by the operator");
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
        ] {
            assert!(matches!(check_url(bad, false), Err(UrlError::Private(_))), "{bad}");
        }
        for malformed in ["ftp://example.com", "https://user:pass@example.com/", "not a url", "https://"] {
            assert!(matches!(check_url(malformed, false), Err(UrlError::Malformed(_))), "{malformed}");
        }
        assert!(is_public("8.8.8.8".parse().expect("ip")));
        assert!(is_public("2606:4700::1111".parse().expect("ip")));
    }
}
