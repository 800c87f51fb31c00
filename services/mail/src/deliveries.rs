//! The outbox: an agent reply on a ticket whose channel sends (e-mail) is queued for
//! delivery in the transaction that stores it, so an approval and its delivery commit
//! together. A sender claims due items with a lease, marking them `sending` before it
//! talks to the server; afterwards it records `sent`, a retry with backoff (`queued`
//! again), or `failed`.
//!
//! A process that dies while `sending` leaves the item's outcome unknown (the server may
//! have accepted the message): such an item becomes `failed` with an error saying so,
//! never sent again by itself, because sending twice is worse than asking a person to
//! check and resend ([`resend`]).

use copilot_store::jobs::Queue;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Actor, Error, Principal, TenantId,
    ids::{MessageId, TicketId},
    model::{Channel, DeliveryStatus, MailDirection, MailKind},
};
use copilot_entities::{customer, delivery, email_message, message, ticket};
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::settings;

/// The error of an item whose sender stopped while sending.
pub const OUTCOME_UNKNOWN: &str = "delivery_outcome_unknown: the sender stopped while sending, so the message may or may not have gone out; it is not sent again by itself (check with the customer, then resend)";

/// A reply's delivery as shown on its message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<delivery::Model> for Delivery {
    fn from(row: delivery::Model) -> Self {
        Self {
            next_attempt_at: (row.status == DeliveryStatus::Queued).then_some(row.next_attempt_at),
            channel: row.channel,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
            sent_at: row.sent_at,
            updated_at: row.updated_at,
        }
    }
}

/// Queues an agent reply for delivery, with the Message-ID it will carry.
pub async fn enqueue(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: MessageId,
    at: DateTime<Utc>,
) -> Result<Delivery, Error> {
    let identity = settings::identity(tx).await?;
    let header_id = copilot_channels::new_message_id(identity.from_address().unwrap_or("copilot.invalid"));
    delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(copilot_store::request::current()),
        tenant_id: Set(tx.tenant().0),
        message_id: Set(message_id.0),
        ticket_id: Set(ticket_id.0),
        channel: Set(Channel::Email),
        status: Set(DeliveryStatus::Queued),
        attempts: Set(0),
        attempts_before_resend: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(at),
        lease_until: Set(None),
        header_message_id: Set(Some(header_id)),
        created_at: Set(at),
        updated_at: Set(at),
        sent_at: Set(None),
    }
    .insert(&**tx)
    .await
    .map(Delivery::from)
    .map_err(db_err)
}

/// The deliveries of some messages, by message id.
pub async fn for_messages(tx: &TenantTx, ids: &[MessageId]) -> Result<HashMap<MessageId, Delivery>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::MessageId.is_in(ids.iter().map(|id| id.0)))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|row| (MessageId(row.message_id), Delivery::from(row))).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub delivery_id: Uuid,
    /// The claim's attempt number, and when the item was queued (with the claim time on a
    /// first attempt, its wait).
    pub attempt: i32,
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// The e-mail queue: replies waiting to be sent or being sent.
pub const QUEUE: Queue = Queue {
    name: "email",
    table: "deliveries",
    id: "id",
    open: "{row}.status IN ('queued', 'sending')",
    held: "{row}.status = 'sending'",
    lease_columns: &["lease_until"],
};

/// Claims up to `limit` due deliveries across tenants: each becomes `sending`, held for
/// `lease`, its attempt counted.
///
/// Fair across tenants: a tenant with `per_tenant` replies being sent gets no more until
/// one ends (a tenant whose SMTP server hangs holds at most that many senders), and the
/// tenant with the fewest in flight goes first, then the longest waiting reply.
pub async fn claim(db: &Db, limit: u64, lease: Duration, per_tenant: usize) -> Result<Vec<Claimed>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status = 'queued' AND {row}.next_attempt_at <= $2",
        per_group: 1,
        busy: Some(("{row}.status = 'sending' AND {row}.lease_until > $2", per_tenant)),
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, attempts, created_at",
        pick.sql()
    );
    claimed(copilot_store::jobs::claim(db, &sql, limit, lease).await?)
}

