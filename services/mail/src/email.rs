//! Mail received: each parsed message is kept with its raw original and becomes a
//! customer message, or is set aside with a reason.
//!
//! - The same Message-ID received twice adds one message (the second is a `duplicate`).
//! - Mail from one of the tenant's own addresses is a `loop` and opens nothing.
//! - Auto-replies and bulk mail open no ticket and trigger no draft.
//! - A bounce of one of our replies marks that reply's delivery failed.
//! - Threading: a reply joins the ticket of any Message-ID it names in `In-Reply-To` or
//!   `References` (received or sent by us), so a changed subject does not matter; else the
//!   ticket whose token (`[#42]`) is in the subject, when the sender is that ticket's
//!   customer; else it opens a ticket.

use copilot_channels::{InboundEmail, Kind, ParseError};
use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
    model::{Author, Channel, MailDirection, MailKind},
};
use copilot_entities::{customer, email_attachment, email_message, ticket};
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use copilot_conversations::{MAX_BODY_CHARS, NewMessage, NewTicket, Posted};

use crate::{deliveries, settings};

/// What became of a received mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It opened a ticket.
    Created,
    /// It joined a ticket.
    Added,
    /// This Message-ID was received before.
    Duplicate,
    /// An auto-reply, bulk mail or a loop: kept, not a message.
    Ignored,
    /// A delivery failure report about a reply.
    Bounce,
}

/// A received mail: what it was and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Received {
    pub email_id: Uuid,
    pub outcome: Outcome,
    pub kind: MailKind,
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub note: Option<String>,
}

/// A mail taken in and, when it became a customer message, that message, whose effects
/// beyond the conversation (triage, a draft, events) the application layer applies.
#[must_use = "a customer message taken in has effects beyond the conversation: the application layer applies them"]
#[derive(Clone, Debug)]
pub struct Taken {
    pub received: Received,
    pub posted: Option<Posted>,
}

/// Limits applied to received mail.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Attachments larger than this keep their metadata only (the raw mail holds them).
    pub attachment_max_bytes: usize,
}

/// Takes in one parsed mail (see the module notes).
pub async fn receive(
    tx: &TenantTx,
    by: &Principal,
    email: &InboundEmail,
    raw: &[u8],
    limits: Limits,
) -> Result<Taken, Error> {
    if let Some(previous) = email_message::Entity::scoped(tx.tenant())
        .filter(email_message::Column::Direction.eq(MailDirection::In))
        .filter(email_message::Column::HeaderMessageId.eq(&email.message_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
    {
        let received = Received {
            email_id: previous.id,
            outcome: Outcome::Duplicate,
            kind: previous.kind,
            ticket_id: previous.ticket_id,
            message_id: previous.message_id,
            note: Some("this Message-ID was received before; nothing was added".into()),
        };
        return Ok(Taken { received, posted: None });
    }
    let identity = settings::identity(tx).await?;
    let mut posted = None;
    let (outcome, kind, note, ticket_id, message_id) = if identity.is_ours(&email.from.address) {
        (Outcome::Ignored, MailKind::Loop, Some("sent from one of the tenant's own addresses".to_owned()), None, None)
    } else {
        match &email.kind {
            Kind::Bounce { original_message_ids, reason } => {
                let mut failed = Vec::new();
                for id in original_message_ids {
                    failed.extend(deliveries::mark_bounced(tx, id, reason).await?);
                }
                let note = if failed.is_empty() {
                    format!("a delivery failure report about mail we did not send ({reason})")
                } else {
                    format!("the delivery of {} reply(ies) failed: {reason}", failed.len())
                };
                (Outcome::Bounce, MailKind::Bounce, Some(note), None, failed.first().copied())
            }
            Kind::AutoReply => {
                (Outcome::Ignored, MailKind::AutoReply, Some("an automatic reply".to_owned()), None, None)
            }
            Kind::Bulk => (Outcome::Ignored, MailKind::Bulk, Some("bulk or mailing-list mail".to_owned()), None, None),
            Kind::Personal => {
                let body = body_of(email);
                match thread(tx, email).await? {
                    Some(ticket_id) => {
                        let added = copilot_conversations::add_message(
                            tx,
                            by,
                            TicketId(ticket_id),
                            NewMessage { author: Author::Customer, body },
                        )
                        .await?;
                        let message_id = added.message.id.0;
                        posted = Some(added);
                        (Outcome::Added, MailKind::Personal, None, Some(ticket_id), Some(message_id))
                    }
                    None => {
                        let subject = truncate(email.subject.trim(), 500);
                        let request = NewTicket {
                            subject: if subject.is_empty() { "(no subject)".into() } else { subject },
                            channel: Channel::Email,
                            customer_email: email.from.address.clone(),
                            customer_name: email.from.name.as_deref().map(|name| truncate(name, 200)),
                            body,
                            priority: None,
                            tags: Vec::new(),
                        };
                        let opened = copilot_conversations::open(tx, by, request.validate()?).await?;
                        let ids = (opened.ticket.id.0, opened.first.message.id.0);
                        posted = Some(opened.first);
                        (Outcome::Created, MailKind::Personal, None, Some(ids.0), Some(ids.1))
                    }
                }
            }
        }
    };
    let email_id =
        store(tx, email, raw, kind, ticket_id, message_id.filter(|_| kind == MailKind::Personal), note.clone()).await?;
    if kind == MailKind::Personal {
        for attachment in &email.attachments {
            let size = attachment.content.len();
            email_attachment::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tx.tenant().0),
                email_id: Set(email_id),
                message_id: Set(message_id),
                filename: Set(attachment.filename.as_deref().map(|name| truncate(name, 500))),
                content_type: Set(truncate(&attachment.content_type, 200)),
                size_bytes: Set(size as i64),
                content: Set((size <= limits.attachment_max_bytes).then(|| attachment.content.clone())),
                created_at: Set(copilot_core::now()),
            }
            .insert(&**tx)
            .await
            .map_err(db_err)?;
        }
    }
    let received = Received { email_id, outcome, kind, ticket_id, message_id, note };
    Ok(Taken { received, posted })
}

