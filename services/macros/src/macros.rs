//! Macros: a reply text with placeholders and the changes to make to the ticket (status,
//! priority, tags, assignee). Shared ones are the desk's (admins keep them); personal ones
//! are their owner's alone, invisible to everyone else.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    model::{Priority, TicketStatus},
    values,
};
use copilot_entities::reply_macro;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    placeholders,
    template::{self, Known},
};

/// Macros one tenant may keep.
pub const MAX_MACROS: usize = 1_000;
/// The longest reply text.
pub const MAX_BODY_CHARS: usize = 20_000;

/// Who a macro assigns the ticket to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee {
    /// Whoever applies it.
    Me,
    Nobody,
    User(Uuid),
}

impl Serialize for Assignee {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Me => serializer.serialize_str("me"),
            Self::Nobody => serializer.serialize_str("nobody"),
            Self::User(id) => serializer.serialize_str(&id.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Assignee {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|error: Error| serde::de::Error::custom(error.to_string()))
    }
}

impl std::str::FromStr for Assignee {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text {
            "me" => Ok(Self::Me),
            "nobody" => Ok(Self::Nobody),
            other => other.parse().map(Self::User).map_err(|_| {
                Error::validation("invalid_macro", format!("`{other}` is not an assignee: `me`, `nobody` or a user id"))
            }),
        }
    }
}

/// What a macro changes on the ticket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
}

