//! Who is working a ticket right now: agents say they are viewing it or typing a reply,
//! again every few seconds while they do; a word older than [`PRESENCE_TTL`] has lapsed.
//! Every change is a live event (`ticket.presence`) for the other agents' consoles.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{Error, Principal, ids::TicketId, model::PresenceState};
use copilot_entities::{ticket_presence, user};
use copilot_store::{Scoped, TenantTx, db_err, events};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict,
};
use serde::Serialize;
use uuid::Uuid;

use crate::rows::find_row;

/// How long a word of presence holds without being said again.
pub const PRESENCE_TTL: Duration = Duration::seconds(45);

/// One person on a ticket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Presence {
    pub user_id: Uuid,
    pub name: String,
    pub state: PresenceState,
    pub since: DateTime<Utc>,
}

/// Says what the calling person is doing on the ticket (`None`: they left it) and returns
/// everyone on it now. A change (arriving, starting or stopping to type, leaving) is a
/// `ticket.presence` live event; saying the same again only keeps the word fresh.
pub async fn set(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    state: Option<PresenceState>,
) -> Result<Vec<Presence>, Error> {
    by.require_human_role()?;
    let user_id = by.actor.user_id().ok_or(Error::Forbidden("only a signed-in person can be present on a ticket"))?;
    find_row(tx, ticket_id).await?;
    let now = copilot_core::now();
    let previous = ticket_presence::Entity::scoped(tx.tenant())
        .filter(ticket_presence::Column::TicketId.eq(ticket_id.0))
        .filter(ticket_presence::Column::UserId.eq(user_id))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    let was = previous.as_ref().filter(|row| row.updated_at > now - PRESENCE_TTL).map(|row| row.state);
    match state {
        Some(state) => {
            ticket_presence::Entity::insert(ticket_presence::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tx.tenant().0),
                ticket_id: Set(ticket_id.0),
                user_id: Set(user_id),
                state: Set(state),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([
                    ticket_presence::Column::TenantId,
                    ticket_presence::Column::TicketId,
                    ticket_presence::Column::UserId,
                ])
                .update_columns([ticket_presence::Column::State, ticket_presence::Column::UpdatedAt])
                .to_owned(),
            )
            .exec_without_returning(&**tx)
            .await
            .map_err(db_err)?;
        }
        None => {
            if let Some(row) = previous {
                ticket_presence::ActiveModel::from(row).delete(&**tx).await.map_err(db_err)?;
            }
        }
    }
    if was != state {
        let name = display_name(tx, user_id).await?;
        events::emit_live(
            tx,
            "ticket.presence",
            &serde_json::json!({ "ticket_id": ticket_id, "user_id": user_id, "name": name, "state": state }),
        )
        .await?;
    }
    present(tx, ticket_id).await
}

/// Everyone whose word on the ticket still holds, the longest there first.
pub async fn list(tx: &TenantTx, ticket_id: TicketId) -> Result<Vec<Presence>, Error> {
    find_row(tx, ticket_id).await?;
    present(tx, ticket_id).await
}

/// The people on a ticket known to be this tenant's.
async fn present(tx: &TenantTx, ticket_id: TicketId) -> Result<Vec<Presence>, Error> {
    let rows = ticket_presence::Entity::scoped(tx.tenant())
        .filter(ticket_presence::Column::TicketId.eq(ticket_id.0))
        .filter(ticket_presence::Column::UpdatedAt.gt(copilot_core::now() - PRESENCE_TTL))
        .order_by_asc(ticket_presence::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let names: HashMap<Uuid, String> = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Id.is_in(rows.iter().map(|row| row.user_id)))
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|person| (person.id, person.name.unwrap_or(person.email)))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Presence {
                state: row.state,
                name: names.get(&row.user_id)?.clone(),
                user_id: row.user_id,
                since: row.updated_at,
            })
        })
        .collect())
}

/// A person's name, or their address when they gave no name.
async fn display_name(tx: &TenantTx, user_id: Uuid) -> Result<String, Error> {
    let person = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Id.eq(user_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("user"))?;
    Ok(person.name.unwrap_or(person.email))
}
