//! Integration events in (a chat widget, a CRM): open a ticket or add a customer message,
//! exactly once per `Idempotency-Key` (the same key again returns the first result; with
//! another request it is `idempotency_key_reused`).

use copilot_core::{Error, Principal, ids::TicketId, model::Author};
use copilot_store::{Db, idempotency::Guard};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use copilot_conversations::{NewMessage, NewTicket};

use crate::conversations::after_posted;

/// What an integration reports.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A customer opened a conversation.
    TicketOpened(NewTicket),
    /// A customer wrote again on a ticket.
    CustomerMessage { ticket_id: Uuid, body: String },
}

/// What the event became.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub ticket_id: Uuid,
    pub message_id: Uuid,
    pub created_ticket: bool,
}

/// Applies an integration event once per idempotency key.
pub async fn receive(db: &Db, by: &Principal, event: InboundEvent, guard: Guard) -> Result<Outcome, Error> {
    let tx = db.tenant(by.tenant_id).await?;
    if let Some(previous) = guard.replay(&tx).await? {
        return Ok(previous);
    }
    let outcome = match event {
        InboundEvent::TicketOpened(request) => {
            let opened = copilot_conversations::open(&tx, by, request.validate()?).await?;
            let message = after_posted(&tx, opened.first).await?;
            Outcome { ticket_id: opened.ticket.id.0, message_id: message.message.id.0, created_ticket: true }
        }
        InboundEvent::CustomerMessage { ticket_id, body } => {
            let posted = copilot_conversations::add_message(
                &tx,
                by,
                TicketId(ticket_id),
                NewMessage { author: Author::Customer, body },
            )
            .await?;
            let message = after_posted(&tx, posted).await?;
            Outcome { ticket_id, message_id: message.message.id.0, created_ticket: false }
        }
    };
    guard.commit(db, tx, outcome).await
}
