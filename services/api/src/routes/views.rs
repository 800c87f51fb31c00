//! Saved views of the inbox: named filters and orders, shared or one person's, with counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_conversations::saved_views::{self, SavedView, ViewFilter, ViewIn};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Channel, Priority, Sentiment, TicketStatus},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct ViewsApi {
    pub state: AppState,
}

/// What a view shows; every part optional.
#[derive(Debug, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ViewFilterIo {
    pub status: Option<TicketStatus>,
    /// Only tickets still to be worked.
    pub active: Option<bool>,
    pub priority: Option<Priority>,
    pub min_priority: Option<Priority>,
    /// `me` (whoever opens the view), `nobody`, or a user's id.
    pub assignee: Option<String>,
    pub tag: Option<String>,
    pub channel: Option<Channel>,
    pub intent: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub language: Option<String>,
    /// Text in the subject or a message.
    pub q: Option<String>,
    /// `breached`: a running SLA clock is past due.
    pub sla: Option<String>,
    /// A custom field's value, `key:value`.
    pub field: Option<String>,
}

#[derive(Debug, Object)]
pub struct ViewBody {
    /// 1 to 60 characters; unique among the views one person sees.
    pub name: Option<String>,
    /// Shared with the desk (admins), else the caller's own (default). Cannot change.
    pub shared: Option<bool>,
    pub filter: Option<ViewFilterIo>,
    /// An order of `GET /v1/tickets` (`newest` when absent).
    pub sort: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ViewOut {
    pub id: Uuid,
    pub name: String,
    pub shared: bool,
    pub owner_id: Option<Uuid>,
    pub filter: ViewFilterIo,
    pub sort: String,
    /// How many tickets it holds now.
    pub count: u64,
    /// The query parameters of `GET /v1/tickets` that list it for the caller now.
    pub query: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct ViewsOut {
    /// The shared views, then the caller's own.
    pub views: Vec<ViewOut>,
}

#[derive(ApiResponse)]
pub enum ViewCreated {
    #[oai(status = 201)]
    Created(Json<ViewOut>),
}

#[derive(ApiResponse)]
pub enum ViewDeleted {
    #[oai(status = 204)]
    NoContent,
}

fn filter_in(io: ViewFilterIo) -> ViewFilter {
    ViewFilter {
        status: io.status.map(Into::into),
        active: io.active.unwrap_or(false),
        priority: io.priority.map(Into::into),
        min_priority: io.min_priority.map(Into::into),
        assignee: io.assignee,
        tag: io.tag,
        channel: io.channel.map(Into::into),
        intent: io.intent,
        sentiment: io.sentiment.map(Into::into),
        language: io.language,
        q: io.q,
        sla: io.sla,
        field: io.field,
    }
}

fn filter_out(filter: ViewFilter) -> ViewFilterIo {
    ViewFilterIo {
        status: filter.status.map(Into::into),
        active: filter.active.then_some(true),
        priority: filter.priority.map(Into::into),
        min_priority: filter.min_priority.map(Into::into),
        assignee: filter.assignee,
        tag: filter.tag,
        channel: filter.channel.map(Into::into),
        intent: filter.intent,
        sentiment: filter.sentiment.map(Into::into),
        language: filter.language,
        q: filter.q,
        sla: filter.sla,
        field: filter.field,
    }
}

fn view_in(body: ViewBody) -> ViewIn {
    ViewIn { name: body.name, shared: body.shared, filter: body.filter.map(filter_in), sort: body.sort }
}

fn view_out(view: SavedView) -> ViewOut {
    ViewOut {
        id: view.id,
        name: view.name,
        shared: view.shared,
        owner_id: view.owner_id,
        filter: filter_out(view.filter),
        sort: view.sort,
        count: view.count,
        query: view.query,
        created_at: view.created_at,
        updated_at: view.updated_at,
    }
}

#[OpenApi(tag = "Tag::Tickets")]
impl ViewsApi {
    /// The saved views the caller may open, with how many tickets each holds now.
    #[oai(path = "/views", method = "get", operation_id = "views.list")]
    async fn list(&self, auth: TenantAuth) -> ApiResult<Json<ViewsOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let views = saved_views::list(&tx, &principal).await?.into_iter().map(view_out).collect();
        Ok(Json(ViewsOut { views }))
    }

    /// Saves a view: the caller's own, or shared (admins). `400 invalid_view`, `409
    /// view_exists`.
    #[oai(path = "/views", method = "post", operation_id = "views.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<ViewBody>) -> ApiResult<ViewCreated> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let view = saved_views::create(&tx, &principal, view_in(body.0)).await?;
        tx.commit().await?;
        Ok(ViewCreated::Created(Json(view_out(view))))
    }

    /// Changes a view (admins for shared ones, the owner for their own).
    #[oai(path = "/views/:id", method = "patch", operation_id = "views.update")]
    async fn update(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<ViewBody>) -> ApiResult<Json<ViewOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let view = saved_views::update(&tx, &principal, id.0, view_in(body.0)).await?;
        tx.commit().await?;
        Ok(Json(view_out(view)))
    }

    /// Removes a view (admins for shared ones, the owner for their own).
    #[oai(path = "/views/:id", method = "delete", operation_id = "views.delete")]
    async fn delete(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<ViewDeleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        saved_views::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(ViewDeleted::NoContent)
    }
}
