//! The use cases of a conversation that span capabilities. A message stored by
//! copilot-conversations causes, in the same transaction: its triage and a draft when the
//! customer wrote, the e-mail delivery when an agent replied on an e-mail ticket, and the
//! `message.created` event ([`after_posted`]). Opening a ticket, adding a message,
//! approving a draft and taking in mail all end there. The thread as agents read it joins
//! each message with its triage, delivery, attachments and mail.

use copilot_conversations::{Message, NewMessage, NewTicket, Posted, Ticket};
use copilot_core::{
    Error, Principal,
    ids::{DraftId, MessageId, TicketId},
    model::{Author, Channel},
    page::{Page, PageRequest},
};
use copilot_drafts::drafts::{self, Draft};
use copilot_intents::triage::{self, MessageTriage};
use copilot_mail::{
    deliveries::{self, Delivery},
    email::{self, AttachmentInfo, EmailInfo, Limits, Received},
};
use copilot_store::{Db, TenantTx, events, idempotency::Guard};
use serde::{Deserialize, Serialize};

/// A message as the thread shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessage {
    #[serde(flatten)]
    pub message: Message,
    /// Customer messages are triaged; other messages have none.
    pub triage: Option<MessageTriage>,
    /// Agent replies on tickets whose channel sends them (e-mail): where the sending stands.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// Files that came with a received mail.
    #[serde(default)]
    pub attachments: Vec<AttachmentInfo>,
    /// The mail the message came in as or went out as.
    #[serde(default)]
    pub email: Option<EmailInfo>,
    /// The languages the message has been translated into.
    #[serde(default)]
    pub translations: Vec<String>,
}

impl From<Message> for ThreadMessage {
    fn from(message: Message) -> Self {
        Self { message, triage: None, delivery: None, attachments: Vec::new(), email: None, translations: Vec::new() }
    }
}

/// A new ticket and its first message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedTicket {
    pub ticket: Ticket,
    pub message: ThreadMessage,
}

/// An approved draft and the agent message it became.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approved {
    pub draft: Draft,
    pub message: ThreadMessage,
}

/// Applies what a newly stored message causes beyond its ticket, in the transaction that
/// stored it: a customer's message is queued for triage and (unless the tenant turned
/// automatic drafts off) for a draft, superseding pending ones; an agent's public reply
/// supersedes the pending drafts it made moot (an approved draft is no longer pending) and,
/// on an e-mail ticket, is queued for delivery; a public message moves the ticket's SLA
/// clocks; then `message.created` is emitted.
pub async fn after_posted(tx: &TenantTx, posted: Posted) -> Result<ThreadMessage, Error> {
    let Posted { message, author, channel } = posted;
    let (ticket_id, message_id, at) = (message.ticket_id, message.id, message.created_at);
    let mut shown = ThreadMessage::from(message);
    match author {
        Author::Customer => {
            shown.triage = Some(triage::enqueue(tx, ticket_id, message_id, at).await?);
            drafts::on_customer_message(tx, ticket_id, message_id, at).await?;
        }
        Author::Agent => {
            drafts::on_agent_reply(tx, ticket_id).await?;
            if channel == Channel::Email {
                shown.delivery = Some(deliveries::enqueue(tx, ticket_id, message_id, at).await?);
            }
        }
        Author::Note => {}
    }
    if author != Author::Note {
        crate::summaries::on_message(tx, ticket_id, message_id).await?;
        crate::service_levels::sync_id(tx, ticket_id).await?;
    }
    events::emit(tx, "message.created", Some(ticket_id), &serde_json::json!({ "message": shown })).await?;
    Ok(shown)
}

/// Opens a ticket with its first (customer) message.
///
/// With an idempotency guard, a repeat of the same request returns the first result and
/// creates nothing; the same key with a different request is `idempotency_key_reused`.
pub async fn open_ticket(
    db: &Db,
    by: &Principal,
    request: NewTicket,
    guard: Option<Guard>,
) -> Result<CreatedTicket, Error> {
    let valid = request.validate()?;
    let tx = db.tenant(by.tenant_id).await?;
    if let Some(guard) = &guard
        && let Some(previous) = guard.replay(&tx).await?
    {
        return Ok(previous);
    }
    let opened = copilot_conversations::open(&tx, by, valid).await?;
    let created = CreatedTicket { ticket: opened.ticket, message: after_posted(&tx, opened.first).await? };
    match guard {
        Some(guard) => guard.commit(db, tx, created).await,
        None => {
            tx.commit().await?;
            Ok(created)
        }
    }
}

