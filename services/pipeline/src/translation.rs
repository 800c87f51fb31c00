//! Translation with the `translate` route's LLM: any text (for integrations), a message
//! into a reader's language (kept once per message and language), and an agent's reply
//! (typed, or an approved draft) sent in the customer's language with what the agent wrote
//! kept beside it.

use copilot_conversations::{
    NewMessage,
    translations::{self, Translation},
};
use copilot_core::{
    Error, Principal, TenantId,
    ids::{DraftId, MessageId, TicketId},
    model::{Author, LlmFeature},
    values::language_code,
};
use copilot_drafting::{
    redact::Redactions,
    translate::{read_translation, translate_prompt},
};
use copilot_drafts::settings as draft_settings;
use copilot_store::TenantTx;
use copilot_triage::{detect, focus};

use crate::{
    Pipeline,
    conversations::{Approved, ThreadMessage},
    llm::{self, CallFailure},
};

/// The longest text translated, in characters.
pub const MAX_CHARS: usize = 20_000;

/// A text in another language and who translated it (no model when nothing needed it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translated {
    pub text: String,
    /// The source language, given or detected (`und` when it cannot be told).
    pub from: String,
    pub to: String,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
}

impl Translated {
    /// The translation of `message`, to be kept.
    pub fn of_message(self, message: MessageId) -> Translation {
        Translation {
            message_id: message,
            language: self.to,
            source_language: Some(self.from),
            text: self.text,
            model: self.model,
            llm_profile: self.llm_profile,
            created_at: copilot_core::now(),
        }
    }
}

/// The language of a text when it can be told.
fn detected(text: &str) -> Option<String> {
    let detection = detect(&focus(text));
    (detection.confident && detection.code != "und").then_some(detection.code)
}

/// Translates `text` into `to` (ISO 639-1). A text already in `to` comes back unchanged.
pub async fn translate(
    state: &Pipeline,
    tenant: TenantId,
    text: &str,
    to: &str,
    from: Option<&str>,
) -> Result<Translated, Error> {
    translate_call(state, tenant, text, to, from).await?.map_err(|failure| Error::Unavailable {
        detail: format!("the LLM could not translate the text: {}", failure.message),
        retry_after_seconds: 5,
    })
}

/// [`translate`], with why no profile answered kept apart from bad input, a missing LLM or
/// a spent budget (for a queue to retry it).
pub(crate) async fn translate_call(
    state: &Pipeline,
    tenant: TenantId,
    text: &str,
    to: &str,
    from: Option<&str>,
) -> Result<Result<Translated, CallFailure>, Error> {
    let length = text.trim().chars().count();
    if length == 0 {
        return Err(Error::validation("validation_failed", "`text` must not be empty"));
    }
    if length > MAX_CHARS {
        return Err(Error::TooLarge {
            code: "text_too_long",
            detail: format!("`text` has {length} characters; at most {MAX_CHARS} are translated"),
        });
    }
    let to = language_code("to", Some(to))?
        .ok_or_else(|| Error::validation("invalid_language", "`to` must be a language code such as `en`"))?;
    let from = match language_code("from", from)? {
        Some(code) => Some(code),
        None => detected(text),
    };
    if from.as_deref() == Some(to.as_str()) {
        return Ok(Ok(Translated { text: text.to_owned(), from: to.clone(), to, model: None, llm_profile: None }));
    }
    let (settings, plan) = {
        let tx = state.db.tenant(tenant).await?;
        let settings = draft_settings::get(&tx).await?;
        let plan = llm::plan(state, &tx, &settings, LlmFeature::Translate).await?;
        (settings, plan)
    };
    if plan.candidates.is_empty() {
        return Err(Error::conflict(
            "llm_not_configured",
            "translating needs an LLM: none is configured for `translate`",
        ));
    }
    if plan.budget_exhausted {
        return Err(Error::conflict("budget_exhausted", "this month's LLM budget is spent"));
    }
    let mut redactions = Redactions::default();
    let sent = if settings.redact_pii { redactions.redact(text) } else { text.to_owned() };
    let prompt = translate_prompt(&sent, &to, from.as_deref());
    let answered = llm::call(state, tenant, &plan, &prompt, |_| {}, |_| {}, read_translation).await;
    Ok(answered.map(|answered| Translated {
        text: redactions.restore(&answered.read),
        from: from.unwrap_or_else(|| "und".to_owned()),
        to,
        model: Some(answered.completion.model),
        llm_profile: Some(answered.profile),
    }))
}

