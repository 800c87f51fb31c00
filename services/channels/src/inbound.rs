//! Raw RFC 5322 mail in: headers (RFC 2047 words decoded), the text (HTML turned into
//! text, any charset), the customer's new words with quoted history stripped,
//! attachments, and what kind of mail it is (a person's, an auto-reply, bulk, a bounce).

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use crate::quote;

/// What kind of mail arrived; only a person's mail opens tickets and gets drafts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Personal,
    /// Out-of-office and other automatic answers (`Auto-Submitted`, `X-Autoreply`, …).
    AutoReply,
    /// Mailing lists and newsletters (`Precedence: bulk|list|junk`, `List-Unsubscribe`, `List-Id`).
    Bulk,
    /// A delivery failure report, naming the Message-IDs of the mail that failed.
    Bounce {
        original_message_ids: Vec<String>,
        reason: String,
    },
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Personal => "personal",
            Kind::AutoReply => "auto_reply",
            Kind::Bulk => "bulk",
            Kind::Bounce { .. } => "bounce",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// Lower-cased.
    pub address: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A parsed inbound mail.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundEmail {
    /// The Message-ID without angle brackets; when the mail has none, one derived from
    /// the raw bytes, so the same mail delivered twice still has one id.
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Mailbox,
    /// Every address in `To`, `Cc` and `Delivered-To`, lower-cased.
    pub recipients: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    /// The whole text of the mail (HTML-only mail turned into text).
    pub text: String,
    /// What the customer wrote now: the text without quoted history or, when stripping
    /// leaves nothing, the whole text.
    pub new_text: String,
    pub attachments: Vec<Attachment>,
    pub kind: Kind,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the message is empty: it has no subject, no text and no attachment")]
    Empty,
    #[error("the message has no header section: it is not an RFC 5322 message")]
    NotAMessage,
    #[error("the message has no sender address (From)")]
    NoSender,
}

impl ParseError {
    /// A stable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "email_empty",
            ParseError::NotAMessage => "email_unparseable",
            ParseError::NoSender => "email_without_sender",
        }
    }
}

/// Parses a raw message best-effort: broken encodings and structures yield what can be
/// read; only mail with no headers or no sender is refused.
pub fn parse(raw: &[u8]) -> Result<InboundEmail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let message = MessageParser::default().parse(raw).ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let from = message.from().or_else(|| message.sender()).and_then(first_mailbox).ok_or(ParseError::NoSender)?;
    let message_id = message
        .message_id()
        .map(clean_id)
        .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN && !id.contains('\0'))
        .unwrap_or_else(|| raw_id(raw));
    let subject = copilot_core::values::one_line(message.subject().unwrap_or_default());
    let text = without_nul(&body_text(&message));
    let new_text = quote::strip(&text);
    let attachments = attachments(&message);
    if subject.is_empty() && text.trim().is_empty() && attachments.is_empty() {
        return Err(ParseError::Empty);
    }
    let kind = kind(&message, &from, &subject);
    let mut recipients: Vec<String> = [message.to(), message.cc()]
        .into_iter()
        .flatten()
        .flat_map(addresses)
        .chain(header_texts(&message, "Delivered-To").into_iter().map(|a| a.to_lowercase()))
        .collect();
    recipients.sort();
    recipients.dedup();
    Ok(InboundEmail {
        message_id,
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject,
        from,
        recipients,
        date: message.date().and_then(|date| DateTime::from_timestamp(date.to_timestamp(), 0)),
        new_text: if new_text.trim().is_empty() { text.clone() } else { new_text },
        text,
        attachments,
        kind,
    })
}

fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    let addr = address.first()?;
    let email = without_nul(&addr.address()?.trim().to_lowercase());
    if !email.contains('@') || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let name = addr.name().map(copilot_core::values::one_line).filter(|name| !name.is_empty() && *name != email);
    Some(Mailbox { address: email, name })
}

fn addresses(address: &Address<'_>) -> Vec<String> {
    let list: Vec<&mail_parser::Addr<'_>> = match address {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups.iter().flat_map(|group| group.addresses.iter()).collect(),
    };
    list.into_iter().filter_map(|addr| addr.address()).map(|a| a.trim().to_lowercase()).collect()
}

/// Longest Message-ID kept as it is; a longer one (no real mailer writes one) is replaced
/// by the id derived from the raw bytes.
const MAX_ID_LEN: usize = 900;

/// Text without NUL characters, which no mail means and databases refuse.
fn without_nul(text: &str) -> String {
    text.replace('\0', "")
}

/// A Message-ID without its angle brackets and surrounding space.
pub fn clean_id(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').trim().to_owned()
}

/// An id for mail that carries none: the SHA-256 of its bytes, so a redelivery matches.
pub fn raw_id(raw: &[u8]) -> String {
    use std::fmt::Write;
    let digest = sha256(raw);
    let mut hex = String::with_capacity(64);
    digest.iter().for_each(|byte| {
        let _ = write!(hex, "{byte:02x}");
    });
    format!("sha256-{hex}@no-message-id.invalid")
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match value {
        HeaderValue::Text(text) => text.split_whitespace().map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().flat_map(|text| text.split_whitespace()).map(clean_id).collect(),
        _ => Vec::new(),
    };
    let mut list: Vec<String> = list.into_iter().filter(|id| !id.is_empty()).collect();
    if list.len() > MAX_THREAD_IDS {
        // The thread's root and its latest mail are what threading needs.
        list.drain(1..list.len() - (MAX_THREAD_IDS - 1));
    }
    list
}

