//! Sending replies through SMTP (lettre): a threaded multipart/alternative message
//! (text and HTML), and a connection pool per server.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

use copilot_core::values::one_line;

use crate::outbound::{OutboundEmail, html_of};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the reply cannot be composed: {0}")]
    Compose(String),
    #[error("the SMTP URL is not valid: {0}")]
    Config(String),
    /// The server refused the message for good (5xx); retrying will not help.
    #[error("the SMTP server refused the message: {0}")]
    Permanent(String),
    /// The service may not send it (the reason says why and what to do); not retried.
    #[error("{0}")]
    NotAllowed(String),
    /// The server could not be reached or asked to try later (4xx, timeouts).
    #[error("SMTP delivery failed for now: {0}")]
    Transient(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }

    /// What went wrong, without the verdict on retrying.
    pub fn reason(&self) -> &str {
        match self {
            SendError::Compose(reason)
            | SendError::Config(reason)
            | SendError::Permanent(reason)
            | SendError::NotAllowed(reason)
            | SendError::Transient(reason) => reason,
        }
    }
}

/// The MIME message of a reply. Every value that becomes a header is one line, whatever
/// it came from: names and the subject lose their control characters, and a Message-ID
/// that is not a plain `left@right` token is left out, so nothing can add a header.
pub fn compose(email: &OutboundEmail) -> Result<lettre::Message, SendError> {
    let mailbox = |name: Option<&str>, address: &str| -> Result<Mailbox, SendError> {
        let address = address.parse().map_err(|error| SendError::Compose(format!("address {address}: {error}")))?;
        let name = name.map(one_line).filter(|name| !name.is_empty());
        Ok(Mailbox::new(name, address))
    };
    if !is_message_id(&email.message_id) {
        return Err(SendError::Compose(format!("the Message-ID {:?} is not valid", email.message_id)));
    }
    let mut builder = lettre::Message::builder()
        .from(mailbox(Some(&email.from_name), &email.from_address)?)
        .to(mailbox(email.to_name.as_deref(), &email.to_address)?)
        .subject(one_line(&email.subject))
        .message_id(Some(format!("<{}>", email.message_id)));
    if let Some(parent) = email.in_reply_to.as_deref().filter(|id| is_message_id(id)) {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    let references: Vec<String> =
        email.references.iter().filter(|id| is_message_id(id)).map(|id| format!("<{id}>")).collect();
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), html_of(&email.text)))
        .map_err(|error| SendError::Compose(error.to_string()))
}

/// Whether `id` can stand between angle brackets in a header: printable ASCII without
/// spaces or brackets, with an `@`, at most 900 bytes.
fn is_message_id(id: &str) -> bool {
    id.len() <= 900
        && id.contains('@')
        && id.bytes().all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'<' | b'>' | b'"' | b'\\'))
}

