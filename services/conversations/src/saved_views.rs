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
    /// The query parameters of `GET /v1/tickets` that list it for whoever asked, now.
    pub query: BTreeMap<String, String>,
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

/// The filter for `by`, now: `me` is them, `breached` is due before now; `fields` are the
/// tenant's (read once by the caller).
fn resolve(by: &Principal, view: &ViewFilter, fields: &[crate::fields::Field]) -> Result<TicketFilter, Error> {
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
    let field = view.field.as_deref().map(|raw| crate::fields::filter_among(fields, raw)).transpose()?;
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

/// The query parameters of `GET /v1/tickets` for a resolved filter.
fn query_of(filter: TicketFilter, raw_field: Option<&str>, sort: &str) -> BTreeMap<String, String> {
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
    put("field", raw_field.map(str::to_owned));
    put("sort", Some(sort.to_owned()));
    query
}

/// The tenant's fields when a filter names one (none read otherwise).
async fn fields_for(tx: &TenantTx, filters: &[&ViewFilter]) -> Result<Vec<crate::fields::Field>, Error> {
    if filters.iter().any(|filter| filter.field.is_some()) { crate::fields::list(tx).await } else { Ok(Vec::new()) }
}

fn visible(tx: &TenantTx, by: &Principal) -> sea_orm::Select<saved_view::Entity> {
    let mut either = Condition::any().add(saved_view::Column::OwnerId.is_null());
    if let Some(user) = by.actor.user_id() {
        either = either.add(saved_view::Column::OwnerId.eq(user));
    }
    saved_view::Entity::scoped(tx.tenant()).filter(either)
}

fn stored_filter(row: &saved_view::Model) -> Result<ViewFilter, Error> {
    serde_json::from_value(row.filter.clone())
        .map_err(|error| Error::internal(format!("a stored view's filter: {error}")))
}

/// A stored view for `by`: its filter resolved once, counted, and turned into the query
/// that lists it.
async fn finish(
    tx: &TenantTx,
    by: &Principal,
    row: saved_view::Model,
    fields: &[crate::fields::Field],
) -> Result<SavedView, Error> {
    let filter = stored_filter(&row)?;
    let resolved = resolve(by, &filter, fields)?;
    let count = tickets::count(tx, std::slice::from_ref(&resolved)).await?.pop().unwrap_or(0);
    let query = query_of(resolved, filter.field.as_deref(), &row.sort);
    Ok(SavedView {
        id: row.id,
        name: row.name,
        shared: row.owner_id.is_none(),
        owner_id: row.owner_id,
        filter,
        sort: row.sort,
        count,
        query,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
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
    let filters = rows.iter().map(stored_filter).collect::<Result<Vec<_>, _>>()?;
    // Fields are never deleted (only retired), so a stored view's field always resolves.
    let fields = fields_for(tx, &filters.iter().collect::<Vec<_>>()).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(finish(tx, by, row, &fields).await?);
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

async fn checked(tx: &TenantTx, by: &Principal, filter: ViewFilter, sort: &str) -> Result<(ViewFilter, String), Error> {
    order(sort)?;
    if let Some(tag) = &filter.tag {
        values::tags(std::slice::from_ref(tag))?;
    }
    for (name, text) in [("q", &filter.q), ("intent", &filter.intent), ("language", &filter.language)] {
        if let Some(text) = text {
            values::single_line(name, text, 1, 200)?;
        }
    }
    resolve(by, &filter, &fields_for(tx, &[&filter]).await?)?;
    Ok((filter, sort.to_owned()))
}

/// Adds a view: the caller's own, or shared (admins).
pub async fn create(tx: &TenantTx, by: &Principal, input: ViewIn) -> Result<SavedView, Error> {
    let shared = input.shared.unwrap_or(false);
    let owner = by.owner_of_new(shared)?;
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
    let fields = fields_for(tx, &[&filter]).await?;
    finish(tx, by, row, &fields).await
}

/// Changes a view (admins for shared ones, the owner for their own).
pub async fn update(tx: &TenantTx, by: &Principal, id: Uuid, patch: ViewIn) -> Result<SavedView, Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    by.require_keeper(row.owner_id, "view")?;
    if patch.shared.is_some_and(|shared| shared != row.owner_id.is_none()) {
        return Err(invalid("`shared` cannot change: make a new view"));
    }
    let current = stored_filter(&row)?;
    let sort = patch.sort.clone().unwrap_or_else(|| row.sort.clone());
    let (filter, sort) = checked(tx, by, patch.filter.unwrap_or(current), &sort).await?;
    let mut change: saved_view::ActiveModel = row.into();
    if let Some(name) = &patch.name {
        change.name = Set(values::single_line("name", name, 1, 60)?);
    }
    change.filter = Set(json!(filter));
    change.sort = Set(sort);
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "view.updated", audit::Target::new("view", id).labelled(&row.name), json!({})).await?;
    let fields = fields_for(tx, &[&filter]).await?;
    finish(tx, by, row, &fields).await
}

/// Removes a view (admins for shared ones, the owner for their own).
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    by.require_keeper(row.owner_id, "view")?;
    saved_view::Entity::delete_many()
        .filter(saved_view::Column::TenantId.eq(tx.tenant().0))
        .filter(saved_view::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(tx, by.actor, "view.deleted", audit::Target::new("view", id).labelled(&row.name), json!({})).await
}