impl Actions {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.priority.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
            && self.assignee.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Macro {
    pub id: Uuid,
    pub name: String,
    /// The desk's (admins change it), else its owner's alone.
    pub shared: bool,
    pub owner_id: Option<Uuid>,
    pub body: String,
    pub actions: Actions,
    /// The placeholders its text uses.
    pub placeholders: Vec<String>,
    /// What keeps it from being applied now: placeholders the tenant removed since.
    pub problems: Vec<String>,
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new macro, or the parts of one to change.
#[derive(Clone, Debug, Default)]
pub struct MacroIn {
    pub name: Option<String>,
    pub shared: Option<bool>,
    pub body: Option<String>,
    pub actions: Option<Actions>,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_macro", detail.to_string())
}

fn read(row: reply_macro::Model, known: &Known) -> Macro {
    let actions = serde_json::from_value::<Actions>(row.actions).unwrap_or_else(|error| {
        tracing::warn!(tenant = %row.tenant_id, r#macro = %row.id, %error, "a stored macro's actions do not read");
        Actions::default()
    });
    let (placeholders, problems) = match template::parse(&row.body) {
        Ok(parts) => {
            let problems = template::unknown(&parts, known)
                .into_iter()
                .map(|name| format!("`{{{{{name}}}}}` no longer exists"))
                .collect();
            (template::used(&parts), problems)
        }
        Err(error) => (Vec::new(), vec![error.to_string()]),
    };
    Macro {
        id: row.id,
        name: row.name,
        shared: row.owner_id.is_none(),
        owner_id: row.owner_id,
        body: row.body,
        actions,
        placeholders,
        problems,
        usage_count: row.usage_count,
        last_used_at: row.last_used_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The placeholders of the tenant, whose active ticket fields are `fields`.
async fn known(tx: &TenantTx, fields: &BTreeSet<String>) -> Result<Known, Error> {
    Ok(Known { custom: placeholders::list(tx).await?, fields: fields.clone() })
}

/// The macros `by` may use: the shared ones and their own.
fn visible(tx: &TenantTx, by: &Principal) -> sea_orm::Select<reply_macro::Entity> {
    let mine = match by.actor.user_id() {
        Some(user) => reply_macro::Column::OwnerId.eq(user),
        None => Expr::value(false),
    };
    reply_macro::Entity::scoped(tx.tenant())
        .filter(Condition::any().add(reply_macro::Column::OwnerId.is_null()).add(mine))
}

/// The macros `by` may use, the most used first, then by name; with `q`, those whose name
/// holds it (case-insensitively).
pub async fn list(
    tx: &TenantTx,
    by: &Principal,
    q: Option<&str>,
    fields: &BTreeSet<String>,
) -> Result<Vec<Macro>, Error> {
    let custom = known(tx, fields).await?;
    let rows = visible(tx, by).all(&**tx).await.map_err(db_err)?;
    let needle = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let mut found: Vec<Macro> = rows
        .into_iter()
        .filter(|row| needle.as_ref().is_none_or(|needle| row.name.to_lowercase().contains(needle.as_str())))
        .map(|row| read(row, &custom))
        .collect();
    found.sort_by(|a, b| b.usage_count.cmp(&a.usage_count).then_with(|| a.name.cmp(&b.name)));
    Ok(found)
}

async fn find(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<reply_macro::Model, Error> {
    visible(tx, by)
        .filter(reply_macro::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("macro"))
}

/// One macro `by` may use; another person's personal macro is not found.
pub async fn get(tx: &TenantTx, by: &Principal, id: Uuid, fields: &BTreeSet<String>) -> Result<Macro, Error> {
    let custom = known(tx, fields).await?;
    Ok(read(find(tx, by, id).await?, &custom))
}

/// Shared macros are changed by admins, personal ones by their owner.
fn checked_body(body: &str, known: &Known) -> Result<String, Error> {
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(invalid(format!("`body` is at most {MAX_BODY_CHARS} characters")));
    }
    template::check(&template::parse(body)?, known)?;
    Ok(body.to_owned())
}

fn checked_actions(actions: Actions) -> Result<Actions, Error> {
    let add_tags = values::tags(&actions.add_tags)?;
    let remove_tags = values::tags(&actions.remove_tags)?;
    if let Some(tag) = add_tags.iter().find(|tag| remove_tags.contains(tag)) {
        return Err(invalid(format!("`{tag}` is both added and removed")));
    }
    Ok(Actions { add_tags, remove_tags, ..actions })
}

/// A name is unique among the macros its keeper's agents see together: the shared ones and
/// one person's.
async fn unique_name(tx: &TenantTx, name: &str, owner: Option<Uuid>, except: Option<Uuid>) -> Result<(), Error> {
    let mut query = reply_macro::Entity::scoped(tx.tenant()).filter(reply_macro::Column::Name.eq(name));
    if let Some(owner) = owner {
        query = query.filter(
            Condition::any().add(reply_macro::Column::OwnerId.is_null()).add(reply_macro::Column::OwnerId.eq(owner)),
        );
    }
    if let Some(except) = except {
        query = query.filter(reply_macro::Column::Id.ne(except));
    }
    if query.one(&**tx).await.map_err(db_err)?.is_some() {
        return Err(Error::conflict("macro_exists", format!("a macro is already named `{name}`")));
    }
    Ok(())
}

/// Adds a macro: shared (admins) or the caller's own (people).
pub async fn create(tx: &TenantTx, by: &Principal, input: MacroIn, fields: &BTreeSet<String>) -> Result<Macro, Error> {
    let shared = input.shared.unwrap_or(false);
    let owner = by.owner_of_new(shared)?;
    let name = values::single_line("name", input.name.as_deref().unwrap_or_default(), 1, 100)?;
    let custom = known(tx, fields).await?;
    let body = checked_body(input.body.as_deref().unwrap_or_default(), &custom)?;
    let actions = checked_actions(input.actions.unwrap_or_default())?;
    if body.trim().is_empty() && actions.is_empty() {
        return Err(invalid("a macro has a reply text, changes, or both"));
    }
    copilot_store::locks::in_tenant(tx, "macros").await?;
    unique_name(tx, &name, owner, None).await?;
    let count = reply_macro::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?.len();
    if count >= MAX_MACROS {
        return Err(Error::conflict("too_many_macros", format!("at most {MAX_MACROS} macros")));
    }
    let now = copilot_core::now();
    let row = reply_macro::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        owner_id: Set(owner),
        name: Set(name.clone()),
        body: Set(body),
        actions: Set(json!(actions)),
        usage_count: Set(0),
        last_used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "macro.created",
        audit::Target::new("macro", row.id).labelled(&name),
        json!({ "shared": shared }),
    )
    .await?;
    Ok(read(row, &custom))
}

/// Changes a macro (admins for shared ones, the owner for personal ones); whether it is
/// shared does not change.
pub async fn update(
    tx: &TenantTx,
    by: &Principal,
    id: Uuid,
    patch: MacroIn,
    fields: &BTreeSet<String>,
) -> Result<Macro, Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    by.require_keeper(row.owner_id, "macro")?;
    if patch.shared.is_some_and(|shared| shared != row.owner_id.is_none()) {
        return Err(invalid("`shared` cannot change: make a new macro"));
    }
    let custom = known(tx, fields).await?;
    let mut change: reply_macro::ActiveModel = row.clone().into();
    if let Some(name) = &patch.name {
        let name = values::single_line("name", name, 1, 100)?;
        copilot_store::locks::in_tenant(tx, "macros").await?;
        unique_name(tx, &name, row.owner_id, Some(id)).await?;
        change.name = Set(name);
    }
    let body = match &patch.body {
        Some(body) => checked_body(body, &custom)?,
        None => row.body.clone(),
    };
    let actions = match patch.actions {
        Some(actions) => checked_actions(actions)?,
        None => serde_json::from_value(row.actions.clone()).unwrap_or_default(),
    };
    if body.trim().is_empty() && actions.is_empty() {
        return Err(invalid("a macro has a reply text, changes, or both"));
    }
    change.body = Set(body);
    change.actions = Set(json!(actions));
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "macro.updated", audit::Target::new("macro", id).labelled(&row.name), json!({}))
        .await?;
    Ok(read(row, &custom))
}

/// Removes a macro (admins for shared ones, the owner for personal ones).
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_human_role()?;
    let row = find(tx, by, id).await?;
    by.require_keeper(row.owner_id, "macro")?;
    reply_macro::Entity::delete_many()
        .filter(reply_macro::Column::TenantId.eq(tx.tenant().0))
        .filter(reply_macro::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(tx, by.actor, "macro.deleted", audit::Target::new("macro", id).labelled(&row.name), json!({})).await
}

/// Counts a use of the macro.
pub async fn record_use(tx: &TenantTx, id: Uuid) -> Result<(), Error> {
    reply_macro::Entity::update_many()
        .col_expr(reply_macro::Column::UsageCount, Expr::col(reply_macro::Column::UsageCount).add(1))
        .col_expr(reply_macro::Column::LastUsedAt, Expr::value(copilot_core::now()))
        .filter(reply_macro::Column::TenantId.eq(tx.tenant().0))
        .filter(reply_macro::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignees_read_as_me_nobody_or_a_user() {
        let id = Uuid::now_v7();
        for (text, assignee) in
            [("me", Assignee::Me), ("nobody", Assignee::Nobody), (&*id.to_string(), Assignee::User(id))]
        {
            assert_eq!(text.parse::<Assignee>().expect("an assignee"), assignee);
            assert_eq!(serde_json::to_value(assignee).expect("json"), json!(text));
        }
        assert!("someone".parse::<Assignee>().is_err());
    }

    #[test]
    fn actions_are_checked() {
        let both = Actions { add_tags: vec!["vip".into()], remove_tags: vec!["VIP".into()], ..Actions::default() };
        assert!(checked_actions(both).is_err());
        assert!(Actions::default().is_empty());
        let text = serde_json::from_value::<Actions>(json!({"status": "solved", "assignee": "me"})).expect("actions");
        assert_eq!((text.status, text.assignee), (Some(TicketStatus::Solved), Some(Assignee::Me)));
    }
}