/// A connection pool to one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    /// A mailer for `smtp://[user:pass@]host[:port]` (plain or STARTTLS when offered
    /// as `?tls=required`) or `smtps://…` (TLS from the start); each command waits at
    /// most `timeout`.
    pub fn from_url(url: &str, timeout: Duration) -> Result<Self, SendError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| SendError::Config(error.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport })
    }

    /// A mailer for a server a tenant named: unless `allow_private`, the host is resolved
    /// now, every address it resolves to must be public, and the mailer connects to the
    /// address that was checked (TLS still verifies the host's name). A refused server is
    /// a [`SendError::Config`] that says why without trying to connect.
    pub async fn connect_checked(url: &str, timeout: Duration, allow_private: bool) -> Result<Self, SendError> {
        use lettre::transport::smtp::client::{Tls, TlsParameters};

        if allow_private {
            return Self::from_url(url, timeout);
        }
        let refused =
            |error: copilot_core::net::UrlError| SendError::Config(format!("the SMTP server is refused: {error}"));
        let parsed = copilot_core::net::check_url(url, &["smtp", "smtps"], false).map_err(refused)?;
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            // An IP literal was checked by `check_url` already.
            _ => return Self::from_url(url, timeout),
        };
        let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), 0)))
            .await
            .map_err(|_| SendError::Transient(format!("resolving {host} timed out")))?
            .map_err(|error| SendError::Transient(format!("resolving {host} failed: {error}")))?;
        let addresses: Vec<std::net::IpAddr> = lookup.map(|address| address.ip()).collect();
        copilot_core::net::check_addresses(&addresses, false).map_err(refused)?;
        let Some(address) = addresses.first() else {
            return Err(SendError::Transient(format!("{host} has no address")));
        };
        let mut pinned = parsed.clone();
        pinned.set_ip_host(*address).map_err(|()| SendError::Config("the SMTP URL cannot name an address".into()))?;
        let tls_mode = parsed.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
        let name = || TlsParameters::new(host.clone()).map_err(|error| SendError::Config(error.to_string()));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(pinned.as_str())
            .map_err(|error| SendError::Config(error.to_string()))?;
        builder = match (parsed.scheme(), tls_mode.as_deref()) {
            ("smtps", _) => builder.tls(Tls::Wrapper(name()?)),
            (_, Some("required")) => builder.tls(Tls::Required(name()?)),
            (_, Some("opportunistic")) => builder.tls(Tls::Opportunistic(name()?)),
            _ => builder,
        };
        Ok(Self { transport: builder.timeout(Some(timeout)).build() })
    }

    /// Sends one message; a 5xx answer is permanent, anything else (refused connection,
    /// timeout, 4xx) is worth retrying.
    pub async fn send(&self, message: lettre::Message) -> Result<(), SendError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(error.to_string())),
            Err(error) => Err(SendError::Transient(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_threaded_and_alternative() {
        let email = OutboundEmail {
            from_name: "Acme Support".into(),
            from_address: "help@acme.test".into(),
            to_name: Some("Zoë Li".into()),
            to_address: "zoe@example.test".into(),
            subject: "Re: 退款 [#7]".into(),
            message_id: "abc@acme.test".into(),
            in_reply_to: Some("m2@example.test".into()),
            references: vec!["m1@example.test".into(), "m2@example.test".into()],
            text: "Hello Zoë,\n\nDone.".into(),
        };
        let raw = String::from_utf8(compose(&email).expect("compose").formatted()).expect("utf-8");
        assert!(raw.contains("Message-ID: <abc@acme.test>"), "{raw}");
        assert!(raw.contains("In-Reply-To: <m2@example.test>"), "{raw}");
        assert!(raw.contains("References: <m1@example.test> <m2@example.test>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let parsed = crate::inbound::parse(raw.as_bytes()).expect("parse");
        assert_eq!(parsed.subject, "Re: 退款 [#7]");
        assert_eq!(parsed.from.name.as_deref(), Some("Acme Support"));
        assert_eq!(parsed.text, "Hello Zoë,\n\nDone.");
    }

    #[test]
    fn header_values_from_outside_cannot_add_headers() {
        let email = OutboundEmail {
            from_name: "Acme\r\nX-Evil: 1".into(),
            from_address: "help@acme.test".into(),
            to_name: Some("Eve\r\nBcc: x@evil.test".into()),
            to_address: "eve@example.test".into(),
            subject: "Re: hi\r\nBcc: y@evil.test".into(),
            message_id: "abc@acme.test".into(),
            in_reply_to: Some("m2@example.test>\r\nBcc: <z@evil.test".into()),
            references: vec!["m1@example.test".into(), "m2 bad@example.test\r\nBcc: w@evil.test".into()],
            text: "Done.".into(),
        };
        let raw = String::from_utf8(compose(&email).expect("compose").formatted()).expect("utf-8");
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        for line in headers.split("\r\n") {
            let name = line.split(':').next().unwrap_or_default();
            assert!(!["Bcc", "X-Evil"].contains(&name), "an injected header: {line}\n{raw}");
        }
        assert!(!headers.contains("In-Reply-To"), "the broken id is left out: {headers}");
        let parsed = crate::inbound::parse(raw.as_bytes()).expect("parse");
        assert_eq!(parsed.from.name.as_deref(), Some("Acme X-Evil: 1"));
        assert_eq!(parsed.subject, "Re: hi Bcc: y@evil.test");
        assert_eq!(parsed.references, vec!["m1@example.test".to_owned()], "the broken id is left out");
    }
}
