//! Macros: canned replies with placeholders and ticket changes, applied (or previewed) on a
//! ticket; the tenant's own placeholders.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::ids::TicketId;
use copilot_macros::{Actions, Assignee, Macro, MacroIn, macros, placeholders};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Priority, TicketOut, TicketStatus},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct MacrosApi {
    pub state: AppState,
}

/// What a macro changes on the ticket it is applied to.
#[derive(Debug, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MacroActionsIo {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    #[oai(default)]
    pub add_tags: Vec<String>,
    #[oai(default)]
    pub remove_tags: Vec<String>,
    /// `me` (whoever applies it), `nobody`, or a user's id.
    pub assignee: Option<String>,
}

/// A new macro, or (PATCH) the parts to change.
#[derive(Debug, Object)]
pub struct MacroBody {
    /// Unique among the macros one agent sees (the shared ones and their own); 1 to 100
    /// characters.
    pub name: Option<String>,
    /// Shared with the desk (admins), else the caller's own (default). Cannot change.
    pub shared: Option<bool>,
    /// The reply, up to 20,000 characters, with placeholders: `{{customer.name}}`,
    /// `{{customer.first_name}}`, `{{customer.email}}`, `{{ticket.number}}`,
    /// `{{ticket.subject}}`, `{{agent.name}}`, `{{agent.first_name}}`, `{{tenant.name}}` and
    /// the tenant's own `{{custom.<key>}}`. An unknown one is `400 invalid_macro`.
    pub body: Option<String>,
    pub actions: Option<MacroActionsIo>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MacroOut {
    pub id: Uuid,
    pub name: String,
    pub shared: bool,
    pub owner_id: Option<Uuid>,
    pub body: String,
    pub actions: MacroActionsIo,
    /// The placeholders the reply uses.
    pub placeholders: Vec<String>,
    /// What keeps it from being applied now (a custom placeholder removed since).
    pub problems: Vec<String>,
    /// How many times it was applied.
    pub usage_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct MacrosOut {
    /// The shared macros and the caller's own, the most used first.
    pub macros: Vec<MacroOut>,
}

#[derive(ApiResponse)]
pub enum MacroCreated {
    #[oai(status = 201)]
    Created(Json<MacroOut>),
}

#[derive(ApiResponse)]
pub enum MacroDeleted {
    #[oai(status = 204)]
    NoContent,
}

#[derive(Debug, Default, Object)]
pub struct ApplyIn {
    /// Only show the reply and the changes; change nothing.
    #[oai(default)]
    pub preview: bool,
}

/// What applying a macro changes (only what differs from the ticket).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MacroChangesOut {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// Present when the assignee changes; null unassigns.
    pub assignee_id: Option<Option<Uuid>>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
}

#[derive(Debug, Object)]
pub struct AppliedOut {
    pub macro_id: Uuid,
    /// The rendered reply for the composer (nothing is sent); empty when the macro has none.
    pub reply: String,
    pub changes: MacroChangesOut,
    pub preview: bool,
    /// The ticket after the changes (as it is, for a preview).
    pub ticket: TicketOut,
}

#[derive(Debug, Object)]
pub struct PlaceholdersIo {
    /// Key (1 to 40 lowercase letters, digits or `_`) → text (1 to 2,000 characters), used
    /// as `{{custom.<key>}}`.
    pub placeholders: BTreeMap<String, String>,
}

fn actions_in(io: MacroActionsIo) -> ApiResult<Actions> {
    Ok(Actions {
        status: io.status.map(Into::into),
        priority: io.priority.map(Into::into),
        add_tags: io.add_tags,
        remove_tags: io.remove_tags,
        assignee: io.assignee.as_deref().map(str::parse::<Assignee>).transpose()?,
    })
}

fn actions_out(actions: Actions) -> MacroActionsIo {
    MacroActionsIo {
        status: actions.status.map(Into::into),
        priority: actions.priority.map(Into::into),
        add_tags: actions.add_tags,
        remove_tags: actions.remove_tags,
        assignee: actions.assignee.map(|assignee| match assignee {
            Assignee::Me => "me".to_owned(),
            Assignee::Nobody => "nobody".to_owned(),
            Assignee::User(id) => id.to_string(),
        }),
    }
}

fn macro_in(body: MacroBody) -> ApiResult<MacroIn> {
    Ok(MacroIn {
        name: body.name,
        shared: body.shared,
        body: body.body,
        actions: body.actions.map(actions_in).transpose()?,
    })
}

fn macro_out(found: Macro) -> MacroOut {
    MacroOut {
        id: found.id,
        name: found.name,
        shared: found.shared,
        owner_id: found.owner_id,
        body: found.body,
        actions: actions_out(found.actions),
        placeholders: found.placeholders,
        problems: found.problems,
        usage_count: found.usage_count,
        last_used_at: found.last_used_at,
        created_at: found.created_at,
        updated_at: found.updated_at,
    }
}

#[OpenApi(tag = "Tag::Tickets")]
impl MacrosApi {
    /// The macros the caller may use: the shared ones and their own, the most used first;
    /// `q` keeps those whose name holds it.
    #[oai(path = "/macros", method = "get", operation_id = "macros.list")]
    async fn list(&self, auth: TenantAuth, q: Query<Option<String>>) -> ApiResult<Json<MacrosOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let found = copilot_pipeline::macros::list(&tx, &principal, q.0.as_deref()).await?;
        Ok(Json(MacrosOut { macros: found.into_iter().map(macro_out).collect() }))
    }