/// Deliveries across tenants whose sender's lease ran out while `sending` (housekeeping);
/// each is then failed in its tenant's transaction by [`fail_interrupted`].
pub async fn interrupted(db: &Db, limit: u64) -> Result<Vec<Claimed>, Error> {
    let sql = "SELECT tenant_id, id, attempts, created_at FROM deliveries WHERE status = 'sending' AND lease_until < $1 LIMIT $2";
    claimed(copilot_store::jobs::select(db, sql, limit).await?)
}

/// `(tenant_id, id, attempts, created_at)` rows as deliveries to work on.
fn claimed(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<Claimed>, Error> {
    Ok(copilot_store::jobs::items(rows)?
        .into_iter()
        .map(|item| Claimed {
            tenant_id: item.tenant_id,
            delivery_id: item.id,
            attempt: item.attempt,
            queued_at: item.queued_at,
        })
        .collect())
}

/// Fails a delivery whose sender's lease ran out while `sending` (see the module notes);
/// `false` when it is no longer in that state.
pub async fn fail_interrupted(tx: &TenantTx, delivery_id: Uuid) -> Result<bool, Error> {
    let now = copilot_core::now();
    let Some(row) = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Sending))
        .filter(delivery::Column::LeaseUntil.lt(now))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(false);
    };
    let mut active: delivery::ActiveModel = row.into();
    active.status = Set(DeliveryStatus::Failed);
    active.last_error = Set(Some(OUTCOME_UNKNOWN.into()));
    active.lease_until = Set(None);
    active.updated_at = Set(now);
    let row = active.update(&**tx).await.map_err(db_err)?;
    announce(tx, row).await?;
    Ok(true)
}

/// The `reply.sent` or `reply.failed` event of a delivery that just settled; an attempt
/// that will be retried is the live-only `reply.retrying`, so a console showing the
/// ticket says so (webhooks get only the outcome).
async fn announce(tx: &TenantTx, row: delivery::Model) -> Result<(), Error> {
    let (status, ticket) = (row.status, Some(TicketId(row.ticket_id)));
    let data = serde_json::json!({
        "ticket_id": row.ticket_id,
        "message_id": row.message_id,
        "delivery": Delivery::from(row),
    });
    match status {
        DeliveryStatus::Queued => events::emit_live(tx, "reply.retrying", &data).await,
        DeliveryStatus::Sent => events::emit(tx, "reply.sent", ticket, &data).await,
        DeliveryStatus::Sending | DeliveryStatus::Failed => events::emit(tx, "reply.failed", ticket, &data).await,
    }
    .map(|_| ())
}

/// What a sender needs to send one reply by e-mail.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailJob {
    pub delivery_id: Uuid,
    /// The request that queued the reply, when one did.
    pub request_id: Option<String>,
    pub message_id: Uuid,
    pub ticket_id: Uuid,
    /// The attempt this claim made (fences what it records).
    pub attempts: i32,
    /// Attempts in the current series: since the first send, or since the latest resend.
    pub series_attempts: i32,
    pub body: String,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub customer_email: String,
    pub customer_name: Option<String>,
    pub header_message_id: String,
    /// The ticket's mail, oldest first: the last received is the reply's parent.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub identity: settings::Identity,
    /// Whether the From address is verified (the service's mail server sends only then).
    pub from_verified: bool,
}

/// Most Message-IDs a reply's `References` carries (the first and the latest ones).
const MAX_REFERENCES: usize = 20;

