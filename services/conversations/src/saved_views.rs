//! Saved views of the inbox: a named filter and order, shared with the desk (admins keep
//! those) or one person's, counted when listed. A view's filter is stored as written
//! (`assignee: "me"` stays "me", `sla: "breached"` means "due before now") and resolved for
//! whoever opens it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    model::{Channel, Priority, Sentiment, TicketStatus},
    values,
};
use copilot_entities::saved_view;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::tickets::{self, TicketFilter, TicketOrder};

/// Views one person may see at most (shared ones and their own).
pub const MAX_VIEWS: usize = 200;

/// What a view shows, as written by its author.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    /// Only tickets still to be worked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_priority: Option<Priority>,
    /// `me` (whoever opens the view), `nobody`, or a user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `breached`: a running SLA clock is past due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// A custom field's value, `key:value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SavedView {
    pub id: Uuid,
    pub name: String,
    pub shared: bool,
    pub owner_id: Option<Uuid>,
    pub filter: ViewFilter,
    /// The listing's order, as `GET /v1/tickets?sort=` names it.
    pub sort: String,
    /// How many tickets it holds now, for whoever asked.
    pub count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct ViewIn {
    pub name: Option<String>,
    pub shared: Option<bool>,
    pub filter: Option<ViewFilter>,
    pub sort: Option<String>,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_view", detail.to_string())
}

/// The orders a view may keep, by their API names.
pub fn order(name: &str) -> Result<TicketOrder, Error> {
    Ok(match name {
        "newest" => TicketOrder::Newest,
        "oldest" => TicketOrder::Oldest,
        "updated" => TicketOrder::Updated,
        "priority" => TicketOrder::Priority,
        "waiting" => TicketOrder::Waiting,
        "sentiment" => TicketOrder::Sentiment,
        "due" => TicketOrder::Due,
        other => return Err(invalid(format!("`{other}` is not an order of the inbox"))),
    })
}

/// The filter for `by`, now: `me` is them, `breached` is due before now.
pub async fn resolve(tx: &TenantTx, by: &Principal, view: &ViewFilter) -> Result<TicketFilter, Error> {
    let (assignee_id, unassigned) = match view.assignee.as_deref() {
        None => (None, false),
        Some("nobody") => (None, true),
        // A view of "mine" opened by a key shows nobody's tickets of its own: none.
        Some("me") => (Some(by.actor.user_id().unwrap_or_else(Uuid::nil)), false),
        Some(id) => (Some(id.parse().map_err(|_| invalid(format!("`{id}` is not an assignee")))?), false),
    };
    let due_before = match view.sla.as_deref() {
        None => None,
        Some("breached") => Some(copilot_core::now()),
        Some(other) => return Err(invalid(format!("`sla: {other}`: only `breached`"))),
    };
    let field = match view.field.as_deref() {
        Some(raw) => Some(crate::fields::filter(tx, raw).await?),
        None => None,
    };
    Ok(TicketFilter {
        status: view.status,
        active: view.active,
        min_priority: view.min_priority,
        priority: view.priority,
        assignee_id,
        unassigned,
        tag: view.tag.clone(),
        channel: view.channel,
        customer_email: None,
        q: view.q.clone(),
        created_after: None,
        created_before: None,
        intent: view.intent.clone(),
        sentiment: view.sentiment,
        language: view.language.clone(),
        due_before,
        field,
        order: TicketOrder::default(),
    })
}

fn visible(tx: &TenantTx, by: &Principal) -> sea_orm::Select<saved_view::Entity> {
    let mut either = Condition::any().add(saved_view::Column::OwnerId.is_null());
    if let Some(user) = by.actor.user_id() {
        either = either.add(saved_view::Column::OwnerId.eq(user));
    }
    saved_view::Entity::scoped(tx.tenant()).filter(either)
}

fn read(row: saved_view::Model) -> Result<(SavedView, ViewFilter), Error> {
    let filter: ViewFilter = serde_json::from_value(row.filter)
        .map_err(|error| Error::internal(format!("a stored view's filter: {error}")))?;
    let view = SavedView {
        id: row.id,
        name: row.name,
        shared: row.owner_id.is_none(),
        owner_id: row.owner_id,
        filter: filter.clone(),
        sort: row.sort,
        count: 0,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    Ok((view, filter))
}

/// The views `by` may open (shared ones, then their own, by position and name), each with
/// how many tickets it holds now.
pub async fn list(tx: &TenantTx, by: &Principal) -> Result<Vec<SavedView>, Error> {
    let rows = visible(tx, by)
        .order_by_asc(saved_view::Column::Position)
        .order_by_asc(saved_view::Column::Name)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let (mut view, filter) = read(row)?;
        // A view whose field was retired still lists; it counts what its filter finds.
        view.count = match resolve(tx, by, &filter).await {
            Ok(resolved) => tickets::count(tx, &[resolved]).await?.pop().unwrap_or(0),
            Err(_) => 0,
        };
        views.push(view);
    }
    views.sort_by_key(|view| !view.shared);
    Ok(views)
}

