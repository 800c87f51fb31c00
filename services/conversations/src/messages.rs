//! Messages of a ticket's thread: the customer's, agents' public replies and internal notes.

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
    model::{Author, Channel},
    page::{Page, PageRequest},
    values::bounded_text,
};
use copilot_entities::{message, ticket};
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rows::{find_row, find_row_for_update};

/// Longest message body accepted, in characters.
pub const MAX_BODY_CHARS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub author: Author,
    pub author_user_id: Option<Uuid>,
    pub body: String,
    /// Sent translated: what the agent wrote, for agents only (`body` is what was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_language: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<message::Model> for Message {
    fn from(row: message::Model) -> Self {
        Self {
            id: MessageId(row.id),
            ticket_id: TicketId(row.ticket_id),
            author: row.author,
            author_user_id: row.author_user_id,
            body: row.body,
            original_body: row.original_body,
            original_language: row.original_language,
            created_at: row.created_at,
        }
    }
}

/// A message just stored. What it causes beyond the conversation (its triage, a draft,
/// the e-mail delivery of a reply, the `message.created` event) belongs to the
/// application layer, which applies it in the same transaction.
#[must_use = "a posted message has effects beyond the conversation: the application layer applies them"]
#[derive(Clone, Debug)]
pub struct Posted {
    pub message: Message,
    pub author: Author,
    /// The ticket's channel: where a public reply goes.
    pub channel: Channel,
}

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub author: Author,
    pub body: String,
}

/// Longest preview of a ticket's latest message, in characters.
const PREVIEW_CHARS: usize = 200;

/// The start of a message on one line, for the inbox.
pub(crate) fn preview(body: &str) -> String {
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().nth(PREVIEW_CHARS).is_none() {
        return line;
    }
    let end = line.char_indices().nth(PREVIEW_CHARS - 1).map_or(line.len(), |(end, _)| end);
    format!("{}…", &line[..end])
}

/// Validates a message body: not blank, at most [`MAX_BODY_CHARS`].
pub fn body(raw: &str) -> Result<String, Error> {
    bounded_text("body", raw, 1, MAX_BODY_CHARS)
}

pub(crate) async fn insert(
    tx: &TenantTx,
    ticket_id: TicketId,
    author: Author,
    author_user_id: Option<Uuid>,
    body: String,
    at: DateTime<Utc>,
) -> Result<Message, Error> {
    let row = message::ActiveModel {
        id: Set(MessageId::generate().0),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(ticket_id.0),
        author: Set(author),
        author_user_id: Set(author_user_id),
        body: Set(body),
        original_body: Set(None),
        original_language: Set(None),
        created_at: Set(at),
    };
    let row = row.insert(&**tx).await.map_err(db_err)?;
    note_on_ticket(tx, ticket_id, author, &row.body, at).await?;
    Ok(Message::from(row))
}

