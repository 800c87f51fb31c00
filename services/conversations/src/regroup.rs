//! Merging and splitting threads. A merge moves every message of a ticket to another (the
//! thread keeps time order: message ids are time-ordered), unites their tags and closes the
//! merged ticket with a link; a split opens a new ticket from a customer's message (and,
//! if asked, the ones after it). Both leave a note on each side and recount each ticket's
//! figures from its thread. What moved messages carry elsewhere (triage, drafts, mail) is
//! the caller's to move: see [`Regrouped::moved`].

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
    model::{Author, TicketStatus},
    values::single_line,
};
use copilot_entities::{message, ticket, ticket_tag, translation_job};
use copilot_store::{Scoped, TenantTx, audit, db_err, events};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::{
    messages,
    rows::find_row_for_update,
    tickets::{self, Ticket},
};

/// Two tickets after a merge or a split, and the messages that moved from `source` to
/// `target`.
#[derive(Clone, Debug)]
pub struct Regrouped {
    pub source: Ticket,
    pub target: Ticket,
    pub moved: Vec<MessageId>,
}

fn invalid(code: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::conflict(code, detail.to_string())
}

/// Moves `ids` (messages of one ticket) and their translation jobs to `to`.
async fn move_messages(tx: &TenantTx, ids: &[Uuid], to: TicketId) -> Result<(), Error> {
    message::Entity::update_many()
        .col_expr(message::Column::TicketId, Expr::value(to.0))
        .filter(message::Column::TenantId.eq(tx.tenant().0))
        .filter(message::Column::Id.is_in(ids.iter().copied()))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    translation_job::Entity::update_many()
        .col_expr(translation_job::Column::TicketId, Expr::value(to.0))
        .filter(translation_job::Column::TenantId.eq(tx.tenant().0))
        .filter(translation_job::Column::MessageId.is_in(ids.iter().copied()))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A ticket's figures read again from its thread (after messages moved in or out): how
/// many messages, the first public reply, since when the customer waits, the preview.
async fn recount(tx: &TenantTx, id: TicketId, now: DateTime<Utc>) -> Result<(), Error> {
    let thread = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(id.0))
        .order_by_asc(message::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let (mut waiting, mut first_reply, mut preview) = (None, None, None);
    for row in &thread {
        match row.author {
            Author::Customer => waiting = waiting.or(Some(row.created_at)),
            Author::Agent => {
                waiting = None;
                first_reply = first_reply.or(Some(row.created_at));
            }
            Author::Note => continue,
        }
        preview = Some(messages::preview(&row.body));
    }
    ticket::Entity::update_many()
        .col_expr(ticket::Column::MessageCount, Expr::value(thread.len() as i32))
        .col_expr(ticket::Column::WaitingSince, Expr::value(waiting))
        .col_expr(ticket::Column::FirstReplyAt, Expr::value(first_reply))
        .col_expr(ticket::Column::Preview, Expr::value(preview))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::TenantId.eq(tx.tenant().0))
        .filter(ticket::Column::Id.eq(id.0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A pending or solved ticket whose thread now leaves the customer waiting (a merged-in
/// question nobody answered) is open again, as a customer's message would make it.
async fn reopen_if_waiting(tx: &TenantTx, id: TicketId, now: DateTime<Utc>) -> Result<(), Error> {
    let row = crate::rows::find_row(tx, id).await?;
    if row.waiting_since.is_none() || !matches!(row.status, TicketStatus::Pending | TicketStatus::Solved) {
        return Ok(());
    }
    let old = row.status;
    let mut change: ticket::ActiveModel = row.into();
    change.status = Set(TicketStatus::Open);
    if let Some(solved_at) = crate::rows::solved_at_after(old, TicketStatus::Open) {
        change.solved_at = Set(solved_at);
    }
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

async fn tags_of(tx: &TenantTx, id: TicketId) -> Result<Vec<String>, Error> {
    let rows = ticket_tag::Entity::scoped(tx.tenant())
        .filter(ticket_tag::Column::TicketId.eq(id.0))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|row| row.tag).collect())
}

async fn note(tx: &TenantTx, by: &Principal, on: TicketId, text: String, at: DateTime<Utc>) -> Result<(), Error> {
    messages::insert(tx, on, Author::Note, by.actor.user_id(), text, at).await.map(drop)
}

async fn read(tx: &TenantTx, id: TicketId) -> Result<Ticket, Error> {
    let row = crate::rows::find_row(tx, id).await?;
    tickets::hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("ticket"))
}

/// Merges ticket `source` into `into` (people only): every message moves to `into` in time
/// order, tags are united, `source` is closed with a link and takes no more messages; a
/// note on each side says so. `400 invalid_merge` into itself, `409 ticket_merged` when
/// either was merged already, `409 ticket_closed` into a closed ticket; another tenant's
/// ticket is not found.
pub async fn merge(tx: &TenantTx, by: &Principal, source: TicketId, into: TicketId) -> Result<Regrouped, Error> {
    by.require_human_role()?;
    if source == into {
        return Err(Error::validation("invalid_merge", "a ticket cannot be merged into itself"));
    }
    // Locked in id order, so two merges of the same pair never wait on each other.
    let (first, second) = if source < into { (source, into) } else { (into, source) };
    let a = find_row_for_update(tx, first).await?;
    let b = find_row_for_update(tx, second).await?;
    let (from, to) = if a.id == source.0 { (a, b) } else { (b, a) };
    for row in [&from, &to] {
        if let Some(merged) = row.merged_into_id {
            return Err(invalid("ticket_merged", format!("#{} was merged already (into {merged})", row.number)));
        }
    }
    if to.status == TicketStatus::Closed {
        return Err(invalid("ticket_closed", format!("#{} is closed; reopen it before merging into it", to.number)));
    }
    let ids: Vec<Uuid> = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(source.0))
        .order_by_asc(message::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| row.id)
        .collect();
    move_messages(tx, &ids, into).await?;
    let mut tags = tags_of(tx, into).await?;
    for tag in tags_of(tx, source).await? {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tickets::replace_tags(tx, into, &tags).await?;
    let now = copilot_core::now();
    let mut closed: ticket::ActiveModel = from.clone().into();
    closed.status = Set(TicketStatus::Closed);
    if let Some(solved_at) = crate::rows::solved_at_after(from.status, TicketStatus::Closed) {
        closed.solved_at = Set(solved_at);
    }
    closed.merged_into_id = Set(Some(into.0));
    closed.update(&**tx).await.map_err(db_err)?;
    recount(tx, source, now).await?;
    recount(tx, into, now).await?;
    reopen_if_waiting(tx, into, now).await?;
    note(tx, by, source, format!("Merged into #{}.", to.number), now).await?;
    note(tx, by, into, format!("Merged from #{} ({}): {} messages.", from.number, from.subject, ids.len()), now)
        .await?;
    let data = json!({ "into": into, "into_number": to.number, "messages": ids.len() });
    audit::record(
        tx,
        by.actor,
        "ticket.merged",
        audit::Target::new("ticket", source).labelled(&format!("#{}", from.number)),
        data.clone(),
    )
    .await?;
    let regrouped = Regrouped {
        source: read(tx, source).await?,
        target: read(tx, into).await?,
        moved: ids.into_iter().map(MessageId).collect(),
    };
    events::emit(
        tx,
        "ticket.merged",
        Some(source),
        &json!({ "ticket": regrouped.source, "into": regrouped.target, "messages": regrouped.moved.len() }),
    )
    .await?;
    Ok(regrouped)
}

/// Opens a new ticket from a customer's message of `source` and, with `with_later`, every
/// message after it (people only); the new ticket has the same customer, channel, priority
/// and tags, and `subject` or the old one. A note on each side says so. `422 invalid_split`
/// for a message not the customer's, `409 invalid_split` when nothing would stay behind;
/// `409 ticket_merged` on a merged ticket.
pub async fn split(
    tx: &TenantTx,
    by: &Principal,
    source: TicketId,
    message_id: MessageId,
    with_later: bool,
    subject: Option<&str>,
) -> Result<Regrouped, Error> {
    by.require_human_role()?;
    let from = find_row_for_update(tx, source).await?;
    if let Some(into) = from.merged_into_id {
        return Err(crate::rows::merged(into));
    }
    let message = messages::find_in_ticket(tx, source, message_id).await?;
    if message.author != Author::Customer {
        return Err(Error::unprocessable("invalid_split", "a new ticket starts with a customer's message"));
    }
    let subject = single_line("subject", subject.unwrap_or(&from.subject), 1, 500)?;
    let thread: Vec<Uuid> = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(source.0))
        .order_by_asc(message::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| row.id)
        .collect();
    let ids: Vec<Uuid> =
        thread.iter().copied().filter(|id| *id == message.id || (with_later && *id > message.id)).collect();
    if ids.len() == thread.len() {
        return Err(invalid("invalid_split", "splitting these off would leave the ticket without messages"));
    }
    let now = copilot_core::now();
    let number = tickets::next_number(tx).await?;
    let id = TicketId::generate();
    let row = tickets::new_row(tx, id, number, subject, from.priority, from.channel, from.customer_id, now);
    row.insert(&**tx).await.map_err(db_err)?;
    tickets::insert_tags(tx, id, &tags_of(tx, source).await?).await?;
    move_messages(tx, &ids, id).await?;
    recount(tx, source, now).await?;
    recount(tx, id, now).await?;
    note(tx, by, source, format!("Split into #{number}: {} messages.", ids.len()), now).await?;
    note(tx, by, id, format!("Split from #{} ({}).", from.number, from.subject), now).await?;
    audit::record(
        tx,
        by.actor,
        "ticket.split",
        audit::Target::new("ticket", source).labelled(&format!("#{}", from.number)),
        json!({ "into": id, "into_number": number, "messages": ids.len() }),
    )
    .await?;
    let regrouped = Regrouped {
        source: read(tx, source).await?,
        target: read(tx, id).await?,
        moved: ids.into_iter().map(MessageId).collect(),
    };
    events::emit(tx, "ticket.created", Some(id), &json!({ "ticket": regrouped.target })).await?;
    events::emit(
        tx,
        "ticket.split",
        Some(source),
        &json!({ "ticket": regrouped.source, "into": regrouped.target, "messages": regrouped.moved.len() }),
    )
    .await?;
    Ok(regrouped)
}