/// Adds a message to a ticket (see `copilot_conversations::add_message`) with its effects.
pub async fn add_message(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    request: NewMessage,
) -> Result<ThreadMessage, Error> {
    add_message_with_original(tx, by, ticket_id, request, None).await
}

/// [`add_message`] for a message sent translated: `original` is what the agent wrote and
/// its language, kept beside the message before anything (its event, its e-mail) follows.
pub async fn add_message_with_original(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    request: NewMessage,
    original: Option<(String, String)>,
) -> Result<ThreadMessage, Error> {
    let mut posted = copilot_conversations::add_message(tx, by, ticket_id, request).await?;
    if let Some((body, language)) = original {
        copilot_conversations::keep_original(tx, &mut posted.message, &body, &language).await?;
    }
    after_posted(tx, posted).await
}

/// Approves a draft, as written or as edited: its text becomes a public agent reply
/// (delivered when the ticket is an e-mail one), then `draft.approved` is emitted.
pub async fn approve_draft(
    tx: &TenantTx,
    by: &Principal,
    draft_id: DraftId,
    edited: Option<&str>,
) -> Result<Approved, Error> {
    approve_draft_with_original(tx, by, draft_id, edited, None).await
}

/// [`approve_draft`] with the text sent translated: `edited` is the translation, and
/// `original` what the agent wrote and its language, kept beside the reply.
pub async fn approve_draft_with_original(
    tx: &TenantTx,
    by: &Principal,
    draft_id: DraftId,
    edited: Option<&str>,
    original: Option<(String, String)>,
) -> Result<Approved, Error> {
    let mut approval = drafts::approve(tx, by, draft_id, edited).await?;
    if let Some((body, language)) = original {
        copilot_conversations::keep_original(tx, &mut approval.reply.message, &body, &language).await?;
    }
    let message = after_posted(tx, approval.reply).await?;
    let approved = Approved { draft: approval.draft, message };
    events::emit(
        tx,
        "draft.approved",
        Some(approved.draft.ticket_id),
        &serde_json::json!({ "draft": approved.draft, "message": approved.message }),
    )
    .await?;
    Ok(approved)
}

/// Takes in one parsed mail (see `copilot_mail::email`), with the effects of the customer
/// message it became, if any.
pub async fn receive_email(
    tx: &TenantTx,
    by: &Principal,
    mail: &copilot_channels::InboundEmail,
    raw: &[u8],
    limits: Limits,
) -> Result<Received, Error> {
    let taken = email::receive(tx, by, mail, raw, limits).await?;
    if let Some(posted) = taken.posted {
        after_posted(tx, posted).await?;
    }
    Ok(taken.received)
}

/// The thread of a ticket, oldest first, each message with its triage, delivery,
/// attachments, mail and the languages it was translated into.
pub async fn thread(tx: &TenantTx, ticket_id: TicketId, page: PageRequest) -> Result<Page<ThreadMessage>, Error> {
    let messages = copilot_conversations::list_messages(tx, ticket_id, page).await?;
    let ids: Vec<MessageId> = messages.data.iter().map(|message| message.id).collect();
    let mut triages = triage::for_messages(tx, &ids).await?;
    let mut deliveries = deliveries::for_messages(tx, &ids).await?;
    let mut attachments = email::attachments_for(tx, &ids).await?;
    let mut mails = email::email_for(tx, &ids).await?;
    let mut translated = copilot_conversations::translations::languages(tx, &ids).await?;
    let data = messages
        .data
        .into_iter()
        .map(|message| {
            let id = message.id;
            ThreadMessage {
                triage: triages.remove(&id),
                delivery: deliveries.remove(&id),
                attachments: attachments.remove(&id).unwrap_or_default(),
                email: mails.remove(&id),
                translations: translated.remove(&id).unwrap_or_default(),
                message,
            }
        })
        .collect();
    Ok(Page { data, next_cursor: messages.next_cursor })
}