async fn find(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<saved_view::Model, Error> {
    visible(tx, by)
        .filter(saved_view::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("view"))
}

fn require_keeper(by: &Principal, owner: Option<Uuid>) -> Result<(), Error> {
    match owner {
        None => by.require_admin(),
        Some(owner) if by.actor.user_id() == Some(owner) => Ok(()),
        Some(_) => Err(Error::NotFound("view")),
    }
}

async fn checked(tx: &TenantTx, by: &Principal, filter: ViewFilter, sort: &str) -> Result<(ViewFilter, String), Error> {
    order(sort)?;
    if let Some(tag) = &filter.tag {
        values::tags(std::slice::from_ref(tag))?;
    }
    resolve(tx, by, &filter).await?;
    Ok((filter, sort.to_owned()))
}

/// Adds a view: the caller's own, or shared (admins).
pub async fn create(tx: &TenantTx, by: &Principal, input: ViewIn) -> Result<SavedView, Error> {
    by.require_human_role()?;
    let shared = input.shared.unwrap_or(false);
    let owner = if shared {
        by.require_admin()?;
        None
    } else {
        Some(by.actor.user_id().ok_or(Error::Forbidden("a personal view belongs to a person"))?)
    };
    let name = values::single_line("name", input.name.as_deref().unwrap_or_default(), 1, 60)?;
    let (filter, sort) =
        checked(tx, by, input.filter.unwrap_or_default(), input.sort.as_deref().unwrap_or("newest")).await?;
    copilot_store::locks::in_tenant(tx, "saved_views").await?;
    let seen = visible(tx, by).all(&**tx).await.map_err(db_err)?;
    if seen.len() >= MAX_VIEWS {
        return Err(Error::conflict("too_many_views", format!("at most {MAX_VIEWS} views")));
    }
    if seen.iter().any(|row| row.name == name && (row.owner_id == owner || row.owner_id.is_none() || owner.is_none())) {
        return Err(Error::conflict("view_exists", format!("a view is already named `{name}`")));
    }
    let now = copilot_core::now();
    let row = saved_view::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        owner_id: Set(owner),
        name: Set(name.clone()),
        filter: Set(json!(filter)),
        sort: Set(sort),
        position: Set(seen.len() as i32),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "view.created",
        audit::Target::new("view", row.id).labelled(&name),
        json!({ "shared": shared }),
    )
    .await?;
    with_count(tx, by, row).await
}

async fn with_count(tx: &TenantTx, by: &Principal, row: saved_view::Model) -> Result<SavedView, Error> {
    let (mut view, filter) = read(row)?;
    view.count = tickets::count(tx, &[resolve(tx, by, &filter).await?]).await?.pop().unwrap_or(0);
    Ok(view)
}

/// Changes a view (admins for shared ones, the owner for their own).
pub async fn update(tx: &TenantTx, by: &Principal, id: Uuid, patch: ViewIn) -> Result<SavedView, Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    require_keeper(by, row.owner_id)?;
    if patch.shared.is_some_and(|shared| shared != row.owner_id.is_none()) {
        return Err(invalid("`shared` cannot change: make a new view"));
    }
    let (current, _) = read(row.clone())?;
    let (filter, sort) =
        checked(tx, by, patch.filter.unwrap_or(current.filter), patch.sort.as_deref().unwrap_or(&current.sort)).await?;
    let mut change: saved_view::ActiveModel = row.into();
    if let Some(name) = &patch.name {
        change.name = Set(values::single_line("name", name, 1, 60)?);
    }
    change.filter = Set(json!(filter));
    change.sort = Set(sort);
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "view.updated", audit::Target::new("view", id).labelled(&row.name), json!({})).await?;
    with_count(tx, by, row).await
}

/// Removes a view (admins for shared ones, the owner for their own).
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    require_keeper(by, row.owner_id)?;
    saved_view::Entity::delete_many()
        .filter(saved_view::Column::TenantId.eq(tx.tenant().0))
        .filter(saved_view::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(tx, by.actor, "view.deleted", audit::Target::new("view", id).labelled(&row.name), json!({})).await
}

/// The query parameters of `GET /v1/tickets` that list a view for `by`.
pub async fn query_of(tx: &TenantTx, by: &Principal, view: &SavedView) -> Result<BTreeMap<String, String>, Error> {
    let filter = resolve(tx, by, &view.filter).await?;
    let mut query = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            query.insert(key.to_owned(), value);
        }
    };
    put("status", filter.status.map(|s| s.to_string()));
    put("active", filter.active.then(|| "true".to_owned()));
    put("priority", filter.priority.map(|p| p.to_string()));
    put("min_priority", filter.min_priority.map(|p| p.to_string()));
    put("assignee_id", filter.assignee_id.map(|id| id.to_string()));
    put("unassigned", filter.unassigned.then(|| "true".to_owned()));
    put("tag", filter.tag);
    put("channel", filter.channel.map(|c| c.to_string()));
    put("intent", filter.intent);
    put("sentiment", filter.sentiment.map(|s| s.to_string()));
    put("language", filter.language);
    put("q", filter.q);
    put("due_before", filter.due_before.map(|at| at.to_rfc3339()));
    put("field", view.filter.field.clone());
    put("sort", Some(view.sort.clone()));
    Ok(query)
}