/// Keeps the ticket's preview, waiting time and figures in step with its thread: a
/// customer's message starts the wait (unless one is already running), a public reply ends
/// it and, the first time, is the first reply; internal notes change neither but count
/// among the ticket's messages.
async fn note_on_ticket(
    tx: &TenantTx,
    ticket_id: TicketId,
    author: Author,
    body: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let mut update = ticket::Entity::update_many()
        .col_expr(ticket::Column::MessageCount, Expr::col(ticket::Column::MessageCount).add(1))
        .filter(ticket::Column::TenantId.eq(tx.tenant().0))
        .filter(ticket::Column::Id.eq(ticket_id.0));
    match author {
        Author::Customer => {
            update = update.col_expr(ticket::Column::Preview, Expr::value(preview(body))).col_expr(
                ticket::Column::WaitingSince,
                Func::coalesce([Expr::col(ticket::Column::WaitingSince), Expr::value(at)]).into(),
            );
        }
        Author::Agent => {
            update = update
                .col_expr(ticket::Column::Preview, Expr::value(preview(body)))
                .col_expr(ticket::Column::WaitingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(
                    ticket::Column::FirstReplyAt,
                    Func::coalesce([Expr::col(ticket::Column::FirstReplyAt), Expr::value(at)]).into(),
                );
        }
        Author::Note => {}
    }
    update.exec(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Adds a message to a ticket and applies its effect on the ticket's status.
/// What the message causes beyond the ticket is the caller's: see [`Posted`].
///
/// Public agent replies come from people: integration keys may add customer messages
/// and internal notes, never a reply that reaches the customer.
pub async fn add_message(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    request: NewMessage,
) -> Result<Posted, Error> {
    if request.author == Author::Agent {
        by.require_human_role()?;
    }
    let ticket = find_row_for_update(tx, ticket_id).await?;
    if let Some(into) = ticket.merged_into_id {
        return Err(crate::rows::merged(into));
    }
    let body = body(&request.body)?;
    let author_user_id = match request.author {
        Author::Customer => None,
        Author::Agent | Author::Note => by.actor.user_id(),
    };
    let now = copilot_core::now();
    let message = insert(tx, ticket_id, request.author, author_user_id, body, now).await?;
    let channel = ticket.channel;
    let status = ticket.status;
    let next = status.after_message(request.author);
    let mut change: ticket::ActiveModel = ticket.into();
    change.updated_at = Set(now);
    if next != status {
        change.status = Set(next);
        if let Some(solved_at) = crate::rows::solved_at_after(status, next) {
            change.solved_at = Set(solved_at);
        }
    }
    change.update(&**tx).await.map_err(db_err)?;
    if next != status {
        audit::record(
            tx,
            by.actor,
            "ticket.status_changed",
            audit::Target::new("ticket", ticket_id),
            serde_json::json!({ "from": status, "to": next, "cause": "message" }),
        )
        .await?;
    }
    Ok(Posted { message, author: request.author, channel })
}

/// Keeps what the agent wrote beside a message sent translated (agents see it; it is
/// never sent).
pub async fn keep_original(tx: &TenantTx, message: &mut Message, original: &str, language: &str) -> Result<(), Error> {
    let row = message::Entity::scoped(tx.tenant())
        .filter(message::Column::Id.eq(message.id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("message"))?;
    let mut change: message::ActiveModel = row.into();
    change.original_body = Set(Some(original.to_owned()));
    change.original_language = Set(Some(language.to_owned()));
    change.update(&**tx).await.map_err(db_err)?;
    message.original_body = Some(original.to_owned());
    message.original_language = Some(language.to_owned());
    Ok(())
}

/// A message of a ticket; another ticket's (or tenant's) message is not found.
pub async fn find_in_ticket(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: MessageId,
) -> Result<message::Model, Error> {
    message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(ticket_id.0))
        .filter(message::Column::Id.eq(message_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("message"))
}

/// The thread of a ticket, oldest first.
pub async fn list_messages(tx: &TenantTx, ticket_id: TicketId, page: PageRequest) -> Result<Page<Message>, Error> {
    find_row(tx, ticket_id).await?;
    let mut query = message::Entity::scoped(tx.tenant()).filter(message::Column::TicketId.eq(ticket_id.0));
    if let Some(after) = page.cursor {
        query = query.filter(message::Column::Id.gt(after));
    }
    let rows = query.order_by_asc(message::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let messages = rows.into_iter().map(Message::from).collect();
    Ok(Page::from_overfetch(messages, page.limit, |message: &Message| message.id.0))
}

/// A ticket's conversation without internal notes: how many messages it has, and the
/// latest `limit` of them, oldest first.
pub async fn public_thread(tx: &TenantTx, ticket_id: TicketId, limit: u64) -> Result<(u64, Vec<Message>), Error> {
    let public = || {
        message::Entity::scoped(tx.tenant())
            .filter(message::Column::TicketId.eq(ticket_id.0))
            .filter(message::Column::Author.ne(Author::Note))
    };
    let count = public().count(&**tx).await.map_err(db_err)?;
    let mut latest: Vec<Message> = public()
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(Message::from)
        .collect();
    latest.reverse();
    Ok((count, latest))
}

/// The agent who wrote the ticket's latest public reply, if any did.
pub async fn last_replier(tx: &TenantTx, ticket_id: TicketId) -> Result<Option<Uuid>, Error> {
    let latest = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(ticket_id.0))
        .filter(message::Column::Author.eq(Author::Agent))
        .filter(message::Column::AuthorUserId.is_not_null())
        .order_by_desc(message::Column::Id)
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(latest.and_then(|row| row.author_user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_is_one_line_and_at_most_its_length() {
        assert_eq!(preview("Hello,\n\n  my parcel\tis late."), "Hello, my parcel is late.");
        let long = "包裹".repeat(150);
        let shown = preview(&long);
        assert_eq!(shown.chars().count(), PREVIEW_CHARS);
        assert!(shown.ends_with('…'));
        assert_eq!(preview(&"a".repeat(PREVIEW_CHARS)), "a".repeat(PREVIEW_CHARS));
    }
}
