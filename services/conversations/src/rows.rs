//! Loading a ticket's row, and the rules of its kept figures, shared by every part of a
//! conversation.

use chrono::{DateTime, Utc};
use copilot_core::{Error, ids::TicketId, model::TicketStatus};
use copilot_entities::ticket;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};

/// Reads a ticket of the transaction's tenant; another tenant's is not found.
pub async fn find_row(tx: &TenantTx, id: TicketId) -> Result<ticket::Model, Error> {
    load_row(tx, id, false).await
}

/// Reads a ticket and locks it until the transaction ends, for read-then-write changes.
pub async fn find_row_for_update(tx: &TenantTx, id: TicketId) -> Result<ticket::Model, Error> {
    load_row(tx, id, true).await
}

async fn load_row(tx: &TenantTx, id: TicketId, lock: bool) -> Result<ticket::Model, Error> {
    let mut query = ticket::Entity::scoped(tx.tenant()).filter(ticket::Column::Id.eq(id.0));
    if lock {
        query = query.lock_exclusive();
    }
    query.one(&**tx).await.map_err(db_err)?.ok_or(Error::NotFound("ticket"))
}

/// A merged ticket stays closed and takes no messages: its thread is `into`'s now.
pub(crate) fn merged(into: uuid::Uuid) -> Error {
    Error::conflict("ticket_merged", format!("the ticket was merged into {into}; work on that ticket"))
}

/// The ticket's `solved_at` after its status goes from `old` to `new`, when it changes:
/// the time it is solved or closed from another state, none when it opens again.
pub(crate) fn solved_at_after(old: TicketStatus, new: TicketStatus) -> Option<Option<DateTime<Utc>>> {
    let resolved = |status: TicketStatus| matches!(status, TicketStatus::Solved | TicketStatus::Closed);
    match (resolved(old), resolved(new)) {
        (false, true) => Some(Some(copilot_core::now())),
        (true, false) => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_solved_when_it_leaves_the_open_states_and_unsolved_when_it_returns() {
        use TicketStatus::*;
        assert!(matches!(solved_at_after(Open, Solved), Some(Some(_))));
        assert!(matches!(solved_at_after(Pending, Closed), Some(Some(_))));
        // Closing a solved ticket keeps the time it was solved.
        assert_eq!(solved_at_after(Solved, Closed), None);
        assert_eq!(solved_at_after(Closed, Open), Some(None));
        assert_eq!(solved_at_after(New, Open), None);
    }
}