/// A message of the ticket in `language`: kept from an earlier request, or translated now
/// and kept.
pub async fn message_translation(
    state: &Pipeline,
    by: &Principal,
    ticket: TicketId,
    message: MessageId,
    language: &str,
) -> Result<Translation, Error> {
    let language = language_code("language", Some(language))?
        .ok_or_else(|| Error::validation("invalid_language", "a language code such as `en` is needed"))?;
    let body = {
        let tx = state.db.tenant(by.tenant_id).await?;
        let row = copilot_conversations::find_in_ticket(&tx, ticket, message).await?;
        if let Some(kept) = translations::get(&tx, message, &language).await? {
            return Ok(kept);
        }
        row.body
    };
    let translated = translate(state, by.tenant_id, &body, &language, None).await?;
    let tx = state.db.tenant(by.tenant_id).await?;
    let kept = translations::store(&tx, translated.of_message(message)).await?;
    tx.commit().await?;
    Ok(kept)
}

/// Who an agent's reply is translated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranslateTo {
    /// The customer's language: the ticket's (from its latest triaged message), else the
    /// latest customer message's.
    Customer,
    Language(String),
}

/// The customer's language on a ticket, when it can be told.
async fn customer_language(tx: &TenantTx, ticket: TicketId) -> Result<Option<String>, Error> {
    let found = copilot_conversations::get(tx, ticket).await?;
    if let Some(language) = found.language.filter(|code| code != "und") {
        return Ok(Some(language));
    }
    let (_, thread) = copilot_conversations::public_thread(tx, ticket, 20).await?;
    Ok(thread
        .iter()
        .rev()
        .find(|message| message.author == Author::Customer)
        .and_then(|message| detected(&message.body)))
}

/// An agent's reply sent in the customer's language: the translation is the message (and
/// what goes out by e-mail); what the agent wrote is kept beside it for agents.
pub async fn send_translated(
    state: &Pipeline,
    by: &Principal,
    ticket: TicketId,
    body: &str,
    to: TranslateTo,
) -> Result<ThreadMessage, Error> {
    by.require_human_role()?;
    let (target, writer_language) = {
        let tx = state.db.tenant(by.tenant_id).await?;
        copilot_conversations::get(&tx, ticket).await?;
        (target_language(&tx, ticket, to).await?, writer_language(&tx, by).await?)
    };
    // What the agent wrote is in its detected language, else the one they chose.
    let from = detected(body).or(writer_language);
    let translated = translate(state, by.tenant_id, body, &target, from.as_deref()).await?;
    let tx = state.db.tenant(by.tenant_id).await?;
    let original = (translated.model.is_some()).then(|| (body.to_owned(), translated.from.clone()));
    let request = NewMessage { author: Author::Agent, body: translated.text };
    let message = crate::conversations::add_message_with_original(&tx, by, ticket, request, original).await?;
    tx.commit().await?;
    Ok(message)
}

/// Approves a draft with the agent's text written in their own language: the translation
/// into the customer's language is sent, and what the agent wrote is kept beside it.
pub async fn approve_translated(
    state: &Pipeline,
    by: &Principal,
    draft: DraftId,
    body: &str,
    to: TranslateTo,
) -> Result<Approved, Error> {
    by.require_human_role()?;
    let (target, writer_language) = {
        let tx = state.db.tenant(by.tenant_id).await?;
        let ticket = copilot_drafts::drafts::get(&tx, draft).await?.ticket_id;
        (target_language(&tx, ticket, to).await?, writer_language(&tx, by).await?)
    };
    let from = detected(body).or(writer_language);
    let translated = translate(state, by.tenant_id, body, &target, from.as_deref()).await?;
    let tx = state.db.tenant(by.tenant_id).await?;
    let original = translated.model.is_some().then(|| (body.to_owned(), translated.from.clone()));
    let approved =
        crate::conversations::approve_draft_with_original(&tx, by, draft, Some(&translated.text), original).await?;
    tx.commit().await?;
    Ok(approved)
}

/// The language a reply is translated into.
async fn target_language(tx: &TenantTx, ticket: TicketId, to: TranslateTo) -> Result<String, Error> {
    match to {
        TranslateTo::Language(code) => Ok(code),
        TranslateTo::Customer => customer_language(tx, ticket).await?.ok_or_else(|| {
            Error::unprocessable(
                "customer_language_unknown",
                "the customer's language cannot be told: name one in `translate_to`",
            )
        }),
    }
}

/// The language the signed-in person chose, if any.
async fn writer_language(tx: &TenantTx, by: &Principal) -> Result<Option<String>, Error> {
    Ok(copilot_tenancy::auth::me(tx, by).await?.and_then(|user| user.language))
}
