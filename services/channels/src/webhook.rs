//! Webhooks out, in the Standard Webhooks 1.0 format: `webhook-id`, `webhook-timestamp`
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under a
//! `whsec_<base64>` secret; endpoint URLs checked against server-side request forgery
//! (loopback, private, link-local and other non-public addresses are refused unless the
//! operator allows them, and so is plain http). Posting them is `http`'s job (feature).

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

/// The endpoint policy, shared with every other endpoint a tenant sets.
pub use copilot_core::net::{UrlError, check_addresses, is_public};

/// Checks the form of a webhook endpoint URL (http or https; see [`copilot_core::net::check_url`]).
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, UrlError> {
    copilot_core::net::check_url(raw, &["https", "http"], allow_private)
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
    /// At most this much of an answer is read (the rest is never downloaded: the
    /// connection is dropped), however large the body an endpoint sends.
    pub const MAX_ANSWER_BYTES: usize = 4096;

    /// The first [`MAX_ANSWER_BYTES`] of a response's body (fewer when it fails midway).
    async fn body_start(mut response: reqwest::Response) -> Vec<u8> {
        let mut start = Vec::new();
        while start.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - start.len())]),
                Ok(None) | Err(_) => break,
            }
        }
        start
    }

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
                    let start = body_start(response).await;
                    // NUL cannot be stored in a PostgreSQL text column.
                    let snippet =
                        String::from_utf8_lossy(&start).chars().filter(|c| *c != '\0').take(SNIPPET_CHARS).collect();
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
}

#[cfg(all(test, feature = "http"))]
mod http_tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_huge_answer_is_not_read_past_its_start() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let written = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&written);
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut request = vec![0; 64 * 1024];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1073741824\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b'x'; 64 * 1024];
            while counter.load(Ordering::SeqCst) < 1 << 30 {
                if socket.write_all(&block).await.is_err() {
                    return;
                }
                counter.fetch_add(block.len(), Ordering::SeqCst);
            }
        });
        let sender = Sender::new(Duration::from_secs(30), true).expect("sender");
        let outcome = sender.post(&url, "msg_1", 1, "v1,x", b"{}".to_vec()).await;
        let Outcome::Answered { status, body } = outcome else { panic!("{outcome:?}") };
        assert_eq!(status, 200);
        assert_eq!(body.len(), 500, "the start of the answer is kept");
        // What the endpoint managed to write is what socket buffers took, not the gigabyte.
        let sent = written.load(Ordering::SeqCst);
        assert!(sent < 64 << 20, "{sent} bytes were taken from the endpoint");
    }
}
