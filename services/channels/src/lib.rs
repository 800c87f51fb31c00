//! The channels to the outside: e-mail (raw MIME in, parsed, classified, quoted history
//! stripped; replies out through SMTP with the `smtp` feature, which alone links lettre)
//! and webhooks (Standard Webhooks signatures, URL checks against request forgery; posting
//! with the `http` feature). Knows no database and no HTTP server.

pub mod inbound;
pub mod outbound;
pub mod quote;
#[cfg(feature = "smtp")]
pub mod smtp;
pub mod webhook;

pub use inbound::{Attachment, InboundEmail, Kind, Mailbox, ParseError, parse};
pub use outbound::{OutboundEmail, find_ticket_token, new_message_id, reply_subject};
#[cfg(feature = "smtp")]
pub use smtp::{Mailer, SendError, compose};