    /// Adds a macro: the caller's own, or shared (admins). `400 invalid_macro` (an unknown
    /// placeholder, braces that do not close, a tag both added and removed, nothing to do),
    /// `409 macro_exists`.
    #[oai(path = "/macros", method = "post", operation_id = "macros.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<MacroBody>) -> ApiResult<MacroCreated> {
        let principal = auth.0.principal;
        let input = macro_in(body.0)?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let created = copilot_pipeline::macros::create(&tx, &principal, input).await?;
        tx.commit().await?;
        Ok(MacroCreated::Created(Json(macro_out(created))))
    }

    /// One macro; another person's own macro is `404`.
    #[oai(path = "/macros/:id", method = "get", operation_id = "macros.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<MacroOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        Ok(Json(macro_out(copilot_pipeline::macros::get(&tx, &principal, id.0).await?)))
    }

    /// Changes a macro (admins for shared ones, the owner for their own).
    #[oai(path = "/macros/:id", method = "patch", operation_id = "macros.update")]
    async fn update(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<MacroBody>) -> ApiResult<Json<MacroOut>> {
        let principal = auth.0.principal;
        let input = macro_in(body.0)?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let updated = copilot_pipeline::macros::update(&tx, &principal, id.0, input).await?;
        tx.commit().await?;
        Ok(Json(macro_out(updated)))
    }

    /// Removes a macro (admins for shared ones, the owner for their own).
    #[oai(path = "/macros/:id", method = "delete", operation_id = "macros.delete")]
    async fn delete(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<MacroDeleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        macros::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(MacroDeleted::NoContent)
    }

    /// Applies a macro to a ticket: its changes are made (status, priority, tags, assignee)
    /// and its reply is rendered for the composer, never sent; with `preview`, nothing
    /// changes. People only. `422 macro_invalid` when a placeholder has no value (a custom
    /// placeholder removed since; an agent's name for an API key).
    #[oai(path = "/tickets/:id/macros/:macro_id/apply", method = "post", operation_id = "tickets.macros.apply")]
    async fn apply(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        macro_id: Path<Uuid>,
        body: JsonBody<ApplyIn>,
    ) -> ApiResult<Json<AppliedOut>> {
        let principal = auth.0.principal;
        let preview = body.0.preview;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let applied = copilot_pipeline::macros::apply(&tx, &principal, TicketId(id.0), macro_id.0, preview).await?;
        tx.commit().await?;
        let changes = applied.changes;
        Ok(Json(AppliedOut {
            macro_id: applied.macro_id,
            reply: applied.reply,
            changes: MacroChangesOut {
                status: changes.status.map(Into::into),
                priority: changes.priority.map(Into::into),
                assignee_id: changes.assignee_id,
                tags_added: changes.tags_added,
                tags_removed: changes.tags_removed,
            },
            preview,
            ticket: applied.ticket.into(),
        }))
    }

    /// The tenant's own placeholders, used in macros as `{{custom.<key>}}`.
    #[oai(path = "/settings/macro-placeholders", method = "get", operation_id = "settings.macro_placeholders.get")]
    async fn placeholders(&self, auth: TenantAuth) -> ApiResult<Json<PlaceholdersIo>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(PlaceholdersIo { placeholders: placeholders::list(&tx).await? }))
    }

    /// Replaces the tenant's own placeholders (admins). Macros using a key removed here
    /// list it in their `problems` and answer `422 macro_invalid` when applied.
    #[oai(path = "/settings/macro-placeholders", method = "put", operation_id = "settings.macro_placeholders.put")]
    async fn replace_placeholders(
        &self,
        auth: TenantAuth,
        body: JsonBody<PlaceholdersIo>,
    ) -> ApiResult<Json<PlaceholdersIo>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let kept = placeholders::replace(&tx, &principal, body.0.placeholders).await?;
        tx.commit().await?;
        Ok(Json(PlaceholdersIo { placeholders: kept }))
    }
}