/// The job of a claimed delivery; `None` when it is no longer `sending` (taken by
/// housekeeping after the lease ran out).
pub async fn email_job(tx: &TenantTx, delivery_id: Uuid) -> Result<Option<EmailJob>, Error> {
    let Some(row) = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Sending))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let message = message::Entity::scoped(tx.tenant())
        .filter(message::Column::Id.eq(row.message_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("a delivery without its message"))?;
    let ticket = ticket::Entity::scoped(tx.tenant())
        .filter(ticket::Column::Id.eq(row.ticket_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("a delivery without its ticket"))?;
    let customer = customer::Entity::scoped(tx.tenant())
        .filter(customer::Column::Id.eq(ticket.customer_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("a ticket without its customer"))?;
    let mail = email_message::Entity::scoped(tx.tenant())
        .filter(email_message::Column::TicketId.eq(ticket.id))
        .filter(email_message::Column::Kind.is_in([MailKind::Personal, MailKind::Reply]))
        .order_by_asc(email_message::Column::CreatedAt)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let in_reply_to = mail.iter().rev().find(|m| m.direction == MailDirection::In).map(|m| m.header_message_id.clone());
    let mut references: Vec<String> = mail.into_iter().map(|m| m.header_message_id).collect();
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() - (MAX_REFERENCES - 1));
    }
    let header_message_id =
        row.header_message_id.clone().ok_or_else(|| Error::internal("a delivery without Message-ID"))?;
    let (identity, from_verified) = settings::sender(tx).await?;
    Ok(Some(EmailJob {
        delivery_id,
        request_id: row.request_id.clone(),
        message_id: row.message_id,
        ticket_id: ticket.id,
        attempts: row.attempts,
        series_attempts: row.attempts - row.attempts_before_resend,
        body: message.body,
        ticket_number: ticket.number,
        ticket_subject: ticket.subject,
        customer_email: customer.email,
        customer_name: customer.name,
        header_message_id,
        in_reply_to,
        references,
        identity,
        from_verified,
    }))
}

/// Applies `change` to the job's delivery while it is still `sending` under the job's
/// attempt (or, with `also_unknown`, failed meanwhile as of unknown outcome: the sender
/// knows better); `false` when there is none. The attempt keeps a sender that outlived its
/// lease from settling a later attempt (a resend) it knows nothing of.
async fn update_sending(
    tx: &TenantTx,
    job: &EmailJob,
    also_unknown: bool,
    change: impl FnOnce(&mut delivery::ActiveModel),
) -> Result<bool, Error> {
    let mut states = Condition::any().add(delivery::Column::Status.eq(DeliveryStatus::Sending));
    if also_unknown {
        states = states.add(
            Condition::all()
                .add(delivery::Column::Status.eq(DeliveryStatus::Failed))
                .add(delivery::Column::LastError.eq(OUTCOME_UNKNOWN)),
        );
    }
    let Some(row) = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::Id.eq(job.delivery_id))
        .filter(delivery::Column::Attempts.eq(job.attempts))
        .filter(states)
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(false);
    };
    let mut active: delivery::ActiveModel = row.into();
    change(&mut active);
    active.lease_until = Set(None);
    active.updated_at = Set(copilot_core::now());
    let row = active.update(&**tx).await.map_err(db_err)?;
    announce(tx, row).await?;
    Ok(true)
}

