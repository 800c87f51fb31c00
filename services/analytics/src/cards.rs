//! Cards: questions pinned to the analytics page. A card keeps its typed query with its
//! relative dates ("last_week"), so each load runs it for the current calendar. Anyone on
//! the desk pins a card; its author or an admin removes it.

use chrono::{DateTime, Utc};
use copilot_core::{Error, Principal};
use copilot_entities::analytics_card;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{Query, relative};

/// Cards one tenant may keep.
pub const MAX_CARDS: u64 = 50;
/// Characters of a title.
pub const MAX_TITLE: usize = 120;
/// Characters of the question a card was asked as.
pub const MAX_QUESTION: usize = 1_000;

#[derive(Clone, Debug)]
pub struct Card {
    pub id: Uuid,
    pub title: String,
    pub question: Option<String>,
    pub query: Query,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A card to pin.
#[derive(Clone, Debug, Default)]
pub struct NewCard {
    pub title: String,
    pub question: Option<String>,
    pub query: Query,
}

fn card(row: analytics_card::Model) -> Card {
    Card {
        id: row.id,
        title: row.title,
        question: row.question,
        // Stored only after it was checked; a query the catalogue no longer takes fails when run.
        query: serde_json::from_value(row.query).unwrap_or_default(),
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

/// The tenant's cards, oldest first.
pub async fn list(tx: &TenantTx) -> Result<Vec<Card>, Error> {
    let rows = analytics_card::Entity::scoped(tx.tenant())
        .order_by_asc(analytics_card::Column::CreatedAt)
        .order_by_asc(analytics_card::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(card).collect())
}

/// Pins a card whose query the catalogue takes (checked as of now).
pub async fn create(tx: &TenantTx, by: &Principal, new: NewCard) -> Result<Card, Error> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE || title.contains(['\n', '\r']) {
        return Err(Error::validation("invalid_title", format!("a title is one line of 1 to {MAX_TITLE} characters")));
    }
    let question = new.question.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if question.is_some_and(|q| q.chars().count() > MAX_QUESTION) {
        return Err(Error::validation(
            "validation_failed",
            format!("`question` has more than {MAX_QUESTION} characters"),
        ));
    }
    let custom: Vec<_> = crate::custom_fields(tx).await?.into_iter().map(|(field, _)| field).collect();
    relative::resolve(&new.query, copilot_core::now())?.plan_with(&custom)?;
    // One pin at a time per tenant, so that the count holds until the insert.
    copilot_store::locks::in_tenant(tx, "analytics_cards").await?;
    let kept = analytics_card::Entity::scoped(tx.tenant()).count(&**tx).await.map_err(db_err)?;
    if kept >= MAX_CARDS {
        return Err(Error::conflict("too_many_cards", format!("at most {MAX_CARDS} cards; remove one first")));
    }
    let row = analytics_card::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        title: Set(title.to_owned()),
        question: Set(question.map(str::to_owned)),
        query: Set(serde_json::to_value(&new.query).map_err(|e| Error::Internal(Box::new(e)))?),
        created_by: Set(by.actor.user_id()),
        created_at: Set(copilot_core::now()),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "analytics.card_created",
        audit::Target::new("analytics_card", row.id).labelled(title),
        serde_json::json!({"query": row.query}),
    )
    .await?;
    Ok(card(row))
}

/// Removes a card: its author or an admin.
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    let row = analytics_card::Entity::scoped(tx.tenant())
        .filter(analytics_card::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("card"))?;
    if row.created_by != by.actor.user_id() || row.created_by.is_none() {
        by.require_admin()?;
    }
    analytics_card::Entity::delete_many()
        .filter(analytics_card::Column::TenantId.eq(tx.tenant().0))
        .filter(analytics_card::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "analytics.card_deleted",
        audit::Target::new("analytics_card", id).labelled(&row.title),
        serde_json::json!({}),
    )
    .await
}