/// Keeps mail that could not be read at all, so nothing received is lost; returns its id.
pub async fn keep_unparseable(tx: &TenantTx, message_id: &str, raw: &[u8], error: &ParseError) -> Result<Uuid, Error> {
    if let Some(previous) = email_message::Entity::scoped(tx.tenant())
        .filter(email_message::Column::Direction.eq(MailDirection::In))
        .filter(email_message::Column::HeaderMessageId.eq(message_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
    {
        return Ok(previous.id);
    }
    let email_id = Uuid::now_v7();
    email_message::ActiveModel {
        id: Set(email_id),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(None),
        message_id: Set(None),
        direction: Set(MailDirection::In),
        header_message_id: Set(message_id.to_owned()),
        kind: Set(MailKind::Unparseable),
        from_address: Set(None),
        subject: Set(None),
        raw: Set(Some(raw.to_vec())),
        note: Set(Some(error.to_string())),
        created_at: Set(copilot_core::now()),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    Ok(email_id)
}

async fn store(
    tx: &TenantTx,
    email: &InboundEmail,
    raw: &[u8],
    kind: MailKind,
    ticket_id: Option<Uuid>,
    message_id: Option<Uuid>,
    note: Option<String>,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    email_message::ActiveModel {
        id: Set(id),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(ticket_id),
        message_id: Set(message_id),
        direction: Set(MailDirection::In),
        header_message_id: Set(email.message_id.clone()),
        kind: Set(kind),
        from_address: Set(Some(truncate(&email.from.address, 320))),
        subject: Set(Some(email.subject.clone())),
        raw: Set(Some(raw.to_vec())),
        note: Set(note),
        created_at: Set(copilot_core::now()),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// The ticket a reply joins, if any (see the module notes); a ticket merged since passes
/// the reply on to the ticket it was merged into.
async fn thread(tx: &TenantTx, email: &InboundEmail) -> Result<Option<Uuid>, Error> {
    let Some(mut id) = named_ticket(tx, email).await? else { return Ok(None) };
    // Merges form chains (a merged into b, b into c), never circles; a bound all the same.
    for _ in 0..16 {
        let row =
            ticket::Entity::scoped(tx.tenant()).filter(ticket::Column::Id.eq(id)).one(&**tx).await.map_err(db_err)?;
        match row.and_then(|row| row.merged_into_id) {
            Some(into) => id = into,
            None => break,
        }
    }
    Ok(Some(id))
}

/// The ticket a reply names: by a Message-ID it answers, else by the ticket token in its
/// subject (when the customer is the ticket's).
async fn named_ticket(tx: &TenantTx, email: &InboundEmail) -> Result<Option<Uuid>, Error> {
    let named: Vec<&String> = email.in_reply_to.iter().chain(&email.references).collect();
    if !named.is_empty() {
        let known = email_message::Entity::scoped(tx.tenant())
            .filter(email_message::Column::HeaderMessageId.is_in(named.into_iter().cloned()))
            .filter(email_message::Column::TicketId.is_not_null())
            .order_by_desc(email_message::Column::CreatedAt)
            .one(&**tx)
            .await
            .map_err(db_err)?;
        if let Some(ticket_id) = known.and_then(|mail| mail.ticket_id) {
            return Ok(Some(ticket_id));
        }
    }
    let Some(number) = copilot_channels::find_ticket_token(&email.subject) else { return Ok(None) };
    let Some(ticket) = ticket::Entity::scoped(tx.tenant())
        .filter(ticket::Column::Number.eq(number))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let customer = customer::Entity::scoped(tx.tenant())
        .filter(customer::Column::Id.eq(ticket.customer_id))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(customer.filter(|customer| customer.email.eq_ignore_ascii_case(&email.from.address)).map(|_| ticket.id))
}

/// The message body: the customer's new text, within the length limit (the raw mail
/// keeps everything); a mail with no text names its attachments.
fn body_of(email: &InboundEmail) -> String {
    let text = email.new_text.trim();
    if !text.is_empty() {
        return truncate(text, MAX_BODY_CHARS);
    }
    let names: Vec<&str> = email.attachments.iter().filter_map(|a| a.filename.as_deref()).collect();
    match (names.is_empty(), email.subject.trim()) {
        // A customer who wrote only a subject asked in it.
        (true, subject) if !subject.is_empty() => truncate(subject, MAX_BODY_CHARS),
        (true, _) => "(no text)".into(),
        (false, _) => truncate(&format!("(attachments: {})", names.join(", ")), MAX_BODY_CHARS),
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// An attachment as listed on its message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub id: Uuid,
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    /// Whether the bytes are kept (within the size limit) and can be downloaded.
    pub stored: bool,
}

/// The mail a thread message came in as or went out as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailInfo {
    pub direction: MailDirection,
    /// The Message-ID header, without angle brackets.
    pub message_id: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Whether the raw original is kept (received mail).
    pub raw: bool,
}

/// The mail of some messages, by message id.
pub async fn email_for(
    tx: &TenantTx,
    ids: &[MessageId],
) -> Result<std::collections::HashMap<MessageId, EmailInfo>, Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    type Row = (Option<Uuid>, MailDirection, String, Option<String>, Option<String>, bool);
    let rows: Vec<Row> = email_message::Entity::scoped(tx.tenant())
        .select_only()
        .columns([
            email_message::Column::MessageId,
            email_message::Column::Direction,
            email_message::Column::HeaderMessageId,
            email_message::Column::FromAddress,
            email_message::Column::Subject,
        ])
        .expr(Expr::col(email_message::Column::Raw).is_not_null())
        .filter(email_message::Column::MessageId.is_in(ids.iter().map(|id| id.0)))
        .order_by_asc(email_message::Column::Id)
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(message, direction, message_id, from, subject, raw)| {
            Some((MessageId(message?), EmailInfo { direction, message_id, from, subject, raw }))
        })
        .collect())
}

/// The attachments of some messages, by message id.
pub async fn attachments_for(
    tx: &TenantTx,
    ids: &[MessageId],
) -> Result<std::collections::HashMap<MessageId, Vec<AttachmentInfo>>, Error> {
    let mut out: std::collections::HashMap<MessageId, Vec<AttachmentInfo>> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = email_attachment::Entity::scoped(tx.tenant())
        .filter(email_attachment::Column::MessageId.is_in(ids.iter().map(|id| id.0)))
        .order_by_asc(email_attachment::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    for row in rows {
        let Some(message_id) = row.message_id else { continue };
        out.entry(MessageId(message_id)).or_default().push(AttachmentInfo {
            id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            stored: row.content.is_some(),
        });
    }
    Ok(out)
}

/// A stored attachment of a ticket's message: its name, type and bytes.
pub async fn attachment(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: MessageId,
    attachment_id: Uuid,
) -> Result<(Option<String>, String, Vec<u8>), Error> {
    copilot_conversations::find_in_ticket(tx, ticket_id, message_id).await?;
    let row = email_attachment::Entity::scoped(tx.tenant())
        .filter(email_attachment::Column::Id.eq(attachment_id))
        .filter(email_attachment::Column::MessageId.eq(message_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("attachment"))?;
    let content = row.content.ok_or_else(|| {
        Error::unprocessable("attachment_not_stored", "the attachment was over the size limit; the raw mail holds it")
    })?;
    Ok((row.filename, row.content_type, content))
}

/// The raw mail a ticket's message came from.
pub async fn raw_of_message(tx: &TenantTx, ticket_id: TicketId, message_id: MessageId) -> Result<Vec<u8>, Error> {
    copilot_conversations::find_in_ticket(tx, ticket_id, message_id).await?;
    email_message::Entity::scoped(tx.tenant())
        .filter(email_message::Column::MessageId.eq(message_id.0))
        .filter(email_message::Column::Direction.eq(MailDirection::In))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .and_then(|mail| mail.raw)
        .ok_or(Error::NotFound("raw mail"))
}