/// Records a delivery as sent, and its mail as part of the ticket's thread.
pub async fn mark_sent(tx: &TenantTx, job: &EmailJob, subject: &str) -> Result<(), Error> {
    let now = copilot_core::now();
    if !update_sending(tx, job, true, |row| {
        row.status = Set(DeliveryStatus::Sent);
        row.last_error = Set(None);
        row.sent_at = Set(Some(now));
    })
    .await?
    {
        return Ok(());
    }
    email_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(Some(job.ticket_id)),
        message_id: Set(Some(job.message_id)),
        direction: Set(MailDirection::Out),
        header_message_id: Set(job.header_message_id.clone()),
        kind: Set(MailKind::Reply),
        from_address: Set(job.identity.from_address().map(str::to_owned)),
        subject: Set(Some(subject.to_owned())),
        raw: Set(None),
        note: Set(None),
        created_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Queues a delivery again after a failure worth retrying.
pub async fn mark_retry(tx: &TenantTx, job: &EmailJob, error: &str, at: DateTime<Utc>) -> Result<(), Error> {
    update_sending(tx, job, false, |row| {
        row.status = Set(DeliveryStatus::Queued);
        row.last_error = Set(Some(error.to_owned()));
        row.next_attempt_at = Set(at);
    })
    .await
    .map(|_| ())
}

/// Gives a delivery up.
pub async fn mark_failed(tx: &TenantTx, job: &EmailJob, error: &str) -> Result<(), Error> {
    update_sending(tx, job, false, |row| {
        row.status = Set(DeliveryStatus::Failed);
        row.last_error = Set(Some(error.to_owned()));
    })
    .await
    .map(|_| ())
}

/// Marks the delivery of the reply sent with `header_message_id` failed because it
/// bounced; returns the message whose delivery failed, if it was one of ours.
pub(crate) async fn mark_bounced(tx: &TenantTx, header_message_id: &str, reason: &str) -> Result<Option<Uuid>, Error> {
    let Some(sent) = email_message::Entity::scoped(tx.tenant())
        .filter(email_message::Column::Direction.eq("out"))
        .filter(email_message::Column::HeaderMessageId.eq(header_message_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let Some(message_id) = sent.message_id else { return Ok(None) };
    let Some(row) = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::MessageId.eq(message_id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let mut active: delivery::ActiveModel = row.into();
    active.status = Set(DeliveryStatus::Failed);
    active.last_error = Set(Some(format!("bounced: {reason}")));
    active.updated_at = Set(copilot_core::now());
    let row = active.update(&**tx).await.map_err(db_err)?;
    announce(tx, row).await?;
    Ok(Some(message_id))
}

/// Queues a failed delivery again, by a signed-in person who checked it.
pub async fn resend(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    message_id: MessageId,
) -> Result<Delivery, Error> {
    // Only a person who checked decides that a reply goes out again.
    if !matches!(by.actor, Actor::User(_)) || !by.role.is_human() {
        return Err(Error::Forbidden("only a signed-in person can resend a reply"));
    }
    let row = delivery::Entity::scoped(tx.tenant())
        .filter(delivery::Column::TicketId.eq(ticket_id.0))
        .filter(delivery::Column::MessageId.eq(message_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("delivery"))?;
    if row.status != DeliveryStatus::Failed {
        return Err(Error::Conflict {
            code: "delivery_not_failed",
            detail: format!("only a failed delivery can be sent again; this one is {}", row.status),
        });
    }
    let now = copilot_core::now();
    let attempts = row.attempts;
    let mut active: delivery::ActiveModel = row.into();
    active.status = Set(DeliveryStatus::Queued);
    // A fresh series of attempts: the retry budget counts from here.
    active.attempts_before_resend = Set(attempts);
    active.next_attempt_at = Set(now);
    active.updated_at = Set(now);
    let row = active.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "delivery.resent",
        audit::Target::new("message", message_id),
        serde_json::json!({ "ticket_id": ticket_id }),
    )
    .await?;
    Ok(Delivery::from(row))
}

/// The deliveries and mail of `messages` follow them to ticket `to` (a merge or a split),
/// so their thread's later replies join `to`.
pub async fn move_messages(tx: &TenantTx, messages: &[MessageId], to: TicketId) -> Result<(), Error> {
    let ids: Vec<Uuid> = messages.iter().map(|id| id.0).collect();
    copilot_store::follow_messages::<delivery::Entity>(
        tx,
        delivery::Column::TicketId,
        delivery::Column::MessageId,
        &ids,
        to.0,
    )
    .await?;
    copilot_store::follow_messages::<email_message::Entity>(
        tx,
        email_message::Column::TicketId,
        email_message::Column::MessageId,
        &ids,
        to.0,
    )
    .await
    .map(drop)
}
