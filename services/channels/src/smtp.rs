//! Sending replies through SMTP (lettre): a threaded multipart/alternative message
//! (text and HTML), and a connection pool per server.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

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
    /// The server could not be reached or asked to try later (4xx, timeouts).
    #[error("SMTP delivery failed for now: {0}")]
    Transient(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}

/// The MIME message of a reply.
pub fn compose(email: &OutboundEmail) -> Result<lettre::Message, SendError> {
    let mailbox = |name: Option<&str>, address: &str| -> Result<Mailbox, SendError> {
        let address = address.parse().map_err(|error| SendError::Compose(format!("address {address}: {error}")))?;
        Ok(Mailbox::new(name.filter(|n| !n.trim().is_empty()).map(str::to_owned), address))
    };
    let mut builder = lettre::Message::builder()
        .from(mailbox(Some(&email.from_name), &email.from_address)?)
        .to(mailbox(email.to_name.as_deref(), &email.to_address)?)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}>", email.message_id)));
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !email.references.is_empty() {
        let references: Vec<String> = email.references.iter().map(|id| format!("<{id}>")).collect();
        builder = builder.references(references.join(" "));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), html_of(&email.text)))
        .map_err(|error| SendError::Compose(error.to_string()))
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
}
