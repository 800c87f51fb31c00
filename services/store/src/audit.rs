//! The audit log: who did what to which resource, when. Written in the same transaction
//! as the change it records, read by admins.

use chrono::{DateTime, Utc};
use copilot_core::{
    Actor, Error,
    page::{Page, PageRequest},
};
use copilot_entities::audit_event;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{Scoped, TenantTx, db_err};

/// What an audit record is about.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    pub kind: &'static str,
    pub id: Option<Uuid>,
    pub label: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn new(kind: &'static str, id: impl Into<Uuid>) -> Self {
        Self { kind, id: Some(id.into()), label: None }
    }

    pub fn labelled(mut self, label: &'a str) -> Self {
        self.label = Some(label);
        self
    }
}

/// Appends one record to the tenant's audit log.
pub async fn record(tx: &TenantTx, actor: Actor, action: &str, target: Target<'_>, data: Value) -> Result<(), Error> {
    record_returning_id(tx, actor, action, target, data).await.map(|_| ())
}

/// Appends one record and returns its id, for a record that [`amend`] may settle later.
pub async fn record_returning_id(
    tx: &TenantTx,
    actor: Actor,
    action: &str,
    target: Target<'_>,
    data: Value,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    let event = audit_event::ActiveModel {
        id: Set(id),
        tenant_id: Set(tx.tenant().0),
        actor_kind: Set(actor.kind()),
        actor_id: Set(actor.id()),
        action: Set(action.to_owned()),
        target_kind: Set(target.kind.to_owned()),
        target_id: Set(target.id),
        target_label: Set(target.label.map(str::to_owned)),
        data: Set(data),
        created_at: Set(copilot_core::now()),
    };
    audit_event::Entity::insert(event).exec_without_returning(&**tx).await.map_err(db_err)?;
    Ok(id)
}

/// Settles a provisional record: its action and actor become the final ones.
///
/// Used where an attempt is recorded before its outcome is known (a login is recorded
/// as failed before the password is checked, so concurrent guesses are all counted).
pub async fn amend(tx: &TenantTx, id: Uuid, actor: Actor, action: &str) -> Result<(), Error> {
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::Action, Expr::value(action))
        .col_expr(audit_event::Column::ActorKind, Expr::value(actor.kind()))
        .col_expr(audit_event::Column::ActorId, Expr::value(actor.id()))
        .filter(audit_event::Column::TenantId.eq(tx.tenant().0))
        .filter(audit_event::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Filters of the audit log listing.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
}

/// Lists the tenant's audit records, newest first.
pub async fn list(tx: &TenantTx, filter: &Filter, page: PageRequest) -> Result<Page<audit_event::Model>, Error> {
    let mut query = audit_event::Entity::scoped(tx.tenant());
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(audit_event::Column::TargetId.eq(target));
    }
    if let Some(before) = page.cursor {
        query = query.filter(audit_event::Column::Id.lt(before));
    }
    let rows = query.order_by_desc(audit_event::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    Ok(Page::from_overfetch(rows, page.limit, |row| row.id))
}

/// Counts records of `action` about the target labelled `label` since `since`.
pub async fn count_since(tx: &TenantTx, action: &str, label: &str, since: DateTime<Utc>) -> Result<u64, Error> {
    audit_event::Entity::scoped(tx.tenant())
        .filter(audit_event::Column::Action.eq(action))
        .filter(audit_event::Column::TargetLabel.eq(label))
        .filter(audit_event::Column::CreatedAt.gt(since))
        .count(&**tx)
        .await
        .map_err(db_err)
}
