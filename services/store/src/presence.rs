//! Housekeeping of who is on which ticket (`copilot_conversations::presence` keeps the words).

use copilot_core::Error;
use copilot_entities::ticket_presence;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{Db, db_err};

/// Forgets, across tenants, every word of presence older than `ttl`: it has lapsed.
pub async fn purge_lapsed(db: &Db, ttl: chrono::Duration) -> Result<u64, Error> {
    let result = ticket_presence::Entity::delete_many()
        .filter(ticket_presence::Column::UpdatedAt.lte(copilot_core::now() - ttl))
        .exec(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected)
}
