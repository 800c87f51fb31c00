//! One `#[OpenApi]` struct per tag, one file per tag.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod drafts;
pub mod email;
pub mod events;
pub mod health;
pub mod intent_models;
pub mod intents;
pub mod knowledge;
pub mod labelling;
pub mod macros;
pub mod platform;
pub mod rewrite;
pub mod satisfaction;
pub mod service_levels;
pub mod settings;
pub mod summaries;
pub mod ticket_fields;
pub mod tickets;
pub mod translation;
pub mod triage;
pub mod users;
pub mod views;
pub mod webhooks;

use copilot_core::page::PageRequest;

/// The `Idempotency-Key` header as sent. A value that is not visible ASCII (`ключ-1`, a
/// control byte) is refused by `Guard::new` with `400 invalid_idempotency_key`, never
/// ignored: the typed header extractor would read such a value as absent.
pub(crate) fn idempotency_key(request: &poem::Request) -> Option<String> {
    request.headers().get("idempotency-key").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

use crate::error::ApiResult;

/// Tags grouping the operations in the spec.
#[derive(poem_openapi::Tags)]
pub enum Tag {
    /// Operator endpoints, authenticated with the platform token.
    Platform,
    /// Login, logout and the current identity.
    Auth,
    /// People of the tenant (admins only).
    Users,
    /// Machine credentials (admins only).
    ApiKeys,
    /// Support tickets and their message threads.
    Tickets,
    /// Intent, sentiment and language of customer messages.
    Triage,
    /// Documents of the knowledge base, their ingestion, and search.
    Knowledge,
    /// AI-written reply drafts and the human decision on them.
    Drafts,
    /// Mail in (raw MIME), e-mail settings, and the mail of tickets (raw originals, attachments, resending).
    Email,
    /// The tenant's configuration of the copilot (admins change it).
    Settings,
    /// Draft acceptance and LLM usage.
    Analytics,
    /// Signed outbound events, their delivery log, and integration events in.
    Webhooks,
    /// The tenant's events live, as server-sent events.
    Events,
    /// The tenant's audit log (admins only).
    Audit,
}

/// Parses `limit` and `cursor` query parameters.
pub(crate) fn page(limit: Option<u64>, cursor: Option<String>) -> ApiResult<PageRequest> {
    Ok(PageRequest::parse(limit, cursor.as_deref())?)
}
