//! Loading a ticket's row, shared by every part of a conversation.

use copilot_core::{Error, ids::TicketId};
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