/// At most this many ids of `In-Reply-To` or `References` are kept: the first and the
/// latest ones (a real thread names a few dozen; a crafted mail may name 70,000).
pub const MAX_THREAD_IDS: usize = 100;

fn header_texts(message: &Message<'_>, name: &str) -> Vec<String> {
    message
        .headers()
        .iter()
        .filter(|header| header.name().eq_ignore_ascii_case(name))
        .filter_map(|header| match header.value() {
            HeaderValue::Text(text) => Some(text.trim().to_owned()),
            HeaderValue::TextList(list) => Some(list.join(" ")),
            HeaderValue::Address(address) => address.first().and_then(|a| a.address()).map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn raw_header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message.headers_raw().find(|(header, _)| header.eq_ignore_ascii_case(name)).map(|(_, value)| value.trim())
}

/// The text of the mail: its text parts, or its HTML parts turned into text.
fn body_text(message: &Message<'_>) -> String {
    let texts: Vec<String> = (0..message.text_body_count())
        .filter_map(|index| message.body_text(index))
        .map(|text| text.replace("\r\n", "\n"))
        .collect();
    texts.join("\n\n").trim().to_owned()
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .filter_map(|part| {
            let content = match &part.body {
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
                PartType::Text(text) | PartType::Html(text) => text.as_bytes().to_vec(),
                PartType::Message(inner) => inner.raw_message().to_vec(),
                PartType::Multipart(_) => return None,
            };
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_lowercase();
            let filename = part.attachment_name().map(without_nul);
            Some(Attachment { filename, content_type: without_nul(&content_type), content })
        })
        .collect()
}

const AUTO_REPLY_SUBJECTS: [&str; 8] =
    ["auto:", "automatic reply", "autoreply", "out of office", "out of the office", "自动回复", "自動回覆", "自動応答"];

fn kind(message: &Message<'_>, from: &Mailbox, subject: &str) -> Kind {
    if let Some(bounce) = bounce(message, from) {
        return bounce;
    }
    let auto_submitted = raw_header(message, "Auto-Submitted").map(str::to_lowercase);
    if auto_submitted.is_some_and(|value| !value.starts_with("no"))
        || raw_header(message, "X-Autoreply").is_some()
        || raw_header(message, "X-Autorespond").is_some()
        || raw_header(message, "X-Auto-Response-Suppress")
            .is_some_and(|value| ["all", "oof", "autoreply"].iter().any(|v| value.to_lowercase().contains(v)))
    {
        return Kind::AutoReply;
    }
    let precedence = raw_header(message, "Precedence").map(str::to_lowercase);
    if precedence.is_some_and(|value| ["bulk", "list", "junk"].contains(&value.as_str()))
        || raw_header(message, "List-Unsubscribe").is_some()
        || raw_header(message, "List-Id").is_some()
    {
        return Kind::Bulk;
    }
    let lower = subject.to_lowercase();
    if AUTO_REPLY_SUBJECTS.iter().any(|prefix| lower.starts_with(prefix)) {
        return Kind::AutoReply;
    }
    Kind::Personal
}

/// A delivery status notification (RFC 3464 `multipart/report`), or mail from a mailer
/// daemon, with the Message-IDs of the returned mail when it carries them.
fn bounce(message: &Message<'_>, from: &Mailbox) -> Option<Kind> {
    let root = message.root_part();
    let is_report = root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|sub| sub.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|kind| kind.eq_ignore_ascii_case("delivery-status"))
    });
    let local = from.address.split('@').next().unwrap_or_default();
    let from_daemon = ["mailer-daemon", "postmaster"].contains(&local);
    if !is_report && !from_daemon && raw_header(message, "X-Failed-Recipients").is_none() {
        return None;
    }
    let mut original_message_ids = Vec::new();
    let mut reason = String::new();
    for part in message.parts.iter().skip(1) {
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_lowercase())
            .unwrap_or_default();
        match &part.body {
            PartType::Message(inner) => original_message_ids.extend(inner.message_id().map(clean_id)),
            PartType::Text(text) if content_type == "text/rfc822-headers" => {
                original_message_ids.extend(quoted_message_ids(text));
            }
            PartType::Text(text) if content_type == "message/delivery-status" => reason = status_of(text),
            PartType::Binary(bytes) if content_type == "message/delivery-status" => {
                reason = status_of(&String::from_utf8_lossy(bytes));
            }
            _ => {}
        }
    }
    if original_message_ids.is_empty() {
        // Plain-text bounces quote the returned headers in the body.
        original_message_ids = quoted_message_ids(&body_text(message));
    }
    if reason.is_empty() {
        reason = message.subject().unwrap_or("delivery failed").trim().to_owned();
    }
    original_message_ids.retain(|id| Some(id.as_str()) != message.message_id());
    Some(Kind::Bounce { original_message_ids, reason })
}

/// `Status: 5.1.1 (Diagnostic-Code …)` of the first failed recipient in a delivery-status part.
fn status_of(report: &str) -> String {
    let field = |name: &str| {
        report.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    };
    match (field("Status"), field("Diagnostic-Code")) {
        (Some(status), Some(diagnostic)) => format!("{status} {diagnostic}"),
        (Some(status), None) => status,
        (None, Some(diagnostic)) => diagnostic,
        (None, None) => String::new(),
    }
}

/// `Message-ID: <…>` lines quoted in a bounce's text.
fn quoted_message_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim_start_matches('>').trim().split_once(':')?;
            key.trim().eq_ignore_ascii_case("message-id").then(|| clean_id(value))
        })
        .filter(|id| !id.is_empty())
        .collect()
}
